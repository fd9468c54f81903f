"""Upload events: published by the worker on Redis Pub/Sub, read back into SSE by the API.

State lives in PostgreSQL (`uploads.event_seq` numbers the events); Pub/Sub only carries them fast.
A subscriber first subscribes, then reads the row, so it cannot miss an event in between; while it
waits it re-reads the row every heartbeat, so a lost message (Redis restart) only delays it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from easy_upload.db import Upload

TERMINAL_EVENTS = ("completed", "failed")


def channel(upload_id: str) -> str:
    return f"easy-upload:events:{upload_id}"


def download_path(upload_id: str) -> str:
    return f"/api/uploads/{upload_id}/download"


@dataclass(slots=True)
class UploadEvent:
    """One SSE event: ``id`` is the upload's event sequence number."""

    id: int
    event: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "event": self.event, "data": self.data})

    @classmethod
    def from_json(cls, raw: str | bytes) -> UploadEvent:
        doc = json.loads(raw)
        return cls(int(doc["id"]), str(doc["event"]), dict(doc["data"]))


def snapshot(upload: Upload) -> UploadEvent:
    """The current state as an event: `completed`/`failed` when final, else `state`."""
    uid = str(upload.id)
    base: dict[str, Any] = {"upload_id": uid, "state": upload.state, "progress": upload.progress}
    if upload.state == "completed":
        return UploadEvent(
            upload.event_seq,
            "completed",
            {**base, "download": download_path(uid), "manifest": upload.manifest},
        )
    if upload.state == "failed":
        return UploadEvent(upload.event_seq, "failed", {**base, "reason": upload.failure_reason})
    return UploadEvent(upload.event_seq, "state", base)


async def publish(redis: Redis, upload_id: str, event: UploadEvent) -> None:
    """Publish with the wall-clock send time, so receivers can measure delivery latency."""
    event.data.setdefault("ts", time.time())
    await redis.publish(channel(upload_id), event.to_json())


Fetch = Callable[[], Awaitable[Upload | None]]


class EventFeed:
    """Yield an upload's events from ``after`` on: snapshot first, then live events, until final."""

    def __init__(self, redis: Redis, upload_id: str, fetch: Fetch, *, after: int, recheck_s: float) -> None:
        self.redis, self.upload_id, self.fetch = redis, upload_id, fetch
        self.last, self.recheck_s = after, recheck_s
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.live = True

    async def open(self) -> None:
        await self.pubsub.subscribe(channel(self.upload_id))

    async def close(self) -> None:
        try:
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
        except (RedisError, OSError):
            return

    async def _from_row(self, always_final: bool) -> UploadEvent | None:
        upload = await self.fetch()
        if upload is None:
            return UploadEvent(self.last + 1, "failed", {"state": "failed", "reason": "upload deleted"})
        event = snapshot(upload)
        if event.id > self.last or (always_final and event.is_terminal):
            return event
        return None

    async def _next_live(self) -> UploadEvent | None:
        if not self.live:
            return None
        try:
            message = await self.pubsub.get_message(timeout=self.recheck_s)
        except (RedisError, OSError):
            self.live = False  # Redis went away: keep serving from PostgreSQL alone
            return None
        return UploadEvent.from_json(message["data"]) if message and message.get("data") else None

    async def events(self) -> AsyncIterator[UploadEvent]:
        first = await self._from_row(always_final=True)
        candidates = [first] if first else []
        while True:
            for event in candidates:
                if event.id > self.last or event is first:
                    self.last = max(self.last, event.id)
                    yield event
                    if event.is_terminal:
                        return
            first = None
            live = await self._next_live()
            if live is None and not self.live:
                await _sleep(self.recheck_s)
            candidates = [live] if live else [e for e in [await self._from_row(False)] if e]


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(min(seconds, 1.0))
