"""Run the reference app as real processes against the session's services, and talk to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.services import ManagedProcess, free_port

PLANTED_APP = Path(__file__).resolve().parents[1] / "fixtures" / "planted" / "app"


@dataclass
class SseEvent:
    event: str
    id: str | None
    data: dict[str, Any]


@dataclass
class AppProcesses:
    """The API and worker processes plus the environment they were started with."""

    env: dict[str, str]
    workdir: Path
    api_port: int = field(default_factory=free_port)
    api: ManagedProcess | None = None
    workers: list[ManagedProcess] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def command(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "easy_upload", *args], env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"easy_upload {args} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    def _healthy(self) -> bool:
        return _answers(f"{self.base_url}/healthz")

    def start_api(self) -> ManagedProcess:
        self.api = ManagedProcess(
            "easy-upload-api",
            [sys.executable, "-m", "easy_upload", "api", "--port", str(self.api_port)],
            env=self.env, log_path=self.workdir / "api.log", ready=self._healthy,
        ).start(timeout=30)
        return self.api

    def start_worker(self, **extra_env: str) -> ManagedProcess:
        n = len(self.workers)
        port = free_port()
        env = {**self.env, "WORKER_METRICS_PORT": str(port), **extra_env}
        worker = ManagedProcess(f"easy-upload-worker-{n}", [sys.executable, "-m", "easy_upload", "worker"],
                                env=env, log_path=self.workdir / f"worker-{n}-{port}.log",
                                ready=lambda: _answers(f"http://127.0.0.1:{port}/metrics"))
        worker.start(timeout=30)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for proc in [*self.workers, *([self.api] if self.api else [])]:
            proc.stop(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def app_env(pg_url: str, redis_url: str, s3_env: dict[str, str], queue: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST"))}
    env.update(s3_env)
    env.update({
        "DATABASE_URL": pg_url, "REDIS_URL": redis_url, "CREATE_BUCKETS": "1",
        "RAW_BUCKET": "raw-uploads", "PROCESSED_BUCKET": "processed-uploads",
        "TOKEN_SIGNING_KEY": "test-signing-key", "APP_VERSION": "test-1",
        "MAX_UPLOAD_BYTES": str(12 * 1024 * 1024), "UPLOAD_PART_BYTES": str(5 * 1024 * 1024),
        "QUEUE_NAME": queue, "WORKER_CONCURRENCY": "2", "WORKER_LOCK_MS": "2000",
        "WORKER_STALLED_MS": "1000", "JOB_BACKOFF_MS": "300", "JOB_ATTEMPTS": "6", "SSE_HEARTBEAT_S": "1",
        "LOG_LEVEL": "INFO", "CORS_ORIGINS": "https://allowed.example",
    })
    return env


def planted_env(variants: str) -> dict[str, str]:
    """Settings that run the app with the named fixes reverted (tests/fixtures/planted/app)."""
    if not variants:
        return {}
    path = os.pathsep.join(filter(None, [str(PLANTED_APP), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "PLANTED_APP_VARIANTS": variants}


class Client:
    """A thin API client with one user's bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def upload(self, filename: str, payload: bytes, content_type: str = "application/octet-stream"
               ) -> httpx.Response:
        return self.http.post("/api/uploads", files={"file": (filename, payload, content_type)})

    def events(self, upload_id: str, *, timeout: float = 30, **headers: str) -> Iterator[SseEvent]:
        with self.http.stream("GET", f"/api/uploads/{upload_id}/events", headers=headers,
                              timeout=timeout) as response:
            assert response.status_code == 200, response.read()
            yield from parse_sse(response.iter_lines(), deadline=time.monotonic() + timeout)

    def wait_final(self, upload_id: str, timeout: float = 60) -> list[SseEvent]:
        deadline, seen = time.monotonic() + timeout, []
        for event in self.events(upload_id, timeout=timeout):
            seen.append(event)
            if event.event in ("completed", "failed") or time.monotonic() > deadline:
                break
        return seen

    def close(self) -> None:
        self.http.close()


def parse_sse(lines: Iterator[str], deadline: float = float("inf")) -> Iterator[SseEvent]:
    """Parse a text/event-stream; comments (heartbeats) are skipped but bound the wait by ``deadline``."""
    event, ident, data = "message", None, list[str]()
    for line in lines:
        if time.monotonic() > deadline:
            raise TimeoutError("event stream did not finish in time")
        if not line:
            if data:
                yield SseEvent(event, ident, json.loads("\n".join(data)))
            event, ident, data = "message", None, list[str]()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "id":
                ident = value
            elif name == "data":
                data.append(value)
