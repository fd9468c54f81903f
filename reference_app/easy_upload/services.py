"""The connections one process holds (pool, Redis, queue, S3) and how their failures look to clients."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import psycopg
import psycopg_pool
import redis.exceptions
from anyio import to_thread
from bullmq import Queue
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from easy_upload import db, storage
from easy_upload.errors import ServiceUnavailable
from easy_upload.hub import EventHub
from easy_upload.limits import UserLimits
from easy_upload.metrics import Metrics
from easy_upload.multipart import MultipartTracker
from easy_upload.settings import Settings

log = logging.getLogger("easy_upload")
QUEUE_STATES = ("waiting", "active", "delayed", "failed", "completed")


def make_redis(url: str, max_connections: int = 32) -> Redis:
    """A Redis client that fails fast (two short retries) instead of hanging a request, with a
    pool of a known size: a request waits up to a second for a free connection, then fails."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=1.0,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        health_check_interval=10,
    )
    return Redis(connection_pool=pool)


def make_hub(settings: Settings) -> EventHub:
    """The process' one Pub/Sub connection, on a client of its own (never the request pool)."""
    client = Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=5.0,
        socket_keepalive=True,
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
        retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    )
    return EventHub(client)


def job_options(settings: Settings, upload_id: str) -> dict[str, Any]:
    """The job id is the upload id, so enqueueing twice cannot make two jobs."""
    return {
        "jobId": upload_id,
        "attempts": settings.job_attempts,
        "backoff": {"type": "exponential", "delay": settings.job_backoff_ms},
        "removeOnComplete": 1000,
        "removeOnFail": 5000,
    }


OUTAGE_EXCEPTIONS: tuple[type[Exception], ...] = (
    psycopg_pool.PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ClientError,
)


def outage_of(exc: BaseException) -> str | None:
    """Which dependency an exception says is down, or None when it is not an outage."""
    if isinstance(exc, psycopg_pool.PoolTimeout | psycopg.OperationalError | psycopg.InterfaceError):
        return "postgresql"
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | ConnectionError):
        return "redis"
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionError
        | botocore.exceptions.ConnectTimeoutError
        | botocore.exceptions.ReadTimeoutError,
    ):
        return "s3"
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return "s3" if status >= 500 else None
    return None


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    dependency = outage_of(exc)
    if dependency is None:
        return None
    return ServiceUnavailable(f"{dependency} is unavailable, retry shortly", dependency=dependency)


@dataclass(slots=True)
class Services:
    """Long-lived clients, opened at startup (without waiting: the app starts even if they are down)."""

    settings: Settings
    metrics: Metrics
    pool: psycopg_pool.AsyncConnectionPool
    redis: Redis
    queue: Queue
    s3: Any
    s3_public: Any
    hub: EventHub
    stream_limits: UserLimits
    upload_limits: UserLimits
    multipart: MultipartTracker
    background: list[asyncio.Task[None]]

    @classmethod
    def create(cls, settings: Settings, metrics: Metrics) -> Services:
        client = make_redis(settings.redis_url, settings.redis_max_connections)
        queue = Queue(settings.queue_name, {"connection": client})
        retry_after = settings.limit_retry_after_s
        s3 = storage.make_client(settings)
        return cls(
            settings,
            metrics,
            db.make_pool(settings.database_url),
            client,
            queue,
            s3,
            storage.make_client(settings, public=True),
            make_hub(settings),
            UserLimits("event streams", settings.max_streams_per_user, retry_after),
            UserLimits("uploads", settings.max_uploads_per_user, retry_after),
            MultipartTracker(client, s3, settings.raw_bucket, settings.multipart_sweep_s),
            [],
        )

    async def open(self) -> None:
        await self.hub.start()
        self.background.append(asyncio.create_task(self.multipart.run_forever()))
        await self.pool.open(wait=False)
        if self.settings.create_buckets:
            try:
                await to_thread.run_sync(
                    storage.ensure_buckets, self.s3, self.settings.raw_bucket, self.settings.processed_bucket
                )
            except Exception as exc:
                log.warning("could not create buckets", extra={"error": repr(exc)})

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.hub.close()
        await self.pool.close()
        await self.queue.close()
        await self.redis.aclose()

    async def check(self) -> dict[str, str]:
        """Ping PostgreSQL, Redis and S3 concurrently; 'ok' or the error per dependency."""

        async def pg() -> None:
            async with self.pool.connection(timeout=2.0) as conn:
                await conn.execute("SELECT 1")

        async def rd() -> None:
            await self.redis.ping()

        async def s3() -> None:
            await to_thread.run_sync(lambda: self.s3.head_bucket(Bucket=self.settings.raw_bucket))

        names = ("postgresql", "redis", "s3")
        results = await asyncio.gather(
            *(asyncio.wait_for(f(), 3.0) for f in (pg, rd, s3)), return_exceptions=True
        )
        return {n: "ok" if r is None else type(r).__name__ for n, r in zip(names, results, strict=True)}

    async def refresh_queue_depth(self) -> None:
        try:
            counts = await asyncio.wait_for(self.queue.getJobCounts(*QUEUE_STATES), 1.0)
        except Exception:
            return
        for state in QUEUE_STATES:
            self.metrics.queue_depth.labels(state).set(counts.get(state, 0))
