"""Shared by the Easy Upload benchmarks: the app on real services (the harness' launchers)."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.services import ManagedProcess, MotoService, PostgresService, RedisService, free_port

MIB = 1024 * 1024


@dataclass
class AppStack:
    """PostgreSQL, Redis and moto, plus the API and worker processes of Easy Upload."""

    workdir: Path
    env: dict[str, str]
    moto: MotoService
    api_port: int = field(default_factory=free_port)
    procs: list[ManagedProcess] = field(default_factory=list)
    token: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def api(self) -> ManagedProcess:
        return self.procs[0]

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "easy_upload", *args],
            env=self.env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        return done.stdout.strip()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _process(name: str, argv: list[str], env: dict[str, str], log: Path, url: str) -> ManagedProcess:
    return ManagedProcess(name, argv, env=env, log_path=log, ready=lambda: _answers(url)).start()


def _start_app(stack: AppStack, workers: int) -> None:
    stack.run("migrate")
    stack.token = stack.run("create-user", "bench")
    app = [sys.executable, "-m", "easy_upload"]
    stack.procs.append(_process("api", [*app, "api", "--port", str(stack.api_port)], stack.env,
                                stack.workdir / "api.log", f"{stack.base_url}/healthz"))
    for n in range(workers):
        port = free_port()
        env = {**stack.env, "WORKER_METRICS_PORT": str(port)}
        stack.procs.append(_process(f"worker-{n}", [*app, "worker"], env, stack.workdir / f"worker-{n}.log",
                                    f"http://127.0.0.1:{port}/metrics"))


@contextlib.contextmanager
def app_stack(*, workers: int = 1, **settings: str) -> Iterator[AppStack]:
    """Everything up (fresh, in a temporary directory), torn down on exit."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        work = Path(tmp)
        pg, redis = PostgresService(work / "pg"), RedisService(work / "redis")
        moto = MotoService(work / "moto")
        stack: AppStack | None = None
        try:
            for service in (pg, redis, moto):
                service.start()
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(moto.client_env())
            env.update({"DATABASE_URL": pg.url, "REDIS_URL": redis.url, "CREATE_BUCKETS": "1",
                        "TOKEN_SIGNING_KEY": "bench", "APP_VERSION": "bench", "LOG_LEVEL": "WARNING"})
            env.update(settings)
            stack = AppStack(work, env, moto)
            _start_app(stack, workers)
            yield stack
        finally:
            for proc in reversed(stack.procs if stack else []):
                proc.stop(timeout=10)
            keep = Path(tempfile.gettempdir()) / "bench-app-logs"  # for a post-mortem of the last run
            keep.mkdir(exist_ok=True)
            for log in work.glob("*.log"):
                shutil.copy(log, keep / log.name)
            for service in (moto, redis, pg):
                service.cleanup()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={statistics.median(values) * 1000:.1f} ms "
        f"p95={percentile(values, 95) * 1000:.1f} ms max={max(values) * 1000:.1f} ms"
    )


def now() -> float:
    return time.time()
