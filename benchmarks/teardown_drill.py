"""Teardown drill: interrupt a harness run at random moments; count what it leaves behind.

For each signal (SIGINT as a terminal's Ctrl-C sends it: to the whole foreground process group;
SIGTERM as CI or `kill` sends it: to the process) and each of N random moments in [0, window]:
start the command with a unique marker in its environment and a private TMPDIR, send the signal,
wait for it to exit, then count

  processes      still alive and carrying the marker (every child inherits it, in any session)
  ports          TCP sockets still listening that belong to those processes
  temp dirs      directories left in the private TMPDIR (files are listed, not counted: lark,
                 the HCL parser's engine, keeps a grammar cache file there on purpose)

Goal: 0 / 0 / 0 every time. The default command is `harness verify --target local --stages
functional` once the functional stage exists, else `harness up --target local` (stand up, wait).

    .venv/bin/python benchmarks/teardown_drill.py [--runs 10] [--seed 1] [--command "..."]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
MARKER_VAR = "HARNESS_LEAK_MARKER"


def default_command() -> list[str]:
    exe = str(Path(sys.executable).with_name("harness"))
    if importlib.util.find_spec("harness.stages.functional") is not None:
        return [exe, "verify", "--target", "local", "--stages", "functional"]
    return [exe, "up", "--target", "local"]


def marked(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get(MARKER_VAR) == marker:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def listening_ports(pids: set[int]) -> list[int]:
    return sorted({
        c.laddr[1] for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.pid in pids and c.laddr
    })


def drill_once(
    command: list[str], signum: signal.Signals, delay: float, exit_timeout: float
) -> dict[str, Any]:
    marker = uuid.uuid4().hex
    tmpdir = Path(tempfile.mkdtemp(prefix="drill-tmp-"))
    tmpdir.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    env = {**os.environ, MARKER_VAR: marker, "TMPDIR": str(tmpdir)}
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(delay)
    finished_first = proc.poll() is not None
    if not finished_first:
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C reaches the terminal's whole foreground group
        else:
            proc.send_signal(signum)
    try:
        code = proc.wait(timeout=exit_timeout)
        hung = False
    except subprocess.TimeoutExpired:
        hung, code = True, None
    exited_after = time.monotonic() - started - delay
    time.sleep(0.3)  # let the kernel finish closing sockets of processes that just died
    left = marked(marker)
    pids = {p.pid for p in left}
    result: dict[str, Any] = {
        "signal": signum.name, "delay_s": round(delay, 2), "exit_code": code, "hung": hung,
        "finished_before_signal": finished_first, "exit_after_signal_s": round(exited_after, 2),
        "processes": len(left), "ports": len(listening_ports(pids)),
        "temp_dirs": len([p for p in tmpdir.iterdir() if p.is_dir()]),
        "temp_dir_names": sorted(p.name for p in tmpdir.iterdir() if p.is_dir()),
        # files are informational: e.g. lark's grammar cache (.lark_cache_*.tmp) is a per-TMPDIR cache
        "temp_files": sorted(p.name for p in tmpdir.iterdir() if not p.is_dir()),
        "leftover_names": sorted({p.name() for p in left}),
    }
    for leftover in left:  # clean up after a failed drill so the next one starts clean
        try:
            os.killpg(leftover.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            leftover.kill()
    if hung:
        proc.kill()
        proc.wait()
    shutil.rmtree(tmpdir, ignore_errors=True)
    return result


def measure_window(command: list[str]) -> float:
    """How long the command takes to become ready (up) or to finish (verify), plus a margin."""
    with tempfile.TemporaryDirectory(prefix="drill-window-") as tmp:
        Path(tmp).chmod(0o755)
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env={**os.environ, "TMPDIR": tmp}, start_new_session=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("up;"):  # `harness up` is ready and waits for a signal
                proc.send_signal(signal.SIGINT)
                break
        elapsed = time.monotonic() - started
        proc.wait(timeout=300)
        proc.stdout.close()
    return elapsed * 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description="interrupt harness runs at random moments")
    parser.add_argument("--runs", type=int, default=10, help="random moments per signal")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--window", type=float, default=None, help="seconds (default: measured once)")
    parser.add_argument("--command", default=None, help="default: harness verify ... / harness up ...")
    parser.add_argument("--exit-timeout", type=float, default=120)
    parser.add_argument("--signals", default="SIGINT,SIGTERM", help="comma-separated, e.g. SIGINT")
    args = parser.parse_args()
    command = shlex.split(args.command) if args.command else default_command()
    window = args.window or measure_window(command)
    rng = random.Random(args.seed)
    print(f"command: {shlex.join(command)}; window {window:.1f}s", flush=True)
    results = []
    for signum in (signal.Signals[name.strip()] for name in args.signals.split(",")):
        for _ in range(args.runs):
            result = drill_once(command, signum, rng.uniform(0.0, window), args.exit_timeout)
            results.append(result)
            print(json.dumps(result), flush=True)
    totals = {key: sum(int(r[key]) for r in results) for key in ("processes", "ports", "temp_dirs", "hung")}
    clean = sum(1 for r in results if not (r["processes"] or r["ports"] or r["temp_dirs"] or r["hung"]))
    print(json.dumps({"runs": len(results), "clean_runs": clean, "leftover_totals": totals}))
    sys.exit(0 if clean == len(results) else 1)


if __name__ == "__main__":
    main()
