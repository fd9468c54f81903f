"""The worker: BullMQ jobs -> deterministic processing -> results in S3, state in PostgreSQL.

Exactly once: a job (id = upload id) may run again after a crash (stalled-job recovery) or a
transient error (retry with backoff); outputs go to fixed keys and the row turns `completed` only
from `processing`, so a repeat overwrites identical bytes and publishes nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import tempfile
import time
import urllib.parse
from typing import IO, Any

from anyio import to_thread
from bullmq import Queue, Worker
from prometheus_client import start_http_server
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from easy_upload import db, downloads, failures, processing, settle, storage
from easy_upload.errors import ProcessingError
from easy_upload.events import UploadEvent, download_path, publish
from easy_upload.failures import RowNotVisible
from easy_upload.metrics import Metrics
from easy_upload.services import QUEUE_STATES, make_redis
from easy_upload.settings import Settings

log = logging.getLogger("easy_upload.worker")
SPOOL_BYTES = 16 * 1024 * 1024


class Processor:
    """The BullMQ processor: one call per job attempt."""

    def __init__(
        self, settings: Settings, pool: AsyncConnectionPool, redis: Redis, s3: Any, metrics: Metrics
    ) -> None:
        self.settings, self.pool, self.redis, self.s3, self.metrics = settings, pool, redis, s3, metrics

    async def __call__(self, job: Any, token: str) -> dict[str, Any]:
        upload_id = str(job.data.get("upload_id", ""))
        started = time.monotonic()
        upload = await db.start_processing(self.pool, upload_id)
        if upload is None:
            existing = await db.get_upload(self.pool, upload_id)
            if existing is None or existing.state == "queued":
                # The API enqueues inside the transaction that inserts the row: the job can arrive
                # a moment before the commit. Retrying (with backoff) waits for it; a row that never
                # commits leaves a job that fails after its attempts, and nothing a user can see.
                raise RowNotVisible(f"upload {upload_id} is not committed yet")
            log.info("job skipped", extra={"upload_id": upload_id, "state": existing.state})
            return {"skipped": existing.state}
        family = upload.content_type.split("/")[0]
        if settle.interruptions(upload.attempts, job.attemptsMade) >= settle.MAX_INTERRUPTIONS:
            return await self._give_up(upload_id, family, started, settle.INTERRUPTED_REASON)
        await self._emit(upload_id, upload.event_seq, "progress", 0, "started")
        try:
            result = await self._process(upload)
        except Exception as exc:
            return await self._attempt_failed(job, upload_id, family, started, exc)
        self._observe("completed", family, started)
        return result

    async def _attempt_failed(
        self, job: Any, upload_id: str, family: str, started: float, exc: Exception
    ) -> dict[str, Any]:
        """Fail the upload now (permanent, or out of attempts) or re-raise for a BullMQ retry."""
        failure = failures.classify(exc)
        attempt = job.attemptsMade + 1
        if failure.transient and attempt < int(job.opts.get("attempts", 1)):
            log.warning("attempt failed, will retry", extra={"upload_id": upload_id, "error": repr(exc)})
            self._observe("retried", family, started)
            raise exc
        reason = failures.gave_up(failure, attempt) if failure.transient else failure.reason
        log.warning("upload cannot be processed", extra={"upload_id": upload_id}, exc_info=exc)
        if failure.transient:
            await self.finish_failed(upload_id, reason)
            self._observe("failed", family, started)
            raise exc
        return await self._give_up(upload_id, family, started, reason)

    async def _give_up(self, upload_id: str, family: str, started: float, reason: str) -> dict[str, Any]:
        await self.finish_failed(upload_id, reason)
        self._observe("failed", family, started)
        return {"failed": reason}

    def _observe(self, outcome: str, family: str, started: float) -> None:
        self.metrics.jobs.labels(outcome, family, self.settings.app_version).inc()
        self.metrics.job_duration.labels(outcome, family, self.settings.app_version).observe(
            time.monotonic() - started
        )

    async def _emit(
        self, upload_id: str, seq: int | None, event: str, percent: int, stage: str, **data: Any
    ) -> None:
        if seq is None:
            return
        body = {
            "upload_id": upload_id,
            "state": "processing" if event == "progress" else event,
            "progress": percent,
            "stage": stage,
            **data,
        }
        await publish(self.redis, upload_id, UploadEvent(seq, event, body))
        if self.settings.worker_step_delay_ms and event == "progress":
            await asyncio.sleep(self.settings.worker_step_delay_ms / 1000)

    async def _progress(self, upload_id: str, percent: int, stage: str) -> None:
        seq = await db.set_progress(self.pool, upload_id, percent)
        await self._emit(upload_id, seq, "progress", percent, stage)

    async def finish_failed(self, upload_id: str, reason: str) -> None:
        seq = await db.fail(self.pool, upload_id, reason)
        await self._emit(upload_id, seq, "failed", 0, "failed", reason=reason)
        log.info("upload failed", extra={"upload_id": upload_id, "reason": reason})

    async def _process(self, upload: db.Upload) -> dict[str, Any]:
        uid = str(upload.id)
        src = await to_thread.run_sync(self._download, upload.raw_key)
        with src:
            original = processing.file_digest(src)
            if original[1] != upload.sha256:
                raise ProcessingError("stored object does not match the uploaded checksum")
            await self._progress(uid, 10, "downloaded")
            loop = asyncio.get_running_loop()

            def report(percent: int, stage: str) -> None:
                asyncio.run_coroutine_threadsafe(self._progress(uid, percent, stage), loop).result(30)

            budget = self.settings.job_budget()
            outcome = await to_thread.run_sync(
                lambda: processing.process(src, upload.content_type, report, budget=budget)
            )
        manifest = processing.manifest(uid, upload.content_type, original, outcome)
        try:
            await to_thread.run_sync(self._store, uid, outcome, manifest)
        finally:
            outcome.close()
        await self._progress(uid, 90, "stored")
        result_key = f"{uid}/{outcome.result.name}"
        seq = await db.complete(self.pool, uid, result_key, json.loads(manifest))
        await self._emit(
            uid,
            seq,
            "completed",
            100,
            "completed",
            download=download_path(uid),
            manifest=json.loads(manifest),
        )
        return {"result_key": result_key, "committed": seq is not None}

    def _download(self, key: str) -> IO[bytes]:
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.s3.download_fileobj(self.settings.raw_bucket, key, spool)
        spool.seek(0)
        return spool

    def _store(self, uid: str, outcome: processing.Outcome, manifest: bytes) -> None:
        bucket = self.settings.processed_bucket
        for art in (outcome.result, *outcome.extras):
            art.data.seek(0)
            self.s3.upload_fileobj(
                art.data,
                bucket,
                f"{uid}/{art.name}",
                ExtraArgs={**downloads.object_headers(art.content_type, art.name),
                           "Metadata": {"sha256": art.sha256}},
            )
        self.s3.put_object(Bucket=bucket, Key=f"{uid}/manifest.json", Body=manifest,
                           **downloads.object_headers("application/json", "manifest.json"))


# bullmq (Python) blocks on BZPOPMIN for up to 10 s (worker.py: default_maximum_block_timeout) on
# a client it builds with redis-py's default socket timeout, which is 5 s since redis-py 8
# (redis/_defaults.py). A wait longer than 5 s -- a retry due in 8 s -- times out client-side, and
# bullmq's Retry (20 tries, backoff up to 20 s) re-sends the same long wait: the delayed job runs
# only when another job arrives. A socket timeout above the longest block keeps waits whole.
BLOCKING_SOCKET_TIMEOUT_S = 15


def worker_redis_url(url: str) -> str:
    """``url`` with a socket timeout longer than bullmq's longest blocking wait."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "socket_timeout"]
    query.append(("socket_timeout", str(BLOCKING_SOCKET_TIMEOUT_S)))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def worker_options(settings: Settings) -> dict[str, Any]:
    return {
        "connection": worker_redis_url(settings.redis_url),
        "concurrency": settings.worker_concurrency,
        "lockDuration": settings.worker_lock_ms,
        "stalledInterval": settings.worker_stalled_ms,
        "maxStalledCount": settle.MAX_INTERRUPTIONS,
        "runRetryDelay": 1000,
        "autorun": False,
        "removeOnComplete": {"count": 1000},
        "removeOnFail": {"count": 5000},
    }


async def _watch_queue(queue: Queue, metrics: Metrics) -> None:
    while True:
        with contextlib.suppress(Exception):
            counts = await asyncio.wait_for(queue.getJobCounts(*QUEUE_STATES), 2.0)
            for state in QUEUE_STATES:
                metrics.queue_depth.labels(state).set(counts.get(state, 0))
        await asyncio.sleep(5)


async def run_worker(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then finish the jobs in hand and stop."""
    metrics = Metrics(settings.app_version)
    start_http_server(settings.worker_metrics_port, addr="127.0.0.1", registry=metrics.registry)
    pool, redis, s3 = (
        db.make_pool(settings.database_url),
        make_redis(settings.redis_url),
        storage.make_client(settings),
    )
    await pool.open(wait=False)
    if settings.create_buckets:
        with contextlib.suppress(Exception):
            await to_thread.run_sync(
                storage.ensure_buckets, s3, settings.raw_bucket, settings.processed_bucket
            )
    processor = Processor(settings, pool, redis, s3, metrics)
    worker = Worker(settings.queue_name, processor, worker_options(settings))
    worker.on(
        "failed",
        lambda job, err: log.warning(
            "job attempt failed", extra={"job": getattr(job, "id", None), "error": repr(err)}
        ),
    )
    depth_queue = Queue(settings.queue_name, {"connection": make_redis(settings.redis_url)})
    watcher = asyncio.create_task(_watch_queue(depth_queue, metrics))
    sweeper = asyncio.create_task(
        settle.sweep_forever(pool, depth_queue, settings.settle_after_s, processor.finish_failed)
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(worker.run())
    log.info(
        "worker started", extra={"queue": settings.queue_name, "concurrency": settings.worker_concurrency}
    )
    await asyncio.wait([runner, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    log.info("worker stopping")
    watcher.cancel()
    sweeper.cancel()
    await worker.close()
    await depth_queue.close()
    await redis.aclose()
    await pool.close()
