"""The weighted router against two real HTTP backends on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.targets.local.cluster.router import Router, choose_track

RELEASE = threading.Event()


def _backend(name: str, status: int = 200) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/events":
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"data: first\n\n")
                self.wfile.flush()
                RELEASE.wait(5)
                self.wfile.write(b"data: second\n\n")
                self.wfile.flush()
                self.close_connection = True
                return
            body = name.encode()
            self.send_response(status)
            self.send_header("X-App-Version", name)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            self.send_response(201)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def router() -> Iterator[tuple[Router, ThreadingHTTPServer, ThreadingHTTPServer]]:
    stable, canary = _backend("v1"), _backend("v2", status=500)
    router = Router(seed=7)
    router.enable()
    router.set_backends([("127.0.0.1", stable.server_address[1])], [("127.0.0.1", canary.server_address[1])])
    yield router, stable, canary
    router.disable()
    router.disable()
    for server in (stable, canary):
        server.shutdown()
        server.server_close()


def test_weights_split_requests_and_count_canary_errors(
    router: tuple[Router, ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    proxy, _, _ = router
    with httpx.Client(base_url=proxy.url) as client:
        assert {client.get("/").text for _ in range(20)} == {"v1"}
        proxy.canary_weight = 25
        versions = [client.get("/").headers["X-App-Version"] for _ in range(400)]
    share = versions.count("v2") / len(versions)
    assert 0.18 < share < 0.32
    stats = proxy.stats()
    assert stats["canary"]["requests"] == versions.count("v2")
    assert stats["canary"]["errors_5xx"] == versions.count("v2")
    assert stats["stable"]["errors_5xx"] == 0


def test_bodies_and_streams_pass_through(
    router: tuple[Router, ThreadingHTTPServer, ThreadingHTTPServer],
) -> None:
    proxy, _, _ = router
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        payload = b"x" * 300_000
        response = client.post("/upload", content=payload)
        assert (response.status_code, len(response.content)) == (201, len(payload))
        RELEASE.clear()
        with client.stream("GET", "/events") as stream:
            lines = stream.iter_lines()
            started = time.monotonic()
            assert next(lines) == "data: first"  # arrives before the backend sends the second
            assert time.monotonic() - started < 2
            RELEASE.set()
            rest = list(lines)
        assert "data: second" in rest
        assert response.headers["X-Routed-Track"] == "stable"


def test_empty_pool_is_503_and_weights_are_validated() -> None:
    proxy = Router()
    proxy.enable()
    try:
        assert httpx.get(proxy.url + "/").status_code == 503
        with pytest.raises(ValueError):
            proxy.set_weight(101)
    finally:
        proxy.disable()


@pytest.mark.parametrize(
    ("weight", "stable", "canary", "roll", "track"),
    [
        (0, True, True, 0.0, "stable"),
        (5, True, True, 4.9, "canary"),
        (5, True, True, 5.0, "stable"),
        (100, True, False, 1.0, "stable"),
        (0, False, True, 99.0, "canary"),
    ],
)
def test_choose_track(weight: float, stable: bool, canary: bool, roll: float, track: str) -> None:
    assert choose_track(weight, stable, canary, roll) == track


def test_router_does_not_announce_its_own_software_version() -> None:
    """An upstream without a Server header must not get aiohttp's versioned one (ZAP 10036)."""

    class Quiet(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def send_response(self, code: int, message: str | None = None) -> None:
            self.send_response_only(code, message)  # no Server header, like the app

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    backend = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    proxy = Router(seed=1)
    proxy.enable()
    try:
        proxy.set_backends([("127.0.0.1", backend.server_address[1])], [])
        response = httpx.get(f"{proxy.url}/")
        assert response.text == "ok"
        server = response.headers.get("server", "")
        assert "/" not in server, f"versioned Server header leaked: {server!r}"
        proxy.set_backends([("127.0.0.1", 1)], [])  # nothing listens on port 1
        failed = httpx.get(f"{proxy.url}/")
        assert failed.status_code == 502
        assert failed.json()["error"]["code"] == "bad_gateway"
        assert "/" not in failed.headers.get("server", "")
    finally:
        proxy.disable()
        backend.shutdown()
        backend.server_close()


def test_malformed_request_is_refused_without_an_error_traceback(
    router: tuple[Router, ThreadingHTTPServer, ThreadingHTTPServer], caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    proxy, _, _ = router
    port = int(proxy.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
        reply = sock.recv(1024)
    assert reply.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert not [r for r in caplog.records if r.levelno >= 40]


def test_idle_upstream_connections_close_before_the_replicas_keep_alive_does() -> None:
    import inspect

    import uvicorn

    from harness.targets.local.cluster.router import UPSTREAM_KEEPALIVE_S

    replica_keep_alive = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert replica_keep_alive > UPSTREAM_KEEPALIVE_S  # the replicas run uvicorn with its default
