"""Wall time of the policy stage vs plain ``checkov -d`` on the same tree, in the same run.

Both run in fresh processes (imports included), interleaved so machine load hits both alike; the
CLI gets the same frameworks and skips the same folders the stage never reads (virtualenvs, caches,
tests). Prints each repetition, the medians and the ratio (goal: stage <= 1.3 x checkov alone)::

    .venv/bin/python benchmarks/bench_policy.py [--root .] [--repetitions 5]
"""

from __future__ import annotations

import argparse
import os
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


def timed(command: list[str]) -> float:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1 = findings; anything else means the tool broke
        raise SystemExit(f"{command[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    stage: list[float] = []
    cli: list[float] = []
    timed(stage_command(root))  # warm the file cache and .pyc files for both
    for rep in range(1, args.repetitions + 1):
        cli.append(timed(checkov_command(root)))
        stage.append(timed(stage_command(root)))
        print(f"rep {rep}: checkov -d {cli[-1]:6.2f}s   policy stage {stage[-1]:6.2f}s", flush=True)
    stage_median, cli_median = statistics.median(stage), statistics.median(cli)
    print(f"median: checkov -d {cli_median:.2f}s, policy stage {stage_median:.2f}s, "
          f"ratio {stage_median / cli_median:.2f} (goal <= 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
