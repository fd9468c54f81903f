"""The load stage's side of the target's :class:`~harness.targets.base.LoadWorkers`: what a worker
elsewhere is handed (:func:`load_files`), how a failed worker stops the run (:func:`raise_failures`)
and how a run ends whatever happened (:func:`end_run`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from harness.errors import StageError
from harness.targets.base import LoadFiles, LoadWorkers

HERE = Path(__file__).parent
WORKER_FILES = ("locustfile.py", "shapes.py")  # what a worker elsewhere needs: the locustfile loads shapes.py
FAILURE_POLL_S = 5.0
Reap = Callable[[subprocess.Popen[bytes]], None]


def load_files(config: str) -> LoadFiles:
    """The locustfile, the modules beside it that it loads, and the run's config: for workers elsewhere."""
    return LoadFiles({n: (HERE / n).read_text(encoding="utf-8") for n in WORKER_FILES}, config)


def raise_failures(name: str, workers: LoadWorkers) -> None:
    """A :class:`StageError` naming the workers that failed, if any did."""
    failed = workers.failures()
    if failed:
        raise StageError(f"locust run {name!r}: {len(failed)} load worker(s) failed ({workers.where}): "
                         + "; ".join(failed[:5]))


def end_run(proc: subprocess.Popen[bytes] | None, workers: LoadWorkers | None, config_path: Path,
            failure: BaseException | None, reap: Reap) -> None:
    """Master reaped, the tokens' file gone, the workers released, whatever happened. A release
    that fails while another error propagates is told with it, not instead of it (a Ctrl-C stays
    the interrupt it was, with a note)."""
    try:
        if proc is not None:
            reap(proc)
    finally:
        config_path.unlink(missing_ok=True)
    if workers is None:
        return
    try:
        workers.release()
    except Exception as cleanup:
        if failure is None:
            raise
        if not isinstance(failure, Exception):
            failure.add_note(f"and releasing the load workers ({workers.where}): {cleanup}")
            return
        raise StageError(f"{failure}; and releasing the load workers: {cleanup}") from failure


__all__ = ["FAILURE_POLL_S", "WORKER_FILES", "end_run", "load_files", "raise_failures"]
