"""The event hub against a real Redis: one connection for any number of streams, messages routed
by channel, confirmed subscriptions, and recovery after Redis restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from easy_upload.hub import EventHub
from easy_upload.services import make_hub
from easy_upload.settings import Settings
from harness.services import RedisService

pytestmark = pytest.mark.services


def run(redis_url: str, body: Callable[[EventHub, Redis], Awaitable[None]]) -> None:
    async def go() -> None:
        hub = make_hub(Settings(redis_url=redis_url))
        await hub.start()
        publisher = Redis.from_url(redis_url, decode_responses=True)
        try:
            async with asyncio.timeout(60):
                await body(hub, publisher)
        finally:
            await publisher.aclose()
            await hub.close()

    asyncio.run(go())


async def _hub_clients(publisher: Redis) -> list[dict[str, str]]:
    clients: list[dict[str, str]] = await publisher.client_list()
    return [c for c in clients if int(c.get("sub", 0)) > 0 or int(c.get("psub", 0)) > 0]


def test_many_streams_share_one_connection_and_get_only_their_channel(redis_service: RedisService) -> None:
    async def body(hub: EventHub, publisher: Redis) -> None:
        before = {c["id"] for c in await _hub_clients(publisher)}  # ours, and e.g. the session API's
        subs = [await hub.subscribe(f"hub-test:{n % 10}") for n in range(50)]
        assert all(s.live for s in subs)
        after = await _hub_clients(publisher)
        assert {c["id"] for c in after} == before  # no connection was added for 50 streams
        assert [int(c["sub"]) for c in after].count(11) == 1  # 10 channels + keepalive on one
        for n in range(10):
            await publisher.publish(f"hub-test:{n}", f"message {n}")
        got = [await s.get(5) for s in subs]
        assert got == [f"message {n % 10}" for n in range(50)]
        assert [await s.get(0.05) for s in subs[:3]] == [None] * 3
        for s in subs:
            await s.close()
        counts = await publisher.pubsub_numsub(*(f"hub-test:{n}" for n in range(10)))
        assert dict(counts) == {f"hub-test:{n}": 0 for n in range(10)}

    run(redis_service.url, body)


def test_a_message_published_right_after_subscribing_arrives(redis_service: RedisService) -> None:
    async def body(hub: EventHub, publisher: Redis) -> None:
        for n in range(20):
            sub = await hub.subscribe(f"hub-race:{n}")
            await publisher.publish(f"hub-race:{n}", "first")
            assert await sub.get(5) == "first"
            await sub.close()

    run(redis_service.url, body)


async def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


@pytest.mark.slow
def test_the_hub_recovers_after_redis_restarts(redis_service: RedisService) -> None:
    async def body(hub: EventHub, publisher: Redis) -> None:
        sub = await hub.subscribe("hub-restart")
        await _until(lambda: hub.healthy, 5)
        await asyncio.to_thread(redis_service.stop)
        try:
            await _until(lambda: not sub.live, 10)
        finally:
            await asyncio.to_thread(redis_service.start)
        await _until(lambda: sub.live, 15)
        await publisher.publish("hub-restart", "after")
        assert await sub.get(5) == "after"
        await sub.close()

    run(redis_service.url, body)
