from __future__ import annotations

import collections
import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from harness.targets.local.frontdoor import FrontDoor


def test_round_robin_inside_the_stable_pool() -> None:
    door = FrontDoor()
    door.set_backends([("127.0.0.1", 1), ("127.0.0.1", 2)])
    assert [door.upstream[1] for _ in range(4)] == [1, 2, 1, 2]


@pytest.mark.parametrize(("weight", "low", "high"), [(0, 0, 0), (20, 120, 280), (100, 1000, 1000)])
def test_canary_weight(weight: int, low: int, high: int) -> None:
    door = FrontDoor()
    door.set_backends([("127.0.0.1", 1)], [("127.0.0.1", 2)])
    door.canary_weight = weight
    picks = collections.Counter(door.upstream[1] for _ in range(1000))
    assert low <= picks[2] <= high


def test_only_canary_left_still_serves() -> None:
    door = FrontDoor()
    door.set_backends([], [("127.0.0.1", 7)])
    assert door.upstream == ("127.0.0.1", 7)


@pytest.fixture
def backend() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_forwards_http_and_closes_its_port(backend: int) -> None:
    door = FrontDoor()
    door.set_backends([("127.0.0.1", backend)])
    door.enable()
    try:
        assert httpx.get(door.url, timeout=5).status_code == 200
    finally:
        door.disable()
    with pytest.raises(httpx.ConnectError):
        httpx.get(door.url, timeout=1)
