"""Every refusal: 400, 401, 413 (early and mid-stream), 415, and files the worker cannot process."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest

from harness.services import MotoService
from tests.reference_app import samples
from tests.reference_app.app import AppProcesses, Client

pytestmark = pytest.mark.services
MIB = 1024 * 1024


def raw_bucket_is_clean(moto: MotoService, before: set[str]) -> bool:
    s3 = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                      aws_access_key_id=moto.access_key_id, aws_secret_access_key=moto.secret_access_key)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="raw-uploads").get("Contents", [])}
    pending = s3.list_multipart_uploads(Bucket="raw-uploads").get("Uploads", [])
    return keys <= before and not pending


def raw_keys(moto: MotoService) -> set[str]:
    s3 = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                      aws_access_key_id=moto.access_key_id, aws_secret_access_key=moto.secret_access_key)
    return {o["Key"] for o in s3.list_objects_v2(Bucket="raw-uploads").get("Contents", [])}


def count(client: Client) -> int:
    return len(client.http.get("/api/uploads", params={"limit": 100}).json()["items"])


ENDPOINTS = [("GET", "/api/uploads"), ("POST", "/api/uploads"), ("GET", "/api/uploads/{id}"),
             ("GET", "/api/uploads/{id}/events"), ("GET", "/api/uploads/{id}/download"),
             ("POST", "/api/uploads/{id}/stream-token")]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic YWxpY2U6eA==", "Bearer"])
def test_every_endpoint_needs_a_valid_token(alice: Client, easy_upload: AppProcesses, method: str,
                                            path: str, authorization: str | None) -> None:
    upload_id = alice.upload("a.txt", b"x\n", "text/plain").json()["id"] if "{id}" in path else ""
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.request(method, easy_upload.base_url + path.format(id=upload_id), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_413_from_content_length_before_reading(alice: Client, moto_service: MotoService) -> None:
    before = raw_keys(moto_service)
    response = alice.upload("big.txt", b"a" * (14 * MIB), "text/plain")
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    assert raw_bucket_is_clean(moto_service, before)


def _chunked_multipart(size: int, head: bytes = b"") -> Iterator[bytes]:
    boundary = "xXxBoundaryxXx"
    yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n'
           "Content-Type: text/plain\r\n\r\n").encode() + head
    sent = len(head)
    while sent < size:
        chunk = b"b" * min(256 * 1024, size - sent)
        sent += len(chunk)
        yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def test_413_enforced_while_streaming(alice: Client, moto_service: MotoService) -> None:
    before, rows = raw_keys(moto_service), count(alice)
    response = alice.http.post(
        "/api/uploads", content=_chunked_multipart(12 * MIB + 1),
        headers={"Content-Type": "multipart/form-data; boundary=xXxBoundaryxXx"})
    assert response.status_code == 413, response.text
    assert raw_bucket_is_clean(moto_service, before) and count(alice) == rows


def test_exactly_the_limit_is_accepted_as_multipart(alice: Client) -> None:
    response = alice.http.post(
        "/api/uploads", content=_chunked_multipart(12 * MIB),
        headers={"Content-Type": "multipart/form-data; boundary=xXxBoundaryxXx"})
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == 12 * MIB
    assert alice.wait_final(response.json()["id"])[-1].event == "completed"


@pytest.mark.parametrize(
    ("filename", "payload", "claimed"),
    [
        ("a.zip", b"PK\x03\x04" + b"\x00" * 100, "application/zip"),
        ("a.png", b"PK\x03\x04" + b"\x00" * 100, "image/png"),
        ("a.jpg", samples.png(), "image/jpeg"),
        ("a.html", b"<html><script>alert(1)</script></html>", "text/html"),
        ("a.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "application/octet-stream"),
        ("a.json", b"not json at all", "application/json"),
        ("empty.txt", b"", "text/plain"),
    ],
)
def test_415_by_magic_bytes(alice: Client, moto_service: MotoService, filename: str, payload: bytes,
                            claimed: str) -> None:
    before, rows = raw_keys(moto_service), count(alice)
    response = alice.upload(filename, payload, claimed)
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert raw_bucket_is_clean(moto_service, before) and count(alice) == rows


def test_415_for_a_large_mismatch_with_many_parts(alice: Client, moto_service: MotoService) -> None:
    before = raw_keys(moto_service)
    response = alice.upload("big.png", b"\x00" * (6 * MIB), "image/png")
    assert response.status_code == 415
    assert raw_bucket_is_clean(moto_service, before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": b"plain body", "headers": {"Content-Type": "text/plain"}}, "multipart"),
        ({"files": {"other": ("a.txt", b"x", "text/plain")}}, "file"),
        ({"data": {"file": "not a file part"}, "files": {"x": ("a", b"", "text/plain")}}, "file"),
        ({"files": [("file", ("a.txt", b"x\n", "text/plain")), ("file", ("b.txt", b"y\n", "text/plain"))]},
         "one file"),
        ({"content": b"--b\r\nbroken", "headers": {"Content-Type": "multipart/form-data; boundary=b"}},
         "file"),
        ({"files": [(f"f{n}", ("a.txt", b"x", "text/plain")) for n in range(20)]}, "too many"),
    ],
)
def test_400_for_malformed_uploads(alice: Client, kwargs: dict[str, object], message: str) -> None:
    response = alice.http.post("/api/uploads", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("filename", "payload", "claimed", "reason"),
    [
        ("bad.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", "cannot decode"),
        ("bad.pdf", b"%PDF-1.4\n% not a real pdf\n", "application/pdf", "PDF"),
        ("bad.json", b'{"unterminated": ', "application/json", "invalid JSON"),
        ("bad.txt", b"fine start " + b"x" * 300_000 + b"\xff", "text/plain", "UTF-8"),
    ],
    ids=["png", "pdf", "json", "utf8-after-sniff-window"],
)
def test_unprocessable_files_end_failed_without_retries(alice: Client, filename: str, payload: bytes,
                                                        claimed: str, reason: str) -> None:
    response = alice.upload(filename, payload, claimed)
    assert response.status_code == 201, response.text
    events = alice.wait_final(response.json()["id"])
    assert events[-1].event == "failed" and reason in events[-1].data["reason"]
    upload = alice.http.get(f"/api/uploads/{response.json()['id']}").json()
    assert upload["state"] == "failed" and reason in upload["failure_reason"]
    assert alice.http.get(f"/api/uploads/{response.json()['id']}/download").status_code == 409


def test_non_latin1_filenames_and_field_names_never_5xx(alice: Client) -> None:
    accented = alice.upload("café.png", samples.png(), "image/png")
    assert accented.status_code == 201, accented.text
    assert accented.json()["filename"] == "café.png"
    bidi = alice.upload("photo\u202egnp.exe", samples.png(), "image/png")
    assert bidi.status_code == 201 or 400 <= bidi.status_code < 500, bidi.text
    if bidi.status_code == 201:
        assert "\u202e" not in bidi.json()["filename"]
    else:
        assert "error" in bidi.json()
    odd_field = alice.http.post("/api/uploads", data={"\U0002a21d": "v"},
                                files={"file": ("a.txt", b"hello\n", "text/plain")})
    assert odd_field.status_code == 201, odd_field.text
    only_odd = alice.http.post("/api/uploads", files={"\U0002a21d": ("a.txt", b"hello\n", "text/plain")})
    assert only_odd.status_code == 400 and "error" in only_odd.json(), only_odd.text
