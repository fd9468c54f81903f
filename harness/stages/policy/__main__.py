"""``python -m harness.stages.policy run|baseline [--root DIR] [--out FILE]``: the policy stage
without the engine, for adopting it on an existing repo (record a baseline) and for debugging."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.results import Status
from harness.stages.policy.baseline import record_baseline
from harness.stages.policy.engine import collect
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.stage import run_policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.stages.policy")
    parser.add_argument("command", choices=("run", "baseline"))
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--out", type=Path, default=Path("policies/baseline.json"),
                        help="baseline file to write (baseline) or use (run --out ignored)")
    parser.add_argument("--baseline", type=Path, help="fail only on failures not in this baseline")
    args = parser.parse_args(argv)
    options = PolicyOptions.for_root(args.root, baseline=args.baseline)
    try:
        if args.command == "baseline":
            baseline = record_baseline(collect(options).findings, args.root / args.out)
            print(f"recorded {len(baseline.fingerprints)} known failures in {baseline.path}")
            return 0
        results, _ = run_policy(options)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if result.status is not Status.PASSED:
            print(f"{result.status.value:8} {result.severity.value:8} {result.id:20} {result.location}  "
                  f"{result.message}")
    failed = [r for r in results if r.status in (Status.FAILED, Status.ERROR)]
    print(f"{len(results)} results, {len(failed)} failed or errored")
    return 2 if any(r.status is Status.ERROR for r in results) else int(bool(failed))


if __name__ == "__main__":
    sys.exit(main())
