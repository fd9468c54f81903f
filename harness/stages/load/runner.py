"""Runs Locust in its own process(es) and reads back what it measured.

``python -m locust -f harness/stages/load/locustfile.py --headless``; distributed mode (one master
bound to 127.0.0.1 on a free port, N workers) when N > 1: the workers are the target's
(:class:`~harness.targets.base.LoadWorkers`: processes here, a Job's pods on a cluster), or, when the
target offers none, Locust's own ``--processes N`` on this machine. A worker the target reports
failed stops the run with a :class:`StageError` naming it; the workers are released on every way
out (success, failure, Ctrl-C). The master aggregates the workers' statistics (Locust's CSV and HTML
report are totals: they show no per-worker figures), so what each worker sent comes from the
master's ``worker_report`` events (``workers.json``, :attr:`LocustRun.workers`). Locust's
``*_stats.csv``, ``*_stats_history.csv``, ``*_failures.csv``, the HTML report and its log stay in the
run's evidence. While it runs we sample the Locust processes' CPU (psutil): the run is *CPU-bound*
when Locust warned about it, or when its busiest process used more than 90 % of a core; the result
then says so, and RPS per core is measured here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.app_profile import load_app_profile
from harness.errors import StageError
from harness.services.process import stop_group
from harness.stages.load.shapes import ShapeStage, duration, empty_summary
from harness.stages.load.slo import FlowStats, parse_history_csv, parse_stats_csv
from harness.stages.load.workers import FAILURE_POLL_S, end_run, load_files, raise_failures
from harness.targets.base import LoadWorkers

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
CPU_BOUND_PERCENT = 90.0
HERE = "this machine"  # the Locust processes are the runner's own children
EXPECT_WORKERS_S = 120  # how long the master waits for remote workers to connect (pods: image pull)


@dataclass(slots=True)
class LocustRun:
    name: str
    returncode: int
    wall_s: float
    files: dict[str, Path]
    flows: dict[str, FlowStats]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    samples: list[dict[str, Any]] = field(default_factory=list)  # from the on_tick sampler
    cpu_seconds: float = 0.0
    peak_process_cpu: float = 0.0
    cpu_bound: bool = False
    processes: int = 1
    host_cpu: list[float] = field(default_factory=list)  # whole-machine CPU percent, one per tick
    where: str = HERE  # where the Locust workers ran
    workers: dict[str, dict[str, int]] = field(default_factory=dict)  # worker id -> its figures

    @property
    def host_cpu_mean(self) -> float:
        return sum(self.host_cpu) / len(self.host_cpu) if self.host_cpu else 0.0

    @property
    def rps_per_core(self) -> float | None:
        """Requests per CPU-second of the Locust processes in our process table; None when the
        workers are the target's (their CPU time is not ours to see: only their CPU percent)."""
        total = self.flows.get("http")
        if total is None or self.cpu_seconds <= 0 or self.where != HERE:
            return None
        return total.requests / self.cpu_seconds


def locust_version() -> str:
    """``Locust 2.x.y``: what produced the load figures (for ``proven_on``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"Locust {version('locust')}"
    except PackageNotFoundError:
        return "Locust (version unknown)"


def merge_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary from every Locust process' own (distributed mode writes one per worker)."""
    merged = empty_summary()
    for part in parts:
        merged["accepted"] += part.get("accepted", [])
        for key in ("rejected", "completed", "failed"):
            merged[key] += int(part.get(key, 0))
        for key in ("versions", "tracks"):
            for name, n in part.get(key, {}).items():
                merged[key][name] = merged[key].get(name, 0) + int(n)
    return merged


def locust_command(prefix: Path, host: str, processes: int, master_port: int,
                   remote_workers: int = 0) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html", "--only-summary",
        "--exit-code-on-error", "0", "--stop-timeout", "10", "--logfile", f"{prefix}.log",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(master_port),
        "--master-host", "127.0.0.1", "--master-port", str(master_port),
    ]
    if remote_workers:  # workers elsewhere dial this master (through a tunnel: it binds loopback)
        cmd += ["--master", "--expect-workers", str(remote_workers), "--expect-workers-max-wait",
                str(EXPECT_WORKERS_S)]
    elif processes > 1:
        cmd += ["--processes", str(processes)]
    return cmd


def run_locust(
    name: str,
    *,
    host: str,
    tokens: list[str],
    stages: list[ShapeStage],
    out_dir: Path,
    mix: dict[str, int] | None = None,
    sizes: dict[str, Any] | None = None,
    processes: int = 1,
    workers: LoadWorkers | None = None,
    remote_workers: int = 0,
    master_port: int | None = None,
    on_tick: Callable[[], dict[str, Any]] | None = None,
    tick_s: float = 1.0,
    margin_s: float = 60.0,
    extra: dict[str, Any] | None = None,
) -> LocustRun:
    """Run one load shape to its end (bounded by its duration + ``margin_s``).

    ``workers``: the target's, started for ``processes`` > 1 and released however the run ends.
    ``remote_workers``: the master waits for that many workers started by the caller (e.g. through
    :class:`~harness.targets.cluster.tunnel.Dialer`) on ``master_port`` instead of forking its own."""
    from harness.services import free_port

    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / name
    summary_dir = out_dir / f"{name}-summary"
    config = {
        "tokens": tokens,
        "stages": [s.to_dict() for s in stages],
        "mix": mix or {},
        "sizes": sizes or {},
        "summary_dir": str(summary_dir),
        **(extra or {}),
    }
    if "app" not in config:  # the stage passes the run's app profile; tests get the current project's
        config["app"] = load_app_profile(Path("scenarios")).to_dict()
    config_path = out_dir / f"{name}-config.json"
    config_path.write_text(json.dumps(config))
    config_path.chmod(0o600)  # holds bearer tokens
    env = {**os.environ, "HARNESS_LOAD_CONFIG": str(config_path), "PYTHONUNBUFFERED": "1"}
    port = master_port or free_port()
    run = LocustRun(name, -1, 0.0, {}, {}, [], {}, processes=remote_workers or processes)
    remote = workers if workers is not None and processes > 1 else None
    started = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        if remote is not None:
            run.where = remote.where
            host, remote_workers = remote.start(processes, port, load_files(json.dumps(config))), processes
            margin_s += EXPECT_WORKERS_S
        with open(f"{prefix}.out", "wb") as out:
            proc = subprocess.Popen(
                locust_command(prefix, host, processes, port, remote_workers),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _watch(proc, run, started + duration(stages) + margin_s, on_tick, tick_s, remote)
    except BaseException as failure:
        end_run(proc, remote, config_path, failure, _reap)
        raise
    end_run(proc, remote, config_path, None, _reap)
    assert proc is not None  # started, or the try above raised
    run.returncode, run.wall_s = proc.returncode, time.monotonic() - started
    return _collect(run, prefix, summary_dir)


def _watch(
    proc: subprocess.Popen[bytes],
    run: LocustRun,
    deadline: float,
    on_tick: Callable[[], dict[str, Any]] | None,
    tick_s: float,
    workers: LoadWorkers | None = None,
) -> None:
    import psutil

    cpu: dict[int, float] = {}
    tracked: dict[int, Any] = {}
    checked = time.monotonic()
    while proc.poll() is None:
        if time.monotonic() > deadline:
            raise StageError(f"locust run {run.name!r} did not finish by its deadline; stopped")
        if workers is not None and time.monotonic() - checked > FAILURE_POLL_S:
            raise_failures(run.name, workers)
            checked = time.monotonic()
        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            for p in tree:
                tracked.setdefault(p.pid, p)
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
                run.peak_process_cpu = max(run.peak_process_cpu, tracked[p.pid].cpu_percent(None))
        except psutil.Error:
            pass
        run.host_cpu.append(psutil.cpu_percent(None))
        if on_tick is not None:
            run.samples.append({"ts": time.time(), **on_tick()})
        time.sleep(tick_s)
    run.cpu_seconds = sum(cpu.values())
    if workers is not None:  # a worker that never came up is why a master gives up waiting
        raise_failures(run.name, workers)


def _reap(proc: subprocess.Popen[bytes]) -> None:
    stop_group(proc, grace_s=15)  # Locust writes its CSVs on SIGTERM: give it the time


def _collect(run: LocustRun, prefix: Path, summary_dir: Path) -> LocustRun:
    files = {
        kind: Path(f"{prefix}{suffix}")
        for kind, suffix in (
            ("stats", "_stats.csv"),
            ("history", "_stats_history.csv"),
            ("failures", "_failures.csv"),
            ("html", ".html"),
            ("log", ".log"),
            ("output", ".out"),
        )
    }
    run.files = {k: p for k, p in files.items() if p.exists()}
    if "stats" not in run.files:
        tail = files["output"].read_text(errors="replace")[-2000:] if files["output"].exists() else ""
        raise StageError(f"locust run {run.name!r} wrote no statistics (exit {run.returncode}): {tail}")
    run.flows = parse_stats_csv(run.files["stats"].read_text())
    if "history" in run.files:
        run.history = parse_history_csv(run.files["history"].read_text())
    parts = [json.loads(p.read_text()) for p in sorted(summary_dir.glob("summary-*.json"))]
    run.summary = merge_summaries(parts)
    if (summary_dir / "workers.json").exists():
        run.workers = json.loads((summary_dir / "workers.json").read_text())
    log = "".join(run.files[k].read_text(errors="replace") for k in ("log", "output") if k in run.files)
    # a worker's CPU as its heartbeats report it (Locust's master also logs "exceeded cpu threshold")
    workers_peak = max((w.get("peak_cpu_pct", 0) for w in run.workers.values()), default=0)
    run.peak_process_cpu = max(run.peak_process_cpu, float(workers_peak))
    bound = ("CPU usage above", "exceeded cpu threshold")
    run.cpu_bound = any(b in log for b in bound) or run.peak_process_cpu > CPU_BOUND_PERCENT
    return run


__all__ = [
    "LOCUSTFILE",
    "LocustRun",
    "locust_command",
    "locust_version",
    "merge_summaries",
    "run_locust",
]
