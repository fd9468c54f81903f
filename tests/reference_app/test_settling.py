"""Every failed upload reaches its final state within a bound, with a reason a user may read.

Each behaviour is also run with its planted variant (tests/fixtures/planted/app), which must show
the defect the fix removed: that is what keeps the variants honest for the harness checks.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import botocore.exceptions
import psycopg
import pytest
import redis.exceptions
from bullmq import Queue

from easy_upload.errors import ProcessingError
from easy_upload.failures import GENERIC_REASON, RowNotVisible, classify
from easy_upload.settle import INTERRUPTED_REASON
from harness.services import PostgresService, RedisService
from tests.reference_app import hostile
from tests.reference_app.app import AppProcesses, Client, planted_env
from tests.reference_app.conftest import AppFactory, user

UNSAFE_TEXT = ("0x", "Error(", "<_io", "Traceback", "/tmp", "site-packages")


def _client_error(status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": str(status)}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(("exc", "transient"), [
    (ProcessingError("not valid UTF-8: invalid start byte"), False),
    (psycopg.OperationalError("connection refused"), True),
    (redis.exceptions.ConnectionError("gone"), True),
    (_client_error(503), True),
    (_client_error(404), False),
    (RowNotVisible("not yet"), True),
    (TimeoutError(), True),
    (RecursionError("maximum recursion depth exceeded"), False),
    (ValueError("cannot identify image file <_io.BytesIO object at 0x7f9c0c1d2e80>"), False),
    (MemoryError(), False),
    (KeyError("/Root"), False),
])
def test_only_infrastructure_errors_are_transient(exc: Exception, transient: bool) -> None:
    failure = classify(exc)
    assert failure.transient is transient
    assert not any(bad in failure.reason for bad in UNSAFE_TEXT), failure.reason


def test_library_text_never_becomes_a_reason() -> None:
    assert classify(ValueError("<_io.BytesIO object at 0x7f9c>")).reason == GENERIC_REASON


def row(pg: PostgresService, upload_id: str) -> dict[str, Any]:
    with psycopg.connect(pg.url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT state, attempts, failure_reason FROM uploads WHERE id = %s", (upload_id,))
        found = cur.fetchone()
    assert found is not None
    return found


def settle_time(client: Client, upload_id: str, started: float, bound: float) -> tuple[float, dict[str, Any]]:
    """Seconds from ``started`` until the upload is final (or ``bound`` and the row as it is then)."""
    deadline = started + bound
    while True:
        found: dict[str, Any] = client.http.get(f"/api/uploads/{upload_id}").json()
        if found["state"] in ("completed", "failed") or time.monotonic() > deadline:
            return time.monotonic() - started, found
        time.sleep(0.1)


@pytest.mark.services
@pytest.mark.parametrize("planted", ["", "retry_everything"])
def test_bad_input_fails_at_once_with_a_user_safe_reason(app_factory: AppFactory, planted: str,
                                                         postgres_service: PostgresService) -> None:
    app = app_factory(planted, JOB_BACKOFF_MS="100", JOB_ATTEMPTS="4")
    mallory = user(app, "mallory")
    try:
        started = time.monotonic()
        upload_id = mallory.upload("deep.json", hostile.deep_json(), "application/json").json()["id"]
        elapsed, final = settle_time(mallory, upload_id, started, bound=20)
        attempts = row(postgres_service, upload_id)["attempts"]
        big = mallory.upload("big.json", hostile.big_int_json(), "application/json").json()["id"]
        _, big_final = settle_time(mallory, big, time.monotonic(), bound=20)
    finally:
        mallory.close()
    if planted:  # the defect: four attempts at a file that can never pass, and Python's own text
        assert final["state"] == "failed" and attempts == 4
        assert "RecursionError(" in final["failure_reason"]
        assert big_final["state"] == "failed" and "ValueError(" in big_final["failure_reason"]
        return
    assert final["state"] == "failed" and attempts == 1, (final, attempts)
    assert final["failure_reason"] == "invalid JSON: nested too deeply"
    assert elapsed < 5, f"settled after {elapsed:.1f} s"
    assert big_final["state"] == "completed"  # a 5000-digit integer is valid JSON


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("planted", ["", "bullmq_short_socket_timeout"])
def test_a_retry_due_after_8_s_runs_on_time_without_other_traffic(redis_service: RedisService,
                                                                  planted: str) -> None:
    """The queue library's blocking wait outlasted its 5 s socket timeout (see worker.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.reference_app.retry_timing", redis_service.url, "8000", "5"],
        env={**_env(), **planted_env(planted)}, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    timing = json.loads(done.stdout)
    if planted:
        assert timing["ran_s"] is None, timing  # not within 5 s of being due: waits for traffic
    else:
        assert timing["ran_s"] is not None and timing["ran_s"] < 8 + 2, timing


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def wait_attempts(pg: PostgresService, upload_id: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while row(pg, upload_id)["attempts"] < count:
        assert time.monotonic() < deadline, f"attempt {count} never started"
        time.sleep(0.1)


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.parametrize("planted", ["", "no_settle"])
def test_a_job_that_keeps_killing_its_worker_settles(app_factory: AppFactory, planted: str,
                                                     postgres_service: PostgresService) -> None:
    """Three starts, each SIGKILLed mid-job (what an OOM kill looks like): the row must not stay
    `processing`; BullMQ fails such a job after its last tolerated stall without telling anyone."""
    app = app_factory(planted, workers=0, WORKER_LOCK_MS="2000", WORKER_STALLED_MS="1000",
                      SETTLE_AFTER_S="60")
    mallory = user(app, "mallory")
    try:
        started = time.monotonic()
        upload_id = mallory.upload("a.png", hostile.png_bomb(64, 64), "image/png").json()["id"]
        for attempt in (1, 2, 3):
            worker = app.start_worker(WORKER_STEP_DELAY_MS="4000")
            wait_attempts(postgres_service, upload_id, attempt)
            time.sleep(0.5)  # the guard decides within milliseconds of the start; processing takes 12 s
            if row(postgres_service, upload_id)["state"] != "processing":
                break  # settled at the start of this attempt
            worker.kill()
        app.start_worker()
        elapsed, final = settle_time(mallory, upload_id, started, bound=30)
    finally:
        mallory.close()
    if planted:
        assert final["state"] == "processing", final
        return
    assert final["state"] == "failed" and final["failure_reason"] == INTERRUPTED_REASON, final
    print(f"settled {elapsed:.1f} s after the upload")


@pytest.mark.services
@pytest.mark.parametrize("planted", ["", "no_settle"])
def test_the_sweep_fails_an_upload_whose_job_is_gone(app_factory: AppFactory, planted: str) -> None:
    app = app_factory(planted, workers=0, WORKER_LOCK_MS="1000", SETTLE_AFTER_S="2")
    mallory = user(app, "mallory")
    try:
        upload_id = mallory.upload("lost.txt", b"lost\n", "text/plain").json()["id"]
        asyncio.run(_remove_job(app, upload_id))
        started = time.monotonic()
        app.start_worker()
        elapsed, final = settle_time(mallory, upload_id, started, bound=10)
    finally:
        mallory.close()
    if planted:
        assert final["state"] == "queued", final
        return
    assert final["state"] == "failed" and "the job was lost" in final["failure_reason"], final
    assert elapsed < 2 + 2 + 3
    print(f"settled {elapsed:.1f} s after the worker started")


async def _remove_job(app: AppProcesses, upload_id: str) -> None:
    queue = Queue(app.env["QUEUE_NAME"], {"connection": app.env["REDIS_URL"]})
    try:
        await queue.remove(upload_id)
    finally:
        await queue.close()
