"""The suite started from a background job (SIGINT ignored, as under ``nohup``/``trap '' INT``/CI)
still gives the children its tests start a working Ctrl-C (tests/conftest.py), so a test that
interrupts a child cannot wait forever for it (issue 12.9)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

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
