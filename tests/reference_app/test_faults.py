"""Outages of PostgreSQL, Redis and S3, and a worker killed mid-job.

Each test restores what it broke; they run in one session with the other tests on purpose (the app
must heal without restarts).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from harness.services import MotoService, PostgresService, RedisService
from tests.reference_app import samples
from tests.reference_app.app import AppProcesses, Client, SseEvent
from tests.reference_app.test_refusals import raw_keys

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_for(probe: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout}s")


def ready(app: AppProcesses) -> bool:
    try:
        return httpx.get(app.base_url + "/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def row(pg: PostgresService, upload_id: str) -> dict[str, Any]:
    with psycopg.connect(pg.url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT state, attempts, completions, failure_reason FROM uploads WHERE id = %s",
                    (upload_id,))
        found = cur.fetchone()
    assert found is not None
    return found


def row_count(pg: PostgresService) -> int:
    with psycopg.connect(pg.url) as conn:
        found = conn.execute("SELECT count(*) FROM uploads").fetchone()
    return int(found[0]) if found else 0


def assert_503(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "service_unavailable" and dependency in error["message"]


def test_postgres_outage(easy_upload: AppProcesses, alice: Client, postgres_service: PostgresService,
                         moto_service: MotoService) -> None:
    keys = raw_keys(moto_service)
    postgres_service.stop()
    try:
        assert_503(alice.upload("pg.txt", b"during outage\n", "text/plain"), "postgresql")
        assert_503(alice.http.get("/api/uploads"), "postgresql")
        readiness = httpx.get(easy_upload.base_url + "/readyz", timeout=10)
        assert readiness.status_code == 503 and readiness.json()["checks"]["postgresql"] != "ok"
        assert httpx.get(easy_upload.base_url + "/healthz").status_code == 200
        assert raw_keys(moto_service) == keys
    finally:
        postgres_service.start()
    wait_for(lambda: ready(easy_upload), what="ready after PostgreSQL returned")
    created = alice.upload("pg.txt", b"after outage\n", "text/plain")
    assert created.status_code == 201
    assert alice.wait_final(created.json()["id"])[-1].event == "completed"


def test_redis_outage(easy_upload: AppProcesses, alice: Client, redis_service: RedisService,
                      moto_service: MotoService, postgres_service: PostgresService) -> None:
    keys, rows = raw_keys(moto_service), row_count(postgres_service)
    redis_service.stop()
    try:
        # The object streamed fine and the row was written, but the job could not be queued:
        # everything is rolled back, nothing half-made remains.
        assert_503(alice.upload("r.png", samples.png(), "image/png"), "redis")
        assert raw_keys(moto_service) == keys and row_count(postgres_service) == rows
        assert httpx.get(easy_upload.base_url + "/readyz", timeout=10).json()["checks"]["redis"] != "ok"
    finally:
        redis_service.start()
    wait_for(lambda: ready(easy_upload), what="ready after Redis returned")
    created = alice.upload("r.png", samples.png(), "image/png")
    assert created.status_code == 201, created.text
    assert alice.wait_final(created.json()["id"], timeout=60)[-1].event == "completed"


def test_s3_outage(easy_upload: AppProcesses, alice: Client, moto_service: MotoService,
                   postgres_service: PostgresService) -> None:
    rows = row_count(postgres_service)
    moto_service.stop()
    try:
        assert_503(alice.upload("s.pdf", samples.pdf(), "application/pdf"), "s3")
        assert row_count(postgres_service) == rows
        assert httpx.get(easy_upload.base_url + "/readyz", timeout=10).json()["checks"]["s3"] != "ok"
    finally:
        moto_service.start()
    wait_for(lambda: ready(easy_upload), what="ready after S3 returned")
    keys = raw_keys(moto_service)
    created = alice.upload("s.pdf", samples.pdf(), "application/pdf")
    assert created.status_code == 201
    assert alice.wait_final(created.json()["id"])[-1].event == "completed"
    assert len(raw_keys(moto_service) - keys) == 1


@pytest.fixture
def slow_worker_only(easy_upload: AppProcesses) -> Iterator[AppProcesses]:
    """Swap the session worker for none (tests start their own slow ones); restore it afterwards."""
    for worker in easy_upload.workers:
        worker.stop()
    easy_upload.workers.clear()
    yield easy_upload
    for worker in easy_upload.workers:
        worker.stop()
    easy_upload.workers.clear()
    easy_upload.start_worker()


def first_progress(client: Client, upload_id: str) -> Iterator[SseEvent]:
    events = client.events(upload_id, timeout=60)
    for event in events:
        if event.event == "progress" or event.data.get("state") == "processing":
            break
    return events


def test_worker_killed_mid_job_completes_exactly_once(slow_worker_only: AppProcesses, alice: Client,
                                                      postgres_service: PostgresService) -> None:
    doomed = slow_worker_only.start_worker(WORKER_STEP_DELAY_MS="1500")
    upload_id = alice.upload("k.jpg", samples.jpeg(), "image/jpeg").json()["id"]
    rest = first_progress(alice, upload_id)
    doomed.kill()  # SIGKILL to the process group: no cleanup, the job lock just expires
    assert row(postgres_service, upload_id)["state"] == "processing"
    slow_worker_only.start_worker()
    later = [e for e in rest if e.event in ("completed", "failed")]
    assert [e.event for e in later][:1] == ["completed"]
    wait_for(lambda: row(postgres_service, upload_id)["state"] == "completed", what="completed row")
    final = row(postgres_service, upload_id)
    assert final["completions"] == 1 and final["attempts"] >= 2
    again = alice.wait_final(upload_id, timeout=5)
    assert [e.event for e in again] == ["completed"]


def test_transient_s3_failure_in_the_worker_is_retried(slow_worker_only: AppProcesses, alice: Client,
                                                       moto_service: MotoService,
                                                       postgres_service: PostgresService) -> None:
    slow_worker_only.start_worker(WORKER_STEP_DELAY_MS="2000")
    upload_id = alice.upload("t.csv", samples.csv_bytes(), "text/csv").json()["id"]
    # The worker announces the job, then waits 2 s before downloading: S3 is gone by then.
    rest = first_progress(alice, upload_id)
    moto_service.stop()
    time.sleep(5.0)  # longer than botocore's own retries, so the job attempt itself fails
    moto_service.start()
    assert [e.event for e in rest if e.event in ("completed", "failed")][:1] == ["completed"]
    final = row(postgres_service, upload_id)
    assert final["state"] == "completed" and final["completions"] == 1 and final["attempts"] >= 2
