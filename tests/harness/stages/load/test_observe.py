"""The load stage's own observations against real processes on 127.0.0.1 (fake_replica.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.services import free_port
from harness.stages.load.observe import Observer, app_processes, served

HERE = Path(__file__).parent
MODULE = "shop_app"  # not the reference app's: the module comes from the app profile (processes.module)


class Replicas:
    """Starts fake replicas (each in its own process group) and kills them all at the end."""

    def __init__(self, root: Path) -> None:
        package = root / MODULE
        package.mkdir()
        shutil.copy(HERE / "fake_replica.py", package / "__main__.py")
        self.root, self.procs = root, list[subprocess.Popen[bytes]]()

    def start(self, component: str, version: str, database: str, **env: str) -> int:
        port = free_port()
        argv = [sys.executable, "-m", MODULE, component]
        argv += ["--host", "127.0.0.1", "--port", str(port)] if component == "api" else []
        environ = {
            **os.environ,
            "PYTHONPATH": str(self.root),
            "APP_VERSION": version,
            "DATABASE_URL": database,
            "WORKER_METRICS_PORT": str(port),
            **env,
        }
        self.procs.append(subprocess.Popen(argv, env=environ, start_new_session=True))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return port
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"fake {component} did not start")

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    fleet = Replicas(tmp_path)
    try:
        yield fleet
    finally:
        fleet.close()


def test_replicas_of_this_environment_are_found_in_the_process_table(replicas: Replicas) -> None:
    ports = [replicas.start("api", "v1", "db-a") for _ in range(2)]
    replicas.start("api", "v2", "db-a", FAKE_FORK="1")  # its forked child is not a second replica
    replicas.start("worker", "v1", "db-a")
    replicas.start("api", "v1", "db-b")  # another environment's
    seen = app_processes("db-a", MODULE)
    assert sorted((r.component, r.version) for r in seen) == [
        ("api", "v1"),
        ("api", "v1"),
        ("api", "v2"),
        ("worker", "v1"),
    ]
    assert {f"http://127.0.0.1:{p}/metrics" for p in ports} <= {r.metrics_url for r in seen}
    assert all(r.cpu_seconds is not None and r.key.isdigit() for r in seen)


def test_observer_counts_traffic_by_version_from_the_replicas_own_counters(replicas: Replicas) -> None:
    old = replicas.start("api", "v1", "db-a")
    httpx.get(f"http://127.0.0.1:{old}/x", timeout=5)  # before the scenario: not counted
    observer = Observer(lambda: app_processes("db-a", MODULE), {"api": 0.25}, period_s=0.1)
    observer.start()
    new = replicas.start("api", "v2", "db-a")  # a replica that starts during the scenario
    for _ in range(5):
        httpx.get(f"http://127.0.0.1:{old}/x", timeout=5)
        httpx.get(f"http://127.0.0.1:{new}/x", timeout=5)
    httpx.get(f"http://127.0.0.1:{new}/fail", timeout=5)
    httpx.get(f"http://127.0.0.1:{new}/burn", timeout=5)
    time.sleep(0.3)
    observer.stop()
    totals: dict[str, list[int]] = {}
    for _, by_version in observer.series.traffic:
        for version, (n, errors) in by_version.items():
            totals.setdefault(version, [0, 0])
            totals[version][0] += n
            totals[version][1] += errors
    assert totals == {"v1": [5, 0], "v2": [7, 1]}  # probes (/metrics) excluded, like the app's
    assert observer.series.versions_at_end("api") == {"v1": 1, "v2": 1}
    assert max(d for _, d in observer.series.demand("api")) > 50  # 0.3 s of CPU against 250m
    assert not observer.errors


def test_served_excludes_probes_and_counts_5xx() -> None:
    text = (
        'http_requests_total{route="/metrics",method="GET",status="200",version="v1"} 9\n'
        'http_requests_total{route="/api/uploads",method="GET",status="200",version="v1"} 4\n'
        'http_requests_total{route="/api/uploads",method="POST",status="503",version="v1"} 2\n'
    )
    assert served(text) == {"v1": (6, 2)}
