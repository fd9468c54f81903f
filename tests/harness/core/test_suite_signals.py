"""The suite started from a background job (SIGINT ignored, as under ``nohup``/``trap '' INT``/CI)
still gives the children its tests start a working Ctrl-C (tests/conftest.py), so a test that
interrupts a child cannot wait forever for it (issue 12.9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.services.process import DEATH_SIGNAL_SUPPORTED
from tests.fixtures.processes import spawned

ROOT = Path(__file__).resolve().parents[3]
PROBE = Path(__file__).with_name("data") / "signal_probe.py"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pytest(*extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *extra,
            str(PROBE)]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=_ignore_sigint)


def test_children_of_tests_get_a_default_sigint_when_the_suite_ignores_it() -> None:
    done = _pytest()
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_the_conftest_the_child_inherits_the_ignored_sigint() -> None:
    """The failure the conftest prevents: the same probe, without it, sees SIGINT ignored."""
    done = _pytest("--noconftest")
    assert done.returncode == 1 and "assert 'False' == 'True'" in done.stdout, done.stdout


@pytest.mark.skipif(not DEATH_SIGNAL_SUPPORTED, reason="PR_SET_PDEATHSIG is Linux only")
def test_xdist_workers_die_with_a_killed_controller(tmp_path: Path) -> None:
    """The lead saw workers and their services outlive a killed ``pytest -n 2``: the worker goes
    (execnet ends it), and the service it started goes with it (ManagedProcess's death signal)."""
    pid_file = tmp_path / "worker.pid"
    argv = [sys.executable, "-m", "pytest", "-q", "-n", "1", "-p", "no:randomly", "-p", "no:cacheprovider",
            str(Path(__file__).with_name("data") / "sleep_probe.py")]
    env = {**os.environ, "HARNESS_TEST_PID_FILE": str(pid_file)}
    with spawned(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as controller:
        deadline = time.monotonic() + 120
        while not pid_file.stat().st_size if pid_file.exists() else True:
            assert time.monotonic() < deadline and controller.poll() is None, "the probe never started"
            time.sleep(0.1)
        worker, service = (psutil.Process(int(pid)) for pid in pid_file.read_text(encoding="utf-8").split())
        controller.kill()  # no chance to tell its workers anything
        controller.wait(timeout=10)
        _, alive = psutil.wait_procs([worker, service], timeout=30)
        for process in alive:
            process.kill()
        assert not alive, f"outlived the killed controller: {alive}"
