"""Wall time of the policy stage vs plain ``checkov -d`` on the same tree, in the same run.

Both run in fresh processes (imports included), interleaved so machine load hits both alike; the
CLI gets the same frameworks and skips the same folders the stage never reads (virtualenvs, caches,
tests). Prints each repetition, the medians and the ratios (goal: stage <= 1.3 x checkov alone) of
wall time and of CPU time (user+sys of the process tree, which a busy shared machine distorts
much less than wall time)::

    .venv/bin/python benchmarks/bench_policy.py [--root .] [--repetitions 5]

Last measured on this repo (2026-11-26, 2 shared cores, load average 11-19, checkov 3.3.30, 5 reps):
median wall checkov -d 41.5 s vs policy stage 44.3 s (ratio 1.07); median CPU 12.9 s vs 12.9 s (1.00).
Again at 05:41 UTC (load 8-11): wall 29.7 s vs 29.6 s (1.00); CPU 13.7 s vs 12.2 s (0.89).
The stage renders 6 kustomizations (4 overlays, argocd, karpenter: 124 objects), runs 30 own policies
and validates every object's schema on top of the same checkov frameworks.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

FRAMEWORKS = ["terraform", "kubernetes", "dockerfile", "github_actions", "secrets"]
SKIPPED = [".venv", "venv", "node_modules", ".tox", "reports", "tests", ".git", ".mypy_cache", ".ruff_cache"]


def stage_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "harness.stages.policy", "run", "--root", str(root)]


def checkov_command(root: Path) -> list[str]:
    checkov = Path(sys.executable).with_name("checkov")
    skips = [arg for name in SKIPPED for arg in ("--skip-path", name)]
    return [str(checkov), "-d", str(root), "--framework", *FRAMEWORKS, *skips, "--skip-download",
            "--download-external-modules", "false", "--quiet", "--compact", "-o", "json"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one run."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode not in (0, 1):  # 1 = findings; anything else means the tool broke
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    stage: list[tuple[float, float]] = []
    cli: list[tuple[float, float]] = []
    timed(stage_command(root))  # warm the file cache and .pyc files for both
    for rep in range(1, args.repetitions + 1):
        cli.append(timed(checkov_command(root)))
        stage.append(timed(stage_command(root)))
        print(f"rep {rep}: checkov -d {cli[-1][0]:6.2f}s wall {cli[-1][1]:6.2f}s cpu   "
              f"policy stage {stage[-1][0]:6.2f}s wall {stage[-1][1]:6.2f}s cpu", flush=True)
    for index, label in ((0, "wall"), (1, "cpu")):
        stage_median = statistics.median(s[index] for s in stage)
        cli_median = statistics.median(c[index] for c in cli)
        print(f"median {label}: checkov -d {cli_median:.2f}s, policy stage {stage_median:.2f}s, "
              f"ratio {stage_median / cli_median:.2f} (goal <= 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
