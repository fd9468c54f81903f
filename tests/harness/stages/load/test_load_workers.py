"""Distributed Locust through the target's LoadWorkers, for real: a master on 127.0.0.1 and worker
processes the local target starts from the files it was handed. The master's aggregate is checked
against what each worker's reports carried (two observations of one run); a worker that dies is a
stage error naming it; the workers are gone afterwards, also on Ctrl-C."""

from __future__ import annotations

import csv
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.errors import StageError
from harness.results import Status
from harness.stages.load.runner import run_locust
from harness.stages.load.shapes import build_stages
from harness.stages.load.workers import WORKER_FILES, load_files
from harness.targets.base import LoadFiles, LoadWorkers
from harness.targets.local.workers import LocalWorkers
from tests.harness.stages.load.fake_app import FakeApp, describe

pytestmark = pytest.mark.slow
FAST = {"wait_s": [0.05, 0.1]}


@pytest.fixture
def app() -> Iterator[FakeApp]:
    app = FakeApp().start()
    yield app
    app.stop()


class Recording(LocalWorkers):
    """LocalWorkers that remembers its worker pids and temp dir (to check they are gone) and can
    SIGKILL one worker ``kill_after_s`` into the run, as a crash (or an OOM kill) would."""

    def __init__(self, log_dir: Path, api_url: str, kill_after_s: float | None = None) -> None:
        super().__init__(log_dir, api_url)
        self.kill_after_s = kill_after_s
        self.pids: list[int] = []
        self.dirs: list[Path] = []
        self.released = 0

    def start(self, count: int, master_port: int, files: LoadFiles) -> str:
        url = super().start(count, master_port, files)
        self.pids = [p.pid for p in self._procs]
        self.dirs = [self._dir] if self._dir else []
        if self.kill_after_s is not None:
            threading.Timer(self.kill_after_s, os.kill, (self.pids[0], signal.SIGKILL)).start()
        return url

    def release(self) -> None:
        self.released += 1
        super().release()


def _gone(workers: Recording) -> bool:
    return not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in workers.pids) and not any(d.exists() for d in workers.dirs)


def _aggregated_requests(stats_csv: Path) -> int:
    rows = list(csv.DictReader(stats_csv.read_text().splitlines()))
    return sum(int(r["Request Count"]) for r in rows if r["Name"] == "Aggregated")


def test_the_targets_workers_run_the_load_and_the_master_aggregates_them(
    app: FakeApp, tmp_path: Path
) -> None:
    workers = Recording(tmp_path / "logs", app.url)
    assert isinstance(workers, LoadWorkers)
    run = run_locust("dist", host="http://unused.invalid", tokens=["t-1"], out_dir=tmp_path / "out",
                     processes=2, workers=workers, margin_s=60, extra=FAST,
                     # > 20 s: a worker measures its CPU every 10 s (Locust's CPU_MONITOR_INTERVAL),
                     # and psutil's first cpu_percent() is always 0
                     stages=build_stages({"type": "soak", "users": 4, "duration_s": 22}))
    log = run.files["log"].read_text()
    assert run.returncode == 0 and run.flows["http"].requests > 0, log[-2000:]
    assert run.where == "Locust worker processes on this machine" and run.processes == 2
    # the workers used the URL the target gave, not the master's --host: the app saw the requests
    assert sum(app.statuses.values()) > 0
    # per worker (from the master's worker_report events) adds up to the master's aggregate
    assert len(run.workers) == 2 and all(w["requests"] > 0 for w in run.workers.values()), run.workers
    assert any(w["peak_cpu_pct"] > 0 for w in run.workers.values())  # from the workers' heartbeats
    assert run.rps_per_core is None  # their CPU time is not in our process table
    assert sum(w["requests"] for w in run.workers.values()) == run.flows["http"].requests
    assert run.flows["http"].requests < _aggregated_requests(run.files["stats"])  # FLOW rows left out
    # each worker's summary came back through the master (a pod could write no file of ours)
    assert len(list((tmp_path / "out" / "dist-summary").glob("summary-*.json"))) == 2
    assert run.summary["completed"] > 0
    assert workers.released == 1 and _gone(workers)


def test_a_worker_that_dies_is_a_stage_error_naming_it_and_nothing_is_left(
    app: FakeApp, tmp_path: Path
) -> None:
    workers = Recording(tmp_path / "logs", app.url, kill_after_s=3.0)
    with pytest.raises(StageError, match=r"worker process 0 \(pid \d+\) exited -9"):
        run_locust("dies", host=app.url, tokens=["t-1"], out_dir=tmp_path / "out", processes=2,
                   workers=workers, margin_s=60, extra=FAST,
                   stages=build_stages({"type": "soak", "users": 4, "duration_s": 60}))
    assert workers.released == 1 and _gone(workers)


def test_ctrl_c_mid_run_releases_the_workers(app: FakeApp, tmp_path: Path) -> None:
    workers = Recording(tmp_path / "logs", app.url)
    ticks = iter(range(1000))

    def interrupt() -> dict[str, object]:
        if next(ticks) == 3:
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        run_locust("ctrl-c", host=app.url, tokens=["t-1"], out_dir=tmp_path / "out", processes=2,
                   workers=workers, on_tick=interrupt, margin_s=60, extra=FAST,
                   stages=build_stages({"type": "soak", "users": 4, "duration_s": 60}))
    assert workers.released == 1 and _gone(workers)
    assert not (tmp_path / "out" / "ctrl-c-config.json").exists()  # the tokens' file too


def test_the_handed_files_are_what_a_worker_needs() -> None:
    files = load_files('{"tokens": []}')
    assert tuple(files.files) == WORKER_FILES and files.locustfile in files.files
    assert "shapes.py" in files.files["locustfile.py"]  # the one module it loads from beside itself


def test_the_stage_asks_the_environment_for_its_workers(app: FakeApp, tmp_path: Path) -> None:
    """No branch on the target's name: an environment that offers workers gets the load on them."""
    from dataclasses import replace

    from harness.config import HarnessConfig
    from harness.stages.base import StageContext
    from harness.stages.load import LoadStage
    from harness.targets.base import AwsEndpoint, Environment, TestUser

    scenarios = tmp_path / "scenarios" / "load"
    scenarios.mkdir(parents=True)
    describe(scenarios.parent)
    (scenarios / "quick.yaml").write_text(
        "id: quick\nkind: slo\nshape: {type: soak, users: 4, duration_s: 4}\nwait_s: [0.05, 0.1]\n"
        "slos:\n  - {id: SLO-error-ratio, error_ratio: 0.01}\n"
    )
    workers = Recording(tmp_path / "logs", app.url)
    env = Environment(target="anything", api_url="http://unused.invalid", web_url=app.url,
                      aws=AwsEndpoint(None, "us-east-1", "x", "y"), users=[TestUser("alice", "t-1")],
                      load_workers=workers)
    config = HarnessConfig.defaults(tmp_path)
    config = replace(config, load={**config.load, "processes": 2})
    ctx = StageContext(config=config, environment=env, run_dir=tmp_path / "run", profile="pr")
    results = {r.id: r for r in LoadStage().run(ctx)}
    generator = results["LOAD-quick-generator"]
    assert "Locust: 2 process(es), Locust worker processes on this machine (per worker:" in generator.message
    assert generator.measured["workers_where"] == workers.where and "rps_per_core" in generator.measured
    assert results["SLO-error-ratio"].status is Status.PASSED
    assert workers.released == 1 and _gone(workers)
