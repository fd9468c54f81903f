"""How many requests per CPU-second one Locust process generates here (FastHttpUser, our flows).

Runs the load stage's own locustfile against a tiny aiohttp stand-in of the API on 127.0.0.1, so
the figure is the generator's cost, not the app's. Usage::

    python benchmarks/bench_load_locust.py [--users 20] [--seconds 15] [--processes 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.stages.load.runner import run_locust  # noqa: E402
from harness.stages.load.shapes import build_stages  # noqa: E402
from tests.harness.stages.load.fake_app import FakeApp  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    app = FakeApp().start()
    try:
        with tempfile.TemporaryDirectory() as out:
            run = run_locust(
                "bench",
                host=app.url,
                tokens=["t"],
                out_dir=Path(out),
                processes=args.processes,
                stages=build_stages(
                    {
                        "type": "soak",
                        "users": args.users,
                        "duration_s": args.seconds,
                        "spawn_rate": args.users,
                    }
                ),
                extra={"wait_s": [0.0, 0.01]},
            )
    finally:
        app.stop()
    http = run.flows["http"]
    print(
        json.dumps(
            {
                "users": args.users,
                "processes": args.processes,
                "seconds": args.seconds,
                "http_requests": http.requests,
                "rps": round(http.rps, 1),
                "locust_cpu_s": round(run.cpu_seconds, 2),
                "rps_per_core": round(run.rps_per_core or 0, 1),
                "peak_process_cpu_pct": round(run.peak_process_cpu, 1),
                "cpu_bound": run.cpu_bound,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
