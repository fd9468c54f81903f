"""``python -m harness.stages.policy run|baseline [--root DIR] [--config FILE] [--out FILE]``: the
policy stage without the engine, for adopting it on an existing repo (record a baseline) and for
debugging. Both read the repo's harness.toml (``[paths]``, ``[policy]``) like ``harness verify``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from harness.config import HarnessConfig
from harness.errors import HarnessError
from harness.results import Status
from harness.stages.policy.baseline import record_baseline
from harness.stages.policy.engine import Collected, collect
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.stage import run_policy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.stages.policy")
    parser.add_argument("command", choices=("run", "baseline"))
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--config", type=Path, help="harness.toml or pyproject.toml (default: the root's)")
    parser.add_argument("--out", type=Path, default=Path("policies/baseline.json"),
                        help="baseline file to write, relative to the root (baseline only)")
    parser.add_argument("--baseline", type=Path, help="fail only on failures not in this baseline (run only)")
    args = parser.parse_args(argv)
    try:
        options = _options(args)
        if args.command == "baseline":
            return _record(options, args.root / args.out)
        results, _ = run_policy(options)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        if result.status is not Status.PASSED or result.id == "EU-POLICY-INPUTS":
            print(f"{result.status.value:8} {result.severity.value:8} {result.id:20} {result.location}  "
                  f"{result.message}")
    failed = [r for r in results if r.status in (Status.FAILED, Status.ERROR)]
    print(f"{len(results)} results, {len(failed)} failed or errored")
    return 2 if any(r.status is Status.ERROR for r in results) else int(bool(failed))


def _options(args: argparse.Namespace) -> PolicyOptions:
    config = (HarnessConfig.from_path(args.config, root=args.root) if args.config
              else HarnessConfig.discover(args.root))
    options = PolicyOptions.from_config(config)
    return options if args.baseline is None else replace(options, baseline=args.baseline)


def _record(options: PolicyOptions, out: Path) -> int:
    """Record today's failures; refuse (exit 2) when nothing was scanned or inputs were unreadable,
    because an empty baseline would hide every failure of the first real run."""
    collected = collect(options)
    refusal = _refusal(collected, options)
    if refusal:
        print(f"error: {refusal}; no baseline written", file=sys.stderr)
        return 2
    baseline = record_baseline(collected.findings, out)
    print(f"recorded {len(baseline.fingerprints)} known failures in {baseline.path} "
          f"(checked {', '.join(collected.found)})")
    return 0


def _refusal(collected: Collected, options: PolicyOptions) -> str:
    if not collected.findings:
        dirs = ", ".join(str(p) for p in (options.terraform, *options.manifest_dirs))
        return (f"nothing to scan under {options.root} (looked in {dirs}; set [paths] terraform and "
                "manifests in harness.toml, or pass --config)")
    if collected.errors:
        where, message = collected.errors[0][1], collected.errors[0][2]
        return f"{len(collected.errors)} input(s) could not be read, e.g. {where}: {message}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
