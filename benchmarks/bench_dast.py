"""Requests, time and findings of the dast stage per profile, on the planted-flaw app and its twin.

For each app and profile: ``harness verify --target existing:<env> --stages dast --profile P``
against ``tests/harness/stages/dast/vulnerable_api.py`` (``weak``: twelve planted flaws; ``clean``:
none), read back from results.json and evidence/dast/run.json: wall time, requests sent by
Schemathesis and by the harness' own checks, the planted flaws named, what failed. Ratios are
against the pr profile of the same app in the same run. ``--target local`` runs the reference app.

    .venv/bin/python benchmarks/bench_dast.py [--apps weak,clean] [--profiles pr,nightly]
                                              [--nightly-seconds 300] [--repeat 1] [--target local]

The nightly profile fuzzes until its time budget; ``--nightly-seconds`` caps it for a bench run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness.stages.dast.test_vulnerable_app import PLANTED  # noqa: E402
from tests.harness.stages.dast.vulnerable_server import Served, serve  # noqa: E402

CONFIG = """
[dast]
exclude_operations = ["GET /createdb"]
slow_response_s = 0.4
zap_path = "/nonexistent/zap.sh"
[dast.profiles.nightly]
max_seconds = {nightly}
"""


def harness_command() -> list[str]:
    exe = Path(sys.executable).with_name("harness")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "harness.cli"]


def one_run(app: str, profile: str, target: str, nightly_s: int, work: Path) -> dict[str, Any]:
    config = work / "harness.toml"
    config.write_text(CONFIG.format(nightly=nightly_s))
    reports = work / f"reports-{app}-{profile}"
    served: AbstractContextManager[Served | None] = (
        nullcontext() if app == "reference" else serve(app, work / app)
    )
    with served as server:
        spec = target if server is None else f"existing:{server.env_file}"
        started = time.monotonic()
        done = subprocess.run(
            [
                *harness_command(),
                "verify",
                "--config",
                str(config),
                "--root",
                str(ROOT),
                "--target",
                spec,
                "--stages",
                "dast",
                "--profile",
                profile,
                "--reports",
                str(reports),
                "--plain",
                "--no-bundle",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
        createdb = server.createdb_calls() if server else 0
    run_dir = next(reports.glob("*/results.json")).parent
    return _figures(app, profile, done.returncode, wall, run_dir, createdb)


def _figures(app: str, profile: str, code: int, wall: float, run_dir: Path, createdb: int) -> dict[str, Any]:
    record = json.loads((run_dir / "results.json").read_text())
    results = {r["id"]: r for r in record["results"]}
    facts = json.loads((run_dir / "evidence/dast/run.json").read_text())
    st = facts["tools"].get("schemathesis", {})
    failed = sorted(rid for rid, r in results.items() if r["status"] == "failed")
    named = sum(1 for rid, _ in PLANTED.values() if results.get(rid, {}).get("status") == "failed")
    return {
        "app": app,
        "profile": profile,
        "exit": code,
        "wall_s": round(wall, 1),
        "stage_s": round(sum(s["duration_s"] for s in record["stages"]), 1),
        "schemathesis_requests": st.get("requests"),
        "harness_requests": facts.get("harness_probe_requests", 0) + int(st.get("harness_probe_requests", 0)),
        "schemathesis_s": st.get("wall_s"),
        "stopped": st.get("stopped"),
        "seed": facts.get("seed"),
        "planted_named": f"{named}/{len(PLANTED)}" if app == "weak" else None,
        "failed": failed,
        "skipped": sum(1 for r in results.values() if r["status"] == "skipped"),
        "createdb_calls": createdb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="weak,clean", help="weak, clean (or 'reference' with --target)")
    parser.add_argument("--profiles", default="pr,nightly")
    parser.add_argument("--nightly-seconds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=1, help="runs per app and profile (medians)")
    parser.add_argument("--target", default="local", help="for --apps reference: the target to verify")
    args = parser.parse_args()
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-dast-") as work:
        for app in args.apps.split(","):
            for profile in args.profiles.split(","):
                for _ in range(args.repeat):
                    row = one_run(app.strip(), profile.strip(), args.target, args.nightly_seconds, Path(work))
                    rows.setdefault((row["app"], row["profile"]), []).append(row)
                    print(json.dumps(row), flush=True)
    _ratios(rows)


def _ratios(rows: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    """Medians per app and profile, and each profile against the same app's pr run."""
    for (app, profile), runs in rows.items():
        base = rows.get((app, "pr"))
        medians = {
            k: statistics.median(float(r[k] or 0) for r in runs)
            for k in ("wall_s", "schemathesis_requests", "harness_requests")
        }
        line = {"app": app, "profile": profile, **{f"median_{k}": v for k, v in medians.items()}}
        if base and profile != "pr":
            for key in medians:
                pr = statistics.median(float(r[key] or 0) for r in base)
                line[f"{key}_vs_pr"] = round(medians[key] / pr, 2) if pr else None
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
