"""Locust requests per second with 1 vs N worker processes, same run, interleaved, medians.

Two modes:

* default: the load stage's own locustfile against a tiny aiohttp stand-in of the API on
  127.0.0.1, so the figure is the generator's cost, not the app's;
* ``--target local``: the real local target (``harness.targets.get_target("local")``: real
  PostgreSQL, Redis, the AWS emulator with terraform/envs/local applied, the app's replicas) is
  stood up once, every repeat runs against its API with its test users' tokens, and it is torn down
  at the end (also on failure and Ctrl-C). N > 1 workers are the target's own
  (``Environment.load_workers``: worker processes started by the local target), as the load stage
  runs them; with the fake app, Locust's ``--processes N``.

Worker counts are interleaved (1, 2, 1, 2, ...) so that drift of the shared machine hits both alike.
Usage::

    python benchmarks/bench_load_locust.py [--target local] [--workers 1,2] [--repeats 3]
                                           [--users 20] [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.stages.load.runner import LocustRun, run_locust  # noqa: E402
from harness.stages.load.shapes import build_stages  # noqa: E402
from harness.targets.base import LoadWorkers  # noqa: E402


@contextlib.contextmanager
def load_host(target: str | None) -> Iterator[tuple[str, list[str], LoadWorkers | None]]:
    """(API URL, tokens, its workers) of the fake app or of a target stood up for the benchmark."""
    if target is None:
        from tests.harness.stages.load.fake_app import FakeApp

        app = FakeApp().start()
        try:
            yield app.url, ["t"], None
        finally:
            app.stop()
        return
    from harness.config import HarnessConfig
    from harness.targets import get_target, running

    with tempfile.TemporaryDirectory(prefix="bench-load-") as evidence, running(
        get_target(target, HarnessConfig.discover(ROOT), evidence_dir=Path(evidence))
    ) as env:
        yield env.api_url, [u.token for u in env.users], env.load_workers


def one_run(host: str, tokens: list[str], pool: LoadWorkers | None, workers: int, users: int,
            seconds: float) -> LocustRun:
    with tempfile.TemporaryDirectory() as out:
        return run_locust(
            "bench", host=host, tokens=tokens, out_dir=Path(out), processes=workers, workers=pool,
            margin_s=120,
            # (almost) no think time: closed-loop users offer as much as the generator can send
            extra={"wait_s": [0.0, 0.01]},
            stages=build_stages({"type": "soak", "users": users, "duration_s": seconds, "spawn_rate": users}),
        )


def figures(run: LocustRun) -> dict[str, Any]:
    http, everything = run.flows["http"], run.flows.get("Aggregated")
    return {"requests": http.requests, "failures": http.failures, "rps": round(http.rps, 1),
            "p95_ms": everything.percentile(95) if everything else None,
            "locust_cpu_s": round(run.cpu_seconds, 2), "cpu_bound": run.cpu_bound}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="stand this target up and load its API (e.g. local); "
                                         "default: a fake app")
    parser.add_argument("--workers", default="1", help="comma-separated worker counts to compare (e.g. 1,2)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    with load_host(args.target) as (host, tokens, pool):
        for _ in range(args.repeats):
            for n in counts:
                runs[n].append(figures(one_run(host, tokens, pool, n, args.users, args.seconds)))
                print(json.dumps({"workers": n, **runs[n][-1]}), flush=True)
    medians = {n: statistics.median(r["rps"] for r in rows) for n, rows in runs.items()}
    base = medians[counts[0]]
    ratios = {n: round(m / base, 2) if base else None for n, m in medians.items()}
    print(json.dumps({"target": args.target or "fake app", "users": args.users, "seconds": args.seconds,
                      "repeats": args.repeats, "median_rps": medians, "ratio_vs_first": ratios}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
