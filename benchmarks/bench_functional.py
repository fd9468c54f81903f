"""Wall time of the functional stage: scenarios serial vs concurrent, and the fault-drill figures.

Runs ``harness verify --stages functional`` on the local target once per concurrency setting (a
temporary config with ``[functional] concurrency = N``) and reads results.json: stage wall time,
per-scenario status and duration, and the invariants every fault drill measured.

    .venv/bin/python benchmarks/bench_functional.py [--concurrency 1,4] [--target local]

For pytest-xdist (one environment per worker)::

    time pytest tests/harness/stages/functional/test_scenarios.py --harness-target local -n 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DRILL_FIGURES = ("invariant_accepted", "invariant_rows", "invariant_completed",
                 "invariant_processed_objects", "invariant_duplicates", "invariant_orphans",
                 "invariant_max_attempts", "processing_when_acted", "recovered_s", "settled_s")


def harness_command() -> list[str]:
    exe = Path(sys.executable).with_name("harness")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "harness.cli"]


def one_run(concurrency: int, target: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-functional-") as tmp:
        config = Path(tmp) / "harness.toml"
        base = (ROOT / "harness.toml").read_text()
        config.write_text(base + f"\n[functional]\nconcurrency = {concurrency}\n")
        reports = Path(tmp) / "reports"
        began = time.monotonic()
        proc = subprocess.run([*harness_command(), "verify", "--root", str(ROOT), "--config", str(config),
                               "--target", target, "--stages", "functional", "--reports", str(reports),
                               "--plain"], cwd=ROOT, capture_output=True, text=True)
        wall = time.monotonic() - began
        record = json.loads(next(reports.glob("*/results.json")).read_text())
    stage = next(s for s in record["stages"] if s["name"] == "functional")
    results = record["results"]
    return {
        "concurrency": concurrency, "exit_code": proc.returncode, "command_wall_s": round(wall, 1),
        "stage_s": round(stage["duration_s"], 1), "counts": record["counts"],
        "scenarios": {r["id"]: (r["status"], round(r["duration_s"], 1)) for r in results},
        "drills": {r["id"]: {k: r["measured"].get(k) for k in DRILL_FIGURES if k in r["measured"]}
                   for r in results if r["id"].startswith("SCN-fault-")},
        "not_passed": {r["id"]: r["message"][:200] for r in results
                       if r["status"] not in ("passed", "skipped")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--target", default="local")
    args = parser.parse_args(argv)
    runs = [one_run(int(n), args.target) for n in args.concurrency.split(",")]
    print(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
