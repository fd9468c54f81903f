"""Last lines of defence for teardown: find our children that no handle knows of, and kill them."""

from __future__ import annotations

import contextlib
import os
import signal

import psutil

RUN_ID_VAR = "HARNESS_RUN_ID"  # every app process of a run carries it


def kill_strays(run_id: str) -> None:
    """Kill (with its group) every descendant whose environment carries ``run_id``, e.g. one forked
    by a ``Popen`` that a signal interrupted before it returned its handle."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if child.environ().get(RUN_ID_VAR) == run_id:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.kill()
                child.wait(timeout=5)


def kill_by_argument(argument: str, *, spare: int | None = None) -> None:
    """Kill descendants with ``argument`` on their command line (e.g. initdb's data dir)."""
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.pid != spare and argument in child.cmdline():
                child.kill()


__all__ = ["RUN_ID_VAR", "kill_by_argument", "kill_strays"]
