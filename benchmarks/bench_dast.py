"""Wall time and request counts of the dast stage per profile, against the local target.

Runs ``harness verify --target local --stages dast --profile P`` for each profile and reads the
run's results.json: stage wall time, Schemathesis requests and wall time, responses the header check
saw, ZAP status, and what failed.

    .venv/bin/python benchmarks/bench_dast.py [--profiles pr,nightly] [--target local]
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


def harness_command() -> list[str]:
    exe = Path(sys.executable).with_name("harness")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "harness.cli"]


def one_profile(profile: str, target: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dast-") as reports:
        started = time.monotonic()
        done = subprocess.run([*harness_command(), "verify", "--target", target, "--stages", "dast",
                               "--profile", profile, "--reports", reports, "--plain"],
                              cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        record = json.loads(next(Path(reports).glob("*/results.json")).read_text())
    results = {r["id"]: r for r in record["results"]}
    st = results.get("DAST-schemathesis", {})
    headers = results.get("DAST-HDR-10038", {})
    return {
        "profile": profile, "exit": done.returncode, "wall_s": round(wall, 1),
        "stage_s": round(sum(s["duration_s"] for s in record["stages"]), 1),
        "schemathesis_requests": st.get("measured", {}).get("requests"),
        "schemathesis_s": st.get("measured", {}).get("wall_s"),
        "max_examples": st.get("measured", {}).get("max_examples"),
        "header_responses": headers.get("measured", {}).get("responses_checked"),
        "zap": results.get("DAST-zap", {}).get("status"),
        "failed": sorted(r["id"] for r in record["results"] if r["status"] == "failed"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="pr,nightly")
    parser.add_argument("--target", default="local")
    args = parser.parse_args()
    for profile in args.profiles.split(","):
        print(json.dumps(one_profile(profile.strip(), args.target)), flush=True)


if __name__ == "__main__":
    main()
