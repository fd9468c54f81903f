"""Multipart uploads a killed API replica left in the raw bucket are aborted by the live ones.

An upload streams to S3 as a multipart upload; if its replica is killed mid-way, the parts stay
(and cost money) until someone aborts them. In AWS the bucket's lifecycle rule does that after a
day (terraform/modules/uploads-storage: abort_incomplete_multipart_upload). The S3 emulators do
not run lifecycle rules, and moto reports every upload as initiated on 2010-11-10, so age cannot
tell a dead upload from a live one. Ownership can: each replica records the multipart uploads it
is writing in a Redis hash and keeps a heartbeat key alive; every ``MULTIPART_SWEEP_S`` each
replica aborts the uploads whose owner's heartbeat is gone. A replica re-records its uploads with
every heartbeat (so a Redis restart loses nothing for long), and an upload nobody owns is aborted
only when two sweeps in a row find it so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from anyio import to_thread
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("easy_upload")
REGISTRY = "easy-upload:multipart"  # field "<key>\n<upload id>" -> owning replica
ALIVE = "easy-upload:replica:{}"
PREFIX = "uploads/"


def _field(key: str, upload_id: str) -> str:
    return f"{key}\n{upload_id}"


class MultipartTracker:
    """This replica's side of the bookkeeping, and the sweep every replica runs."""

    def __init__(self, redis: Redis, s3: Any, bucket: str, interval_s: float) -> None:
        self.redis, self.s3, self.bucket, self.interval_s = redis, s3, bucket, interval_s
        self.replica = uuid.uuid4().hex
        self.mine: set[str] = set()
        self.unowned_before: set[str] = set()

    async def started(self, key: str, upload_id: str) -> None:
        """Record that this replica writes ``upload_id`` (best effort: the heartbeat repeats it)."""
        self.mine.add(_field(key, upload_id))
        with contextlib.suppress(RedisError, OSError):
            await self.redis.hset(REGISTRY, _field(key, upload_id), self.replica)

    async def finished(self, key: str, upload_id: str) -> None:
        self.mine.discard(_field(key, upload_id))
        with contextlib.suppress(RedisError, OSError):
            await self.redis.hdel(REGISTRY, _field(key, upload_id))

    async def heartbeat(self) -> None:
        await self.redis.set(ALIVE.format(self.replica), "1", ex=max(1, int(self.interval_s * 2 + 1)))
        if self.mine:
            await self.redis.hset(REGISTRY, mapping=dict.fromkeys(self.mine, self.replica))

    def _listing(self) -> set[str]:
        found: set[str] = set()
        paginator = self.s3.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=PREFIX):
            found |= {_field(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])}
        return found

    async def _alive(self, owners: set[str]) -> set[str]:
        names = sorted(owners)
        flags = await self.redis.mget([ALIVE.format(n) for n in names]) if names else []
        return {n for n, flag in zip(names, flags, strict=True) if flag}

    async def sweep(self) -> list[str]:
        """Abort the uploads whose owner is gone; return their keys."""
        listed = await to_thread.run_sync(self._listing)
        registry = {str(k): str(v) for k, v in (await self.redis.hgetall(REGISTRY)).items()}
        alive = await self._alive(set(registry.values()))
        unowned = {f for f in listed if f not in registry}
        doomed = {f for f in listed if registry.get(f) not in alive and f in registry}
        doomed |= unowned & self.unowned_before
        self.unowned_before = unowned - doomed
        for field in doomed:
            await to_thread.run_sync(self._abort, field)
        gone = {f for f, owner in registry.items() if f not in listed and owner not in alive}
        stale = sorted(gone | (doomed & set(registry)))
        if stale:
            await self.redis.hdel(REGISTRY, *stale)
        return sorted(f.split("\n", 1)[0] for f in doomed)

    def _abort(self, field: str) -> None:
        key, upload_id = field.split("\n", 1)
        with contextlib.suppress(Exception):  # already gone, or aborted by another replica
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    async def run_forever(self) -> None:
        """Heartbeat every half interval; sweep at start-up and every interval."""
        ticks = 0
        while True:
            try:
                await self.heartbeat()
                if ticks % 2 == 0 and (aborted := await self.sweep()):
                    log.warning("aborted abandoned multipart uploads", extra={"keys": aborted})
            except Exception as exc:  # Redis or S3 down: the next round tries again
                log.warning("multipart sweep failed", extra={"error": type(exc).__name__})
            ticks += 1
            await asyncio.sleep(self.interval_s / 2)
