"""The smaller hostile-client cases: a non-ASCII stream token, an over-long multipart boundary, a
chunked body past the size limit, bodies and headers that trickle in, and the multipart uploads
of a killed replica. Each runs on the fixed app and on its planted variant (which must fail)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from easy_upload.guard import BodyGuard, BodyPolicy
from harness.services import MotoService
from tests.reference_app.app import AppProcesses
from tests.reference_app.conftest import AppFactory, user

pytestmark = pytest.mark.services
MIB = 1024 * 1024
FAST = {"BODY_GRACE_S": "2", "BODY_MIN_RATE_BPS": "1024", "BODY_IDLE_TIMEOUT_S": "30",
        "HEADER_TIMEOUT_S": "2"}
BOUND_S = 2 + 2  # the declared grace/header timeout, plus scheduling slack on a loaded machine


@pytest.mark.parametrize("planted", ["", "str_compare_digest"])
def test_a_non_ascii_stream_token_is_401(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0)
    alice = user(app, "alice")
    try:
        upload_id = alice.upload("a.txt", b"a\n", "text/plain").json()["id"]
        answer = alice.http.get(f"/api/uploads/{upload_id}/events", params={"token": "é.é"})
    finally:
        alice.close()
    assert answer.status_code == (500 if planted else 401), answer.text


def _multipart(boundary: str) -> bytes:
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\nhello\n\r\n--{boundary}--\r\n").encode()


@pytest.mark.parametrize("planted", ["", "long_boundary_crash"])
def test_a_boundary_over_the_rfc_limit_is_a_400(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0)
    alice = user(app, "alice")
    boundary = "b" * 300
    try:
        answer: httpx.Response | str = alice.http.post(
            "/api/uploads", content=_multipart(boundary),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    except httpx.HTTPError as exc:  # the crash resets the connection
        answer = repr(exc)
    finally:
        alice.close()
    if planted:
        assert not isinstance(answer, httpx.Response) or answer.status_code == 500, answer
        return
    assert isinstance(answer, httpx.Response) and answer.status_code == 400, answer
    assert answer.json()["error"]["message"] == "multipart boundary longer than 70 characters"


def _file_then_epilogue(mib: int) -> Iterator[bytes]:
    yield _multipart("zz")
    for _ in range(mib):
        yield b"x" * MIB


@pytest.mark.parametrize("planted", ["", "content_length_only"])
def test_a_chunked_body_cannot_run_past_the_size_limit(app_factory: AppFactory, planted: str) -> None:
    """A valid file part, then 20 MiB after the closing boundary, without Content-Length (the
    limit is MAX_UPLOAD_BYTES 12 MiB + 1 MiB of framing)."""
    app = app_factory(planted, workers=0)
    alice = user(app, "alice")
    try:
        answer = alice.http.post("/api/uploads", content=_file_then_epilogue(20),
                                 headers={"Content-Type": "multipart/form-data; boundary=zz"})
    except httpx.HTTPError as exc:
        pytest.fail(f"the refusal must be readable, got {exc!r}")
    finally:
        alice.close()
    assert answer.status_code == (201 if planted else 413), answer.text


def _trickle(port: int, head: bytes, body: bytes, limit_s: float) -> tuple[float, bytes]:
    """Send ``head`` at once, then ``body`` one byte a second; (seconds until the server answered
    or closed, what it said) -- or (limit_s, b"") if it kept listening."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(0.05)
    started = time.monotonic()
    try:
        sock.sendall(head)
        for byte in body:
            answer = _poll(sock, time.monotonic() + 1.0)
            if answer is not None:
                return time.monotonic() - started, answer
            if time.monotonic() - started > limit_s:
                break
            sock.sendall(bytes([byte]))
        return limit_s, b""
    except OSError:
        return time.monotonic() - started, b"<closed>"
    finally:
        sock.close()


def _poll(sock: socket.socket, until: float) -> bytes | None:
    """What the server sent before ``until`` (the whole answer: headers and body may come in two
    segments), ``b"<closed>"`` if it closed silently, None if it said nothing."""
    while time.monotonic() < until:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        return _rest(sock, data) if data else b"<closed>"
    return None


def _rest(sock: socket.socket, data: bytes) -> bytes:
    quiet_until = time.monotonic() + 0.5
    while time.monotonic() < quiet_until:
        try:
            more = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if not more:
            break
        data += more
    return data


@pytest.mark.parametrize("planted", ["", "no_body_timeout"])
def test_a_body_trickling_at_one_byte_a_second_is_cut_off(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0, **FAST)
    alice = user(app, "alice")
    token = alice.http.headers["authorization"]
    alice.close()
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n"
            '--b\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n").encode()
    elapsed, answer = _trickle(app.api_port, head, b"a" * 100, limit_s=10)
    if planted:
        assert answer == b"", (elapsed, answer)
        return
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"request_timeout"' in answer and elapsed < BOUND_S, (elapsed, answer)


@pytest.mark.parametrize("planted", ["", "no_header_timeout"])
def test_headers_trickling_at_one_byte_a_second_are_cut_off(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0, **FAST)
    elapsed, answer = _trickle(app.api_port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: " + b"a" * 60, 10)
    if planted:
        assert answer == b"", (elapsed, answer)
        return
    assert answer.startswith(b"HTTP/1.1 408") and elapsed < BOUND_S, (elapsed, answer)


@pytest.mark.parametrize("planted", ["", "no_header_timeout"])
def test_a_connection_that_never_sends_is_closed(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0, **FAST)
    sock = socket.create_connection(("127.0.0.1", app.api_port))
    sock.settimeout(0.05)
    started = time.monotonic()
    try:
        answer = _poll(sock, started + 6)
    finally:
        sock.close()
    if planted:
        assert answer is None
        return
    assert answer is not None and answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < BOUND_S + 1


def test_the_body_guard_deadline_follows_the_declared_rate() -> None:
    now = [0.0]
    policy = BodyPolicy(limit=10, idle_s=30, grace_s=10, min_rate=100)
    guard = BodyGuard(_never_called, policy, lambda: now[0])
    assert guard._wait_s() == 10  # grace, nothing received
    guard.seen = 500
    assert guard._wait_s() == 15  # 500 bytes buy 5 more seconds at 100 bytes/s
    now[0] = 14
    assert guard._wait_s() == 1


async def _never_called() -> Any:
    raise AssertionError("not used")


def _multipart_uploads(moto: MotoService) -> list[dict[str, Any]]:
    s3 = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name=moto.region,
                      aws_access_key_id=moto.access_key_id, aws_secret_access_key=moto.secret_access_key)
    uploads: list[dict[str, Any]] = s3.list_multipart_uploads(Bucket="raw-uploads").get("Uploads", [])
    return uploads


def _start_big_upload(app: AppProcesses, token: str) -> threading.Thread:
    def body() -> Iterator[bytes]:
        yield b'--zz\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        yield b"Content-Type: text/plain\r\n\r\n"
        for _ in range(7):  # more than one 5 MiB part: a multipart upload is open
            yield b"y" * MIB
        time.sleep(30)

    def send() -> None:
        try:
            httpx.post(f"{app.base_url}/api/uploads", content=body(), timeout=40,
                       headers={"Authorization": token, "Content-Type": "multipart/form-data; boundary=zz"})
        except httpx.HTTPError:
            return

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
@pytest.mark.parametrize("planted", ["", "no_multipart_sweep"])
def test_a_killed_replicas_multipart_uploads_are_aborted(app_factory: AppFactory, moto_service: MotoService,
                                                         planted: str) -> None:
    app = app_factory(planted, workers=0, MULTIPART_SWEEP_S="1")
    alice = user(app, "alice")
    token = alice.http.headers["authorization"]
    alice.close()
    before = {u["UploadId"] for u in _multipart_uploads(moto_service)}
    _start_big_upload(app, token)
    deadline = time.monotonic() + 20
    while not {u["UploadId"] for u in _multipart_uploads(moto_service)} - before:
        assert time.monotonic() < deadline, "the upload never opened a multipart upload"
        time.sleep(0.2)
    assert app.api is not None
    app.api.kill()
    app.start_api()  # the next replica (or any other) sweeps
    deadline = time.monotonic() + 10
    while (left := {u["UploadId"] for u in _multipart_uploads(moto_service)} - before) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert bool(left) is bool(planted), left
