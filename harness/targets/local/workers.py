"""The local target's :class:`~harness.targets.base.LoadWorkers`: Locust worker processes here.

Each worker is ``python -m locust --worker`` in its own process group, dialling the master on
127.0.0.1, and runs the files it was handed (:class:`~harness.targets.base.LoadFiles`, written to a
private temporary directory), not the checkout's: what a worker elsewhere (a pod) gets is what runs
here, so a file the locustfile needs and the load stage does not hand over fails here first.
A worker that exits non-zero (or is killed) while the run goes on is a failure naming its index,
pid, exit and log. ``release()`` stops every group and removes the directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.targets.base import LoadFiles


class LocalWorkers:
    """N Locust worker processes on this machine; their output goes to ``log_dir``."""

    def __init__(self, log_dir: Path, api_url: str) -> None:
        self.log_dir, self.api_url = log_dir, api_url
        self._procs: list[subprocess.Popen[bytes]] = []
        self._dir: Path | None = None

    @property
    def where(self) -> str:
        return "Locust worker processes on this machine"

    def start(self, count: int, master_port: int, files: LoadFiles) -> str:
        self._dir = Path(tempfile.mkdtemp(prefix="harness-load-"))  # 0700: the config holds tokens
        for name, text in files.files.items():
            (self._dir / name).write_text(text, encoding="utf-8")
        config = self._dir / "config.json"
        config.write_text(files.config, encoding="utf-8")
        config.chmod(0o600)
        argv = [sys.executable, "-m", "locust", "--worker", "-f", str(self._dir / files.locustfile),
                "--master-host", "127.0.0.1", "--master-port", str(master_port),
                "--exit-code-on-error", "0"]  # failed requests are the master's to count, not an exit
        env = {**os.environ, "HARNESS_LOAD_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            with open(self._log(index), "ab") as out:
                self._procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, start_new_session=True))
        return self.api_url

    def failures(self) -> list[str]:
        return [f"worker process {i} (pid {p.pid}) exited {p.returncode}; see {self._log(i)}"
                for i, p in enumerate(self._procs) if p.poll() not in (None, 0)]

    def release(self) -> None:
        for proc in self._procs:
            _stop(proc)
        self._procs.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _log(self, index: int) -> Path:
        return self.log_dir / f"locust-worker-{index}.log"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the worker's group, SIGKILL it if it lingers (a worker mid-request may)."""
    for signum, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


__all__ = ["LocalWorkers"]
