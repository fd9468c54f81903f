"""Run by test_suite_signals.py only (not collected on its own: no ``test_`` prefix)."""

from __future__ import annotations

import subprocess
import sys


def test_a_child_of_a_test_gets_a_default_sigint() -> None:
    code = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True"
