"""Wall and CPU time of the policy stage vs plain ``checkov -d`` on the same tree, in the same run,
on any repo (``--root``): the stage reads the repo's harness.toml, or finds the conventional layout
without one, exactly as ``harness verify`` does.

Three commands run in fresh processes (imports included), interleaved so machine load hits them
alike: ``checkov -d`` with the stage's frameworks, skipping the folders the stage never reads
(virtualenvs, caches, ``[policy] exclude``), offline; the stage alone (``python -m
harness.stages.policy run``); and ``harness verify --stages policy`` (the stage plus the engine and
every report). Prints each repetition, the medians, the ratio stage/checkov (goal <= 1.00) of wall
and of CPU time (user+sys of the process tree, which a busy shared machine distorts much less than
wall time), and report writing apart (verify minus the stage alone)::

    .venv/bin/python benchmarks/bench_policy.py [--root .] [--repetitions 5]

Measured figures are in the CHANGELOG entry of the change that last moved them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.config import HarnessConfig
from harness.stages.policy.inputs import PRUNED_DIRS
from harness.stages.policy.options import PolicyOptions

OFFLINE = {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}


def stage_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "harness.stages.policy", "run", "--root", str(root)]


def verify_command(root: Path, reports: Path) -> list[str]:
    harness = Path(sys.executable).with_name("harness")
    return [str(harness), "verify", "--stages", "policy", "--root", str(root), "--reports", str(reports),
            "--plain", "--no-bundle"]


def checkov_command(root: Path) -> list[str]:
    """checkov over what the stage reads: its frameworks, minus the folders it prunes or excludes."""
    options = PolicyOptions.from_config(HarnessConfig.discover(root))
    checkov = Path(sys.executable).with_name("checkov")
    skipped = sorted(PRUNED_DIRS) + list(options.exclude)
    skips = [arg for name in skipped for arg in ("--skip-path", name)]
    return [str(checkov), "-d", str(root), "--framework", *options.frameworks, *skips, "--skip-download",
            "--download-external-modules", "false", "--quiet", "--compact", "-o", "json"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the whole process tree) of one run."""
    cpu_before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **OFFLINE}, check=False)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if done.returncode not in (0, 1):  # 1 = findings; anything else means the tool broke
        raise SystemExit(f"{command[0]} exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
    return elapsed, cpu


def _median(runs: list[tuple[float, float]], index: int) -> float:
    return statistics.median(r[index] for r in runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    stage: list[tuple[float, float]] = []
    cli: list[tuple[float, float]] = []
    verify: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as reports:
        timed(stage_command(root))  # warm the file cache and .pyc files for all three
        for rep in range(1, args.repetitions + 1):
            cli.append(timed(checkov_command(root)))
            stage.append(timed(stage_command(root)))
            verify.append(timed(verify_command(root, Path(reports))))
            print(f"rep {rep}: checkov -d {cli[-1][0]:6.2f}s wall {cli[-1][1]:6.2f}s cpu   "
                  f"policy stage {stage[-1][0]:6.2f}s wall {stage[-1][1]:6.2f}s cpu   "
                  f"verify {verify[-1][0]:6.2f}s wall", flush=True)
    print(f"root {root}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for index, label in ((0, "wall"), (1, "cpu")):
        ratio = _median(stage, index) / _median(cli, index)
        print(f"median {label}: checkov -d {_median(cli, index):.2f}s, "
              f"policy stage {_median(stage, index):.2f}s, ratio {ratio:.2f} (goal <= 1.00)")
    print(f"report writing and engine (verify - stage alone, median wall): "
          f"{_median(verify, 0) - _median(stage, 0):+.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
