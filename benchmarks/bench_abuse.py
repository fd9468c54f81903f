"""Issue 17's sweep, heavier than the shipped abuse scenarios: every hostile case at its sizes, and
one user's streams past redis-py's pool of 100 per replica; on the hardened app or planted variants.

    .venv/bin/python benchmarks/bench_abuse.py [--planted per_stream_pubsub,no_user_limits]
        [--streams 240] [--cases webp-bomb:8000,png-bomb:8000,...]

Stands up the local target (the planted app from tests/fixtures/planted/app with ``--planted``),
runs two generated scenarios through the functional stage's runner and prints, per hostile case,
the largest growth of one worker replica (sampled through the Control), the final state and the
settle time; then the stream count of the first refusal and what the other user got meanwhile.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from harness.stages.functional import Scenario, run_scenarios
from harness.targets import TargetSettings
from harness.targets.lifecycle import running
from harness.targets.local import LocalTarget

ROOT = Path(__file__).resolve().parents[1]
CASES = ("webp-bomb:8000,png-bomb:8000,gif-bomb:8000,jpeg-cmyk-bomb:6000,jpeg-progressive-bomb:6000,"
         "webp-bomb:2900,png-bomb:6000,json-deep:100000,json-digits:5000,json-arrays:1800000,"
         "csv-long-line:16777216,pdf-pages:20000,pdf-pages:40000,pdf-actions:1")
EXPECT = {"budget": {"divide_by": "WORKER_CONCURRENCY"}, "settle": {"within_s": 120, "source": "sweep"},
          "status": [201, 400, 413, 415, 422, 500, 503]}


def hostile_scenario(cases: str) -> Scenario:
    steps = []
    for item in cases.split(","):
        case, _, size = item.partition(":")
        steps.append({"name": item, "hostile": {"case": case, "size": int(size or 1), "sample": "worker"},
                      "expect": EXPECT})
    data = {"name": "sweep-hostile", "exclusive": True, "continue_on_failure": True, "users": ["mallory"],
            "steps": steps}
    return Scenario.from_dict(data, "bench_abuse (hostile)")


def streams_scenario(count: int) -> Scenario:
    during = [{"upload": {"file": {"type": "text"}, "user": "bob"}, "expect": {"status": 201}},
              {"request": {"method": "GET", "path": "/readyz", "auth": "none"}, "expect": {"status": 200}}]
    steps = [{"action": {"scale": "worker", "replicas": 0}},
             {"upload": {"file": {"type": "text"}, "user": "alice"}, "as": "queued"},
             {"hold": {"streams": {"of": "queued", "user": "alice", "count": count}, "during": during},
              "expect": {"refused": 429}}]
    return Scenario.from_dict({"name": "sweep-streams", "steps": steps}, "bench_abuse (streams)")


def report(outcomes: dict[str, Any]) -> None:
    hostile = outcomes["sweep-hostile"]
    print("budget:", hostile.measured.get("memory_budget"))
    for record in hostile.steps:
        if "action" not in record:
            continue
        key = re.sub(r"[^a-z0-9]+", "_", str(record.get("name")))
        figures = {k.removeprefix(key + "_"): v for k, v in hostile.measured.items()
                   if k.startswith(key + "_")}
        print(f"{record.get('name')!s:30} rise {figures.get('rise_mib', '?'):>8} MiB  "
              f"{figures.get('state')!s:12} settle {figures.get('settle_s', '?'):>6} s  "
              f"{record['status']:7} {record.get('message', '')[:100]}")
    streams = outcomes["sweep-streams"]
    print("streams:", streams.status, json.dumps(streams.measured), streams.message[:300])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", default="")
    parser.add_argument("--streams", type=int, default=240)
    parser.add_argument("--cases", default=CASES)
    parser.add_argument("--run-dir", type=Path, default=None)
    args = parser.parse_args()
    planted = {"app_path": ROOT / "tests/fixtures/planted/app",
               "env": {"PLANTED_APP_VARIANTS": args.planted}} if args.planted else {}
    settings = TargetSettings.for_root(ROOT, run_dir=args.run_dir, ready_timeout_s=120, **planted)
    with running(LocalTarget(settings)) as env:
        report(run_scenarios(env, [hostile_scenario(args.cases), streams_scenario(args.streams)]))


if __name__ == "__main__":
    main()
