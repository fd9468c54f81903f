"""Upload -> SSE -> download for every allowed type; late subscribers; resume."""

from __future__ import annotations

import gzip
import hashlib

import httpx
import pytest

from tests.reference_app import samples
from tests.reference_app.app import Client

pytestmark = pytest.mark.services


@pytest.mark.parametrize("kind", sorted(samples.ALL_TYPES))
def test_upload_process_download(alice: Client, kind: str) -> None:
    filename, claimed, payload, mime = samples.ALL_TYPES[kind]
    created = alice.upload(filename, payload, claimed)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content_type"] == mime and body["size_bytes"] == len(payload)
    assert body["sha256"] == hashlib.sha256(payload).hexdigest() and body["filename"] == filename
    events = alice.wait_final(body["id"])
    assert events[0].event in {"state", "completed"}, events  # one snapshot first, then progress
    assert [e.event for e in events[1:-1]] == ["progress"] * (len(events) - 2), events
    assert events[-1].event == "completed", events
    ids = [int(e.id or 0) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[-1].data["download"] == f"/api/uploads/{body['id']}/download"
    links = alice.http.get(f"/api/uploads/{body['id']}/download").json()
    result = httpx.get(links["url"]).content
    manifest = httpx.get(links["manifest_url"]).json()
    assert manifest["original"]["sha256"] == body["sha256"]
    assert manifest["result"]["sha256"] == hashlib.sha256(result).hexdigest()
    assert manifest["detected_type"] == mime
    if mime.startswith("text/") or mime == "application/json":
        assert gzip.decompress(result) == payload
    if mime.startswith("image/"):
        assert links["thumbnail_url"] and manifest["width"] == 64
    if mime == "application/pdf":
        assert manifest["pages"] == 2


def test_late_subscriber_gets_the_final_state_at_once(alice: Client) -> None:
    created = alice.upload("late.txt", b"late\n", "text/plain").json()
    alice.wait_final(created["id"])
    events = alice.wait_final(created["id"], timeout=5)
    assert [e.event for e in events] == ["completed"]
    assert events[0].data["manifest"]["detected_type"] == "text/plain"


def test_resume_with_last_event_id_skips_what_was_seen(alice: Client) -> None:
    created = alice.upload("resume.csv", samples.csv_bytes(), "text/csv").json()
    full = alice.wait_final(created["id"])
    last = full[-1]
    resumed = list(alice.events(created["id"], timeout=5, **{"Last-Event-ID": str(int(last.id or 0) - 1)}))
    assert [e.event for e in resumed] == ["completed"] and resumed[0].id == last.id


def test_list_is_paginated_and_own(alice: Client) -> None:
    for n in range(3):
        assert alice.upload(f"p{n}.txt", f"page {n}\n".encode(), "text/plain").status_code == 201
    first = alice.http.get("/api/uploads", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = alice.http.get("/api/uploads", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})


def test_resume_at_or_past_the_end_gets_the_outcome_once(alice: Client) -> None:
    created = alice.upload("resume-end.txt", b"end\n", "text/plain").json()
    last = alice.wait_final(created["id"])[-1]
    for seen in (str(int(last.id or 0)), str(int(last.id or 0) + 5)):
        resumed = list(alice.events(created["id"], timeout=5, **{"Last-Event-ID": seen}))
        assert [(e.event, e.id) for e in resumed] == [("completed", last.id)], seen


def test_a_non_ascii_digit_last_event_id_is_ignored_not_a_500(alice: Client) -> None:
    created = alice.upload("superscript.txt", b"two\n", "text/plain").json()
    alice.wait_final(created["id"])
    with alice.http.stream("GET", f"/api/uploads/{created['id']}/events",
                           headers={b"Last-Event-ID": b"\xb2"}, timeout=5) as response:
        assert response.status_code == 200, response.read()
        assert "event: completed" in response.read().decode()
