"""A user never sees another user's upload: 404 (not 403) on every endpoint, absent from lists."""

from __future__ import annotations

import time

import httpx
import pytest

from easy_upload.auth import sign_stream_token
from tests.reference_app.app import AppProcesses, Client

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def alices_upload(alice: Client) -> str:
    upload_id: str = alice.upload("mine.txt", b"private\n", "text/plain").json()["id"]
    alice.wait_final(upload_id)
    return upload_id


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/uploads/{id}"), ("GET", "/api/uploads/{id}/events"), ("GET", "/api/uploads/{id}/download"),
    ("POST", "/api/uploads/{id}/stream-token"),
])
@pytest.mark.parametrize("target", ["other", "missing", "garbage"])
def test_others_uploads_are_not_found(bob: Client, alices_upload: str, method: str, path: str,
                                      target: str) -> None:
    ident = {"other": alices_upload, "missing": "00000000-0000-4000-8000-000000000000",
             "garbage": "not-a-uuid"}[target]
    response = bob.http.request(method, path.format(id=ident))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_lists_hold_only_own_uploads(alice: Client, bob: Client, alices_upload: str) -> None:
    assert alices_upload in {u["id"] for u in alice.http.get("/api/uploads").json()["items"]}
    assert alices_upload not in {u["id"] for u in bob.http.get("/api/uploads", params={"limit": 100})
                                 .json()["items"]}


def test_stream_token_is_bound_to_user_upload_and_time(alice: Client, bob: Client, alices_upload: str,
                                                       easy_upload: AppProcesses) -> None:
    grant = alice.http.post(f"/api/uploads/{alices_upload}/stream-token").json()
    url = f"{easy_upload.base_url}/api/uploads/{alices_upload}/events"
    with httpx.stream("GET", url, params={"token": grant["token"]}, timeout=10) as ok:
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/event-stream")
    bobs = bob.upload("b.txt", b"b\n", "text/plain").json()["id"]
    other = httpx.get(f"{easy_upload.base_url}/api/uploads/{bobs}/events", params={"token": grant["token"]})
    assert other.status_code == 401
    key = easy_upload.env["TOKEN_SIGNING_KEY"].encode()
    forged = sign_stream_token(b"wrong-key", "x", bobs, 60)
    assert httpx.get(f"{easy_upload.base_url}/api/uploads/{bobs}/events",
                     params={"token": forged}).status_code == 401
    expired = sign_stream_token(key, "x", alices_upload, 10, now=time.time() - 3600)
    assert httpx.get(url, params={"token": expired}).status_code == 401


def test_a_valid_token_of_the_wrong_user_is_404(bob: Client, alices_upload: str,
                                                easy_upload: AppProcesses) -> None:
    # bob holds a genuinely signed token naming alice's upload but his own user id: still not his.
    key = easy_upload.env["TOKEN_SIGNING_KEY"].encode()
    bob_id = "00000000-0000-4000-8000-000000000001"
    token = sign_stream_token(key, bob_id, alices_upload, 60)
    url = f"{easy_upload.base_url}/api/uploads/{alices_upload}/events"
    response = httpx.get(url, params={"token": token})
    assert response.status_code == 404
