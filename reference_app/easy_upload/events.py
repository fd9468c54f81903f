"""Upload events: published by the worker on Redis Pub/Sub, read back into SSE by the API.

State lives in PostgreSQL (`uploads.event_seq` numbers the events); Pub/Sub only carries them fast.
A subscriber first subscribes (through the process' one Pub/Sub connection, hub.py), then reads
the row, so it cannot miss an event in between; while it waits it re-reads the row every heartbeat,
so a lost message (Redis restart) only delays it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

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


class Live(Protocol):
    """A subscription to one channel (hub.Subscription)."""

    @property
    def live(self) -> bool: ...

    async def get(self, timeout: float) -> str | None: ...

    async def close(self) -> None: ...


class Hub(Protocol):
    async def subscribe(self, channel: str) -> Live: ...


class EventFeed:
    """Yield an upload's events after ``after``: one snapshot first, then live events, until final.

    Order: one `state` (or the final event), then `progress`, then `completed`/`failed`; ids are
    the upload's event sequence and strictly increase, and never repeat an id <= ``after`` (the
    client's Last-Event-ID) -- except that an upload that is already final always sends its terminal
    event, so a resuming client learns the outcome (see the README).
    """

    def __init__(self, hub: Hub, upload_id: str, fetch: Fetch, *, after: int, recheck_s: float) -> None:
        self.hub, self.upload_id, self.fetch = hub, upload_id, fetch
        self.last, self.recheck_s = after, recheck_s
        self.subscription: Live | None = None

    async def open(self) -> None:
        self.subscription = await self.hub.subscribe(channel(self.upload_id))

    async def close(self) -> None:
        if self.subscription is not None:
            subscription, self.subscription = self.subscription, None
            await subscription.close()

    @property
    def live(self) -> bool:
        return self.subscription is not None and self.subscription.live

    async def _row_event(self) -> UploadEvent:
        upload = await self.fetch()
        if upload is None:
            return UploadEvent(self.last + 1, "failed", {"state": "failed", "reason": "upload deleted"})
        return snapshot(upload)

    async def _first(self) -> UploadEvent | None:
        """The snapshot: `state` (or final) if newer than the client's last id; a final one always."""
        event = await self._row_event()
        return event if event.id > self.last or event.is_terminal else None

    async def _reread(self) -> UploadEvent:
        """The row, mid-stream: a non-final row is a `progress` event (only one `state` per stream)."""
        event = await self._row_event()
        if not event.is_terminal:
            event.event = "progress"
        return event

    async def _next_live(self) -> UploadEvent | None:
        """The next published event, or None after ``recheck_s`` without one (or without Redis)."""
        if self.subscription is None or not self.live:
            return None
        data = await self.subscription.get(self.recheck_s)
        return UploadEvent.from_json(data) if data else None

    async def events(self) -> AsyncIterator[UploadEvent]:
        first = await self._first()
        if first is not None:
            self.last = max(self.last, first.id)
            yield first
            if first.is_terminal:
                return
        while True:
            event = await self._next_live()
            if event is None:
                if not self.live:
                    await _sleep(self.recheck_s)
                event = await self._reread()
            if event.id <= self.last:
                continue  # already sent (e.g. the live copy of what a re-read found)
            self.last = event.id
            yield event
            if event.is_terminal:
                return


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 1.0))
