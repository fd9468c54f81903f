"""Run by test_suite_signals.py only: a test in an xdist worker that starts a service child, records
both pids and sleeps, deaf to the interrupt execnet sends when the controller goes away (as a test
blocked on a child that ignores SIGINT is, see issue 12)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from harness.services.process import ManagedProcess


def test_sleeps_in_a_worker(tmp_path: Path) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    child = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
                           log_path=tmp_path / "sleeper.log").start()
    Path(os.environ["HARNESS_TEST_PID_FILE"]).write_text(f"{os.getpid()} {child.pid}", encoding="utf-8")
    time.sleep(120)
