"""One user's load never takes the service from another: streams share one Redis connection per
replica, per-user limits answer 429 + Retry-After to the abuser only, and /readyz stays ready.

Observed from outside: HTTP statuses of both users, and Redis' own count of connected clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from harness.services import RedisService
from tests.reference_app.app import AppProcesses
from tests.reference_app.conftest import AppFactory, user

pytestmark = pytest.mark.services
STREAMS_PER_USER = 32  # the app's default MAX_STREAMS_PER_USER
ATTEMPTS = 120  # past redis-py's default pool of 100, where a stream per connection ran out


def redis_clients(service: RedisService) -> int:
    with redis.Redis.from_url(service.url) as client:
        return int(client.info("clients")["connected_clients"])


@contextlib.asynccontextmanager
async def open_streams(app: AppProcesses, token: str, upload_id: str, count: int
                       ) -> AsyncIterator[Counter[int]]:
    """Open ``count`` event streams one after another and hold the ones that were accepted."""
    held: list[contextlib.AbstractAsyncContextManager[httpx.Response, bool | None]] = []
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=app.base_url, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        try:
            for _ in range(count):
                stream = http.stream("GET", f"/api/uploads/{upload_id}/events")
                response = await stream.__aenter__()
                statuses[response.status_code] += 1
                if response.status_code == 429:
                    assert response.headers["retry-after"] == "5"
                    await response.aread()
                    assert response.json()["error"]["code"] == "too_many_requests"
                held.append(stream)
            yield statuses
        finally:
            for opened in held:
                with contextlib.suppress(httpx.HTTPError):
                    await opened.__aexit__(None, None, None)


async def abuse_then_probe(app: AppProcesses, alice: str, bob_token: str) -> tuple[Counter[int], int, int]:
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {alice}"}) as http:
        created = await http.post("/api/uploads", files={"file": ("a.txt", b"stays queued\n", "text/plain")})
        upload_id = created.json()["id"]
    async with open_streams(app, alice, upload_id, ATTEMPTS) as statuses, httpx.AsyncClient(
            base_url=app.base_url, timeout=30, headers={"Authorization": f"Bearer {bob_token}"}) as bob:
        upload = await bob.post("/api/uploads", files={"file": ("b.txt", b"bob's file\n", "text/plain")})
        ready = await bob.get("/readyz")
        return statuses, upload.status_code, ready.status_code


@pytest.mark.parametrize("planted", ["", "no_user_limits", "per_stream_pubsub,no_user_limits"])
def test_one_users_streams_do_not_take_uploads_from_another(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0)  # no worker: the upload stays queued, streams stay open
    alice, bob = user(app, "alice"), user(app, "bob")
    alice_token = alice.http.headers["authorization"].removeprefix("Bearer ")
    bob_token = bob.http.headers["authorization"].removeprefix("Bearer ")
    alice.close()
    bob.close()
    statuses, bob_upload, readyz = asyncio.run(abuse_then_probe(app, alice_token, bob_token))
    if planted == "no_user_limits":  # the hub still protects bob, but nothing stops alice
        assert statuses == Counter({200: ATTEMPTS}) and (bob_upload, readyz) == (201, 200)
        return
    if planted:  # the app as it was: the 100th stream took the pool's last connection
        assert statuses[503] > 0 and (bob_upload, readyz) == (503, 503), (statuses, bob_upload, readyz)
        return
    assert statuses == Counter({200: STREAMS_PER_USER, 429: ATTEMPTS - STREAMS_PER_USER}), statuses
    assert (bob_upload, readyz) == (201, 200)


@pytest.mark.parametrize("planted", ["", "per_stream_pubsub"])
def test_streams_share_one_redis_connection(app_factory: AppFactory, redis_service: RedisService,
                                            planted: str) -> None:
    app = app_factory(planted, workers=0)
    alice = user(app, "alice")
    token = alice.http.headers["authorization"].removeprefix("Bearer ")
    upload_id = alice.upload("a.txt", b"queued\n", "text/plain").json()["id"]
    alice.close()
    before = redis_clients(redis_service)

    async def hold() -> int:
        async with open_streams(app, token, upload_id, STREAMS_PER_USER) as statuses:
            assert statuses == Counter({200: STREAMS_PER_USER})
            return redis_clients(redis_service)

    during = asyncio.run(hold())
    if planted:
        assert during - before >= STREAMS_PER_USER - 1  # one reuses the upload's pooled connection
    else:
        assert during - before <= 1, (before, during)


def _slow_upload(port: int, token: str) -> socket.socket:
    """Start a multipart upload and keep it open (headers and the first bytes only)."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n"
            '--b\r\nContent-Disposition: form-data; name="file"; filename="s.txt"\r\n'
            "Content-Type: text/plain\r\n\r\nslow")
    sock.sendall(head.encode())
    return sock


@pytest.mark.parametrize("planted", ["", "no_user_limits"])
def test_concurrent_uploads_per_user_are_limited(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0, MAX_UPLOADS_PER_USER="2")
    alice, bob = user(app, "alice"), user(app, "bob")
    token = alice.http.headers["authorization"].removeprefix("Bearer ")
    slow = [_slow_upload(app.api_port, token) for _ in range(2)]
    try:
        time.sleep(0.5)  # both are being received
        third = alice.upload("third.txt", b"third\n", "text/plain")
        others = bob.upload("bob.txt", b"bob\n", "text/plain")
    finally:
        for sock in slow:
            sock.close()
        alice.close()
        bob.close()
    assert others.status_code == 201
    if planted:
        assert third.status_code == 201
        return
    assert third.status_code == 429 and third.headers["retry-after"] == "5", third.text
    assert "at most 2" in third.json()["error"]["message"]
