"""`harness up --target local` -> ready, median of N runs (goal: median <= 10 s with real Terraform).

Ready = the moment `harness up --json FILE` has written FILE (after every readiness probe passed,
i.e. after `terraform apply` of terraform/envs/local and `terraform output`). Each run is then
stopped with SIGINT and the time to a clean exit (which includes `terraform destroy` and the leak
check) is recorded too. The target's own timings (`in_terraform_apply`, `in_postgres`, ...) show
what dominates. Terraform needs its providers: TF_PLUGIN_DIR (./dev sets it from the image's
mirror) or Terraform's own CLI config.

    .venv/bin/python benchmarks/bench_up.py [--runs 5] [--target local]
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

ROOT = Path(__file__).resolve().parents[1]


def harness_command() -> list[str]:
    exe = Path(sys.executable).with_name("harness")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "harness.cli"]


def one_run(target: str, timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        env_file = Path(tmp) / "up.json"
        started = time.monotonic()
        proc = subprocess.Popen([*harness_command(), "up", "--target", target, "--json", str(env_file)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            while not _written(env_file):
                if proc.poll() is not None:
                    error = proc.stderr.read() if proc.stderr else ""
                    raise SystemExit(f"harness up exited with {proc.returncode}: {error}")
                if time.monotonic() - started > timeout:
                    raise SystemExit(f"not ready after {timeout:.0f}s")
                time.sleep(0.02)
            ready = time.monotonic() - started
            timings = json.loads(env_file.read_text()).get("extra", {}).get("timings_s", {})
            stop = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=600)
            inner = {f"in_{k}": v for k, v in timings.items()}
            return {"ready_s": ready, "down_s": time.monotonic() - stop, **inner}
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stderr:
                proc.stderr.close()


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
    args = parser.parse_args()
    runs = []
    for index in range(args.runs):
        result = one_run(args.target, args.timeout)
        runs.append(result)
        print(f"run {index + 1}: ready {result['ready_s']:.2f}s, down {result['down_s']:.2f}s  "
              + " ".join(f"{k[3:]}={v}" for k, v in result.items() if k.startswith("in_")), flush=True)
    ready = [r["ready_s"] for r in runs]
    print(json.dumps({
        "target": args.target, "runs": args.runs, "ready_median_s": round(statistics.median(ready), 3),
        "ready_min_s": round(min(ready), 3), "ready_max_s": round(max(ready), 3),
        "down_median_s": round(statistics.median(r["down_s"] for r in runs), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
