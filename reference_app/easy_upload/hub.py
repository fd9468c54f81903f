"""One Redis Pub/Sub connection per API process, shared by every SSE stream it serves.

A stream used to hold a Pub/Sub connection of its own, taken from the client's pool (100 by
redis-py's default): one user's 100 open streams left none for anyone's upload or for /readyz.
Here one reader task owns one connection on a client of its own and hands each message to the
subscriptions of its channel; streams never touch the pool that uploads and the queue use.

Subscribing waits for Redis' confirmation (so a stream that reads the row afterwards cannot miss
an event in between). Confirmations arrive in the order the SUBSCRIBEs were sent, one per channel
subscribe, which is how each waiter finds its own. When the connection breaks the hub says so
(``healthy``), streams fall back to re-reading PostgreSQL, and the reader reconnects; redis-py
subscribes the same channels again on reconnect.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("easy_upload")
# Always subscribed, so the connection stays in subscribed mode: redis-py then never interleaves a
# health-check PING reply with the reader's messages.
KEEPALIVE_CHANNEL = "easy-upload:hub"
QUEUE_SIZE = 64  # a stream gets a handful of events per upload; beyond this it re-reads the row
CONFIRM_TIMEOUT_S = 2.0


class Subscription:
    """One stream's view of one channel: published messages, in order, until closed."""

    def __init__(self, hub: EventHub, channel: str) -> None:
        self.hub, self.channel = hub, channel
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.confirmed = False

    @property
    def live(self) -> bool:
        """Messages can arrive (subscribed, and the hub's connection is up)."""
        return self.confirmed and self.hub.healthy

    async def get(self, timeout: float) -> str | None:
        """The next message's data, or None after ``timeout`` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def deliver(self, data: str) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # dropped: the stream's re-read finds it
            self.queue.put_nowait(data)

    async def close(self) -> None:
        await self.hub.release(self)


class EventHub:
    """The process' Pub/Sub connection and the subscriptions multiplexed on it."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.pubsub = client.pubsub(ignore_subscribe_messages=False)
        self.subscribers: dict[str, set[Subscription]] = {}
        self.waiting: dict[str, collections.deque[asyncio.Future[bool]]] = {}
        self.healthy = False
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect (if Redis answers now; the reader keeps trying otherwise) and start reading."""
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.subscribe(KEEPALIVE_CHANNEL)
        self.reader = asyncio.create_task(self._read_forever())

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.client.aclose()

    async def subscribe(self, channel: str) -> Subscription:
        """A subscription to ``channel``, confirmed by Redis unless the hub is down (then the
        stream works from PostgreSQL alone)."""
        sub = Subscription(self, channel)
        if self.pubsub.connection is None:
            return sub  # only the reader makes the first connection (two would race)
        members = self.subscribers.setdefault(channel, set())
        first = not members
        members.add(sub)
        if first:
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self.waiting.setdefault(channel, collections.deque()).append(waiter)
            try:
                await self.pubsub.subscribe(channel)
            except (RedisError, OSError):
                self._detach(sub, waiter)
                return sub
        elif self.waiting.get(channel):
            waiter = self.waiting[channel][-1]  # the SUBSCRIBE already on its way
        else:
            sub.confirmed = True
            return sub
        with contextlib.suppress(TimeoutError):
            sub.confirmed = await asyncio.wait_for(asyncio.shield(waiter), CONFIRM_TIMEOUT_S)
        return sub

    async def release(self, sub: Subscription) -> None:
        members = self.subscribers.get(sub.channel)
        if members is None or sub not in members:
            return
        members.discard(sub)
        if members:
            return
        del self.subscribers[sub.channel]
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.unsubscribe(sub.channel)

    def _detach(self, sub: Subscription, waiter: asyncio.Future[bool]) -> None:
        """A subscription whose SUBSCRIBE could not be sent: it will never be live."""
        members = self.subscribers.get(sub.channel, set())
        members.discard(sub)
        if not members:
            self.subscribers.pop(sub.channel, None)
        with contextlib.suppress(ValueError):
            self.waiting.get(sub.channel, collections.deque()).remove(waiter)

    def _confirm(self, channel: str) -> None:
        queue = self.waiting.get(channel)
        if queue:
            waiter = queue.popleft()
            if not waiter.done():
                waiter.set_result(True)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, channel = message.get("type"), str(message.get("channel"))
        if kind == "subscribe":
            self._confirm(channel)
        elif kind == "message":
            for sub in tuple(self.subscribers.get(channel, ())):
                sub.deliver(str(message["data"]))

    def _broken(self, exc: BaseException) -> None:
        if self.healthy:
            log.warning("event hub lost Redis", extra={"error": type(exc).__name__})
        self.healthy = False
        for queue in self.waiting.values():  # their confirmations will not come on this connection
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(False)

    async def _read_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                if not self.pubsub.subscribed:
                    await self.pubsub.subscribe(KEEPALIVE_CHANNEL)
                message = await self.pubsub.get_message(timeout=1.0)
                self.healthy, backoff = True, 0.1
                if message is not None:
                    self._dispatch(message)
            except (RedisError, OSError) as exc:
                self._broken(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
