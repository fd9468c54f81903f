"""Running ``kubectl``/``kind``/``docker``/``helm``/``aws`` for a cluster target: bounded, in the
command's own process group (killed whole on timeout or Ctrl-C), output appended to a log kept as
evidence, a failure is one TargetError line naming the command and the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.errors import TargetError
from harness.services.process import stop_group


def run(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, timeout_s: float = 600.0,
        stdin: str | None = None, cwd: Path | None = None, log_stdout: bool = True) -> str:
    """Run one command to its end; its output is appended to ``log``. A non-zero exit, or the
    timeout (the whole process group is killed), is a TargetError naming the command.
    ``log_stdout=False`` for output that is a secret (a token, a registry password)."""
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        given = subprocess.PIPE if stdin is not None else subprocess.DEVNULL
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=out, cwd=cwd, stdin=given,
                                start_new_session=True, env={**os.environ, **(env or {})})
        try:
            stdout, _ = proc.communicate(stdin.encode() if stdin is not None else None, timeout=timeout_s)
        except BaseException:  # timeout, Ctrl-C: never leave the command's group running
            stop_group(proc, signal.SIGKILL)
            raise
        out.write(stdout if log_stdout else b"[stdout not logged: a secret]\n")
    if proc.returncode != 0:
        raise TargetError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} failed (exit {proc.returncode}); "
                          f"see {log}")
    return stdout.decode(errors="replace")



def down_after_failed_up(down: Callable[[], None], failure: BaseException) -> None:
    """Run ``down`` after ``up`` failed with ``failure``; a cleanup error (a leak, a cluster that
    would not delete) is reported with the original one instead of hiding it."""
    try:
        down()
    except Exception as cleanup:
        if isinstance(failure, Exception):
            raise TargetError(f"{failure}; and cleaning up: {cleanup}") from failure
        raise


__all__ = ["down_after_failed_up", "run"]
