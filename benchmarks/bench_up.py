"""`harness up --target local` -> ready, median of N runs (goal: median <= 10 s with real Terraform).

Ready = the moment `harness up --json FILE` has written FILE (after every readiness probe passed,
i.e. once `terraform apply` of terraform/envs/local has written every output to the run's state;
the rest of the apply may still run). Each run is then stopped with SIGINT and the time to a clean
exit (which waits for the apply, then `terraform destroy` and the leak check) is recorded too.
Phases, from the target's own timings (`<run dir>/logs/timings.json`), in seconds since `up()`
began: terraform started, init done, first resource created, outputs usable, apply complete, app
ready. Terraform needs its providers: TF_PLUGIN_DIR (./dev sets it from the image's mirror) or
Terraform's own CLI config.

`--baseline DIR`: another checkout (e.g. `git clone /work/main /tmp/base`) measured in the same
session, runs alternating with this tree's, its code first on PYTHONPATH; the summary gives both
medians and their ratio.

    .venv/bin/python benchmarks/bench_up.py [--runs 5] [--target local] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# `harness` through its entry point, importable from PYTHONPATH (harness.cli has no __main__ guard).
BY_ENTRY_POINT = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def harness_command() -> list[str]:
    exe = Path(sys.executable).with_name("harness")
    return [str(exe)] if exe.exists() else BY_ENTRY_POINT


PHASES = {  # name in the summary -> how to get it from timings.json (seconds since up() began)
    "terraform_start": ("terraform_started_at",),
    "init_done": ("terraform_started_at", "terraform_init"),
    "first_resource": ("terraform_started_at", "terraform_first_resource"),
    "outputs_usable": ("terraform_started_at", "terraform_usable"),
    "apply_complete": ("terraform_started_at", "terraform_complete"),
}


def one_run(target: str, timeout: float, root: Path = ROOT) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        env_file = Path(tmp) / "up.json"
        started = time.monotonic()
        env = dict(os.environ)
        if root != ROOT:  # a baseline checkout: its code, not this tree's editable install
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        command = harness_command() if root == ROOT else BY_ENTRY_POINT
        proc = subprocess.Popen([*command, "up", "--target", target, "--json", str(env_file)],
                                cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        try:
            while not _written(env_file):
                if proc.poll() is not None:
                    error = proc.stderr.read() if proc.stderr else ""
                    raise SystemExit(f"harness up exited with {proc.returncode}: {error}")
                if time.monotonic() - started > timeout:
                    raise SystemExit(f"not ready after {timeout:.0f}s")
                time.sleep(0.02)
            ready = time.monotonic() - started
            extra = json.loads(env_file.read_text()).get("extra", {})
            stop = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=600)
            down = time.monotonic() - stop
            timings = _final_timings(root, extra)
            inner = {f"in_{k}": v for k, v in timings.items()}
            return {"ready_s": ready, "down_s": down, **inner, **_phases(timings)}
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr:
                proc.stderr.close()


def _final_timings(root: Path, extra: dict[str, Any]) -> dict[str, float]:
    """The target's timings after down() (background apply included) or, failing that, at ready."""
    run_dir = root / ".harness" / "runs" / str(extra.get("run_id", ""))
    try:
        return dict(json.loads((run_dir / "logs" / "timings.json").read_text()))
    except (OSError, ValueError):
        return dict(extra.get("timings_s", {}))


def _phases(timings: dict[str, float]) -> dict[str, float]:
    found = {}
    for name, keys in PHASES.items():
        if all(k in timings for k in keys):
            found[f"phase_{name}"] = round(sum(timings[k] for k in keys), 2)
    if "app_ready" in timings and "total" in timings:
        found["phase_app_ready"] = round(timings["total"], 2)
    return found


def _written(path: Path) -> bool:
    try:
        json.loads(path.read_text())
        return True
    except (OSError, ValueError):
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--target", default="local")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    args = parser.parse_args()
    trees = {"this": ROOT} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for index in range(args.runs):
        for name, root in (trees.items() if index % 2 == 0 else reversed(trees.items())):
            result = one_run(args.target, args.timeout, root)
            runs[name].append(result)
            print(f"{name} run {index + 1}: ready {result['ready_s']:.2f}s, down {result['down_s']:.2f}s  "
                  + " ".join(f"{k}={v}" for k, v in result.items() if k.startswith(("in_", "phase_"))),
                  flush=True)
    summary: dict[str, Any] = {"target": args.target, "runs": args.runs}
    for name, found in runs.items():
        summary[name] = _summary(found)
    if "baseline" in runs:
        summary["ready_ratio_this_to_baseline"] = round(
            summary["this"]["ready_median_s"] / summary["baseline"]["ready_median_s"], 3)
    summary |= {"load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    print(json.dumps(summary))


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    ready = [r["ready_s"] for r in runs]
    found = {"ready_median_s": round(statistics.median(ready), 3), "ready_min_s": round(min(ready), 3),
             "ready_max_s": round(max(ready), 3),
             "down_median_s": round(statistics.median(r["down_s"] for r in runs), 3)}
    for phase in sorted({k for r in runs for k in r if k.startswith("phase_")}):
        values = [r[phase] for r in runs if phase in r]
        found[f"{phase}_median_s"] = round(statistics.median(values), 2)
    return found


if __name__ == "__main__":
    main()
