"""Run ``vulnerable_api.py`` (weak or clean) as a process of its own, as a foreign API would be.

A fixture helper: the process gets its own process group and is killed with it, also when the test
fails; the environment file the ``existing`` target reads is written next to it (mode 0600).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    users: list[dict[str, str]]
    env_file: Path  # for --target existing:<env_file>
    createdb_log: Path

    def createdb_calls(self) -> int:
        return len(self.createdb_log.read_text().splitlines()) if self.createdb_log.exists() else 0


@contextmanager
def serve(variant: str, directory: Path, *, production: bool = False) -> Iterator[Served]:
    """The API on 127.0.0.1:<free port>; yields where it is and who its two users are."""
    directory.mkdir(parents=True, exist_ok=True)
    ready, log = directory / f"{variant}-ready.json", directory / f"{variant}-createdb.log"
    ready.unlink(missing_ok=True)  # a stale file would point at a server that is gone
    command = [
        sys.executable,
        "-m",
        "tests.harness.stages.dast.vulnerable_api",
        "--variant",
        variant,
        "--ready-file",
        str(ready),
        "--createdb-log",
        str(log),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        data = _wait_for(ready, process)
        env_file = directory / f"{variant}-env.json"
        env = {"target": "existing", "api_url": data["url"], "users": data["users"], "production": production}
        env_file.touch(mode=0o600)
        env_file.write_text(json.dumps(env), encoding="utf-8")
        yield Served(data["url"], data["users"], env_file, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _wait_for(ready: Path, process: subprocess.Popen[bytes], timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vulnerable_api exited with {process.returncode} before it was ready")
        if ready.is_file() and ready.stat().st_size:
            data: dict[str, Any] = json.loads(ready.read_text(encoding="utf-8"))
            return data
        time.sleep(0.05)
    raise RuntimeError(f"vulnerable_api was not ready within {timeout_s:.0f}s")
