"""The app's processes: one-shot commands (migrate, create-user) and api/worker replicas, each
``python -m <module>`` with the module of the app profile (``processes.module``).

Each replica is a :class:`ManagedProcess` (own process group, own log file under the run's evidence
dir); readiness is its HTTP probe (`/readyz` for the API, `/metrics` for the worker).
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.app_profile import AppProfile
from harness.errors import TargetError
from harness.services import ManagedProcess, free_port
from harness.services.process import answers_http, stop_group

PORT_RETRIES = 2
Rebind = Callable[["Replica"], None]
Tick = Callable[[], None]  # called in every wait loop: where a held Ctrl-C/SIGTERM is acted on


def _no_tick() -> None:
    return None


def app_pythonpath(root: Path, app: AppProfile) -> str | None:
    """None when the app's module is importable; else its source folder (``processes.source``
    under ``root``) if the module is there."""
    module = app.replica_module()
    if importlib.util.find_spec(module.partition(".")[0]) is not None:
        return None
    source = root / (app.process_source or ".")
    if (source / Path(*module.split(".")) / "__main__.py").is_file():
        return str(source)
    hint = f"pip install -e {app.process_source}" if app.process_source else "pip install it"
    raise TargetError(f"app module {module} not installed: {hint} ({app.source}: processes)")


_UNBOUND = ManagedProcess("unbound", ["true"], log_path=Path("/dev/null"))  # never started


@dataclass(slots=True)
class Replica:
    """One api or worker process."""

    component: str  # "api" | "worker"
    index: int
    version: str
    track: str  # "stable" | "canary"
    process: ManagedProcess
    port: int  # api: HTTP port; worker: metrics port
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def probe_url(self) -> str:
        return f"{self.url}/readyz" if self.component == "api" else f"{self.url}/metrics"

    @property
    def metrics_url(self) -> str:
        return f"{self.url}/metrics"

    def is_ready(self) -> bool:
        return self.process.is_running() and answers_http(self.probe_url)


class AppLauncher:
    """Builds the app's processes from one base environment (services, buckets, secrets)."""

    def __init__(
        self, base_env: Mapping[str, str], logs_dir: Path, *, cwd: Path, module: str, tick: Tick = _no_tick
    ) -> None:
        self.base_env = dict(base_env)
        self.command = [sys.executable, "-m", module]
        self.tick = tick
        self.logs_dir = logs_dir
        self.cwd = cwd
        self._oneshots: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def replica(self, component: str, index: int, *, version: str, track: str = "stable",
                settings: Mapping[str, str] | None = None) -> Replica:
        """A replica ready to ``process.start()`` (not started)."""
        if component not in ("api", "worker"):
            raise TargetError(f"unknown app component {component!r} (expected api or worker)")
        replica = Replica(component, index, version, track, _UNBOUND, 0, dict(settings or {}))
        replica.port, replica.process = self._bind(replica)
        return replica

    def rebind(self, replica: Replica) -> None:
        """Start ``replica`` again on a fresh port (another process took the one it was given)."""
        replica.process.stop()
        replica.port, replica.process = self._bind(replica)
        replica.process.start()

    def _bind(self, replica: Replica) -> tuple[int, ManagedProcess]:
        port = free_port()
        env = {**self.base_env, "APP_VERSION": replica.version, **replica.settings}
        if replica.component == "api":
            argv = ["api", "--host", "127.0.0.1", "--port", str(port)]
        else:
            argv = ["worker"]
            env["WORKER_METRICS_PORT"] = str(port)
        track, index = replica.track, replica.index
        name = f"{replica.component}-{track}-{index}" if track != "stable" else f"{replica.component}-{index}"
        return port, ManagedProcess(
            name, [*self.command, *argv], env=env, cwd=self.cwd,
            log_path=self.logs_dir / f"{name}.log",
        )

    def run(self, name: str, args: list[str], *, timeout: float) -> str:
        """Run ``python -m <module> ARGS`` to completion; stdout, or a TargetError with the log."""
        log_path = self.logs_dir / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [*self.command, *args], stdout=subprocess.PIPE, stderr=log,
                stdin=subprocess.DEVNULL, env=self.base_env, cwd=self.cwd, start_new_session=True,
            )
            with self._lock:
                self._oneshots.add(proc)
            try:
                out = self._communicate(proc, timeout)
            except subprocess.TimeoutExpired:
                raise TargetError(f"{name}: still running after {timeout:.0f}s (log: {log_path})") from None
            finally:
                stop_group(proc, signal.SIGKILL)
                with self._lock:
                    self._oneshots.discard(proc)
        if proc.returncode != 0:
            raise TargetError(f"{name} failed with exit code {proc.returncode} (log: {log_path})"
                              f"{_tail(log_path)}")
        return out.decode(errors="replace")

    def _communicate(self, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            try:
                out, _ = proc.communicate(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
                return out
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise
                self.tick()

    def kill_oneshots(self) -> None:
        """SIGKILL every one-shot command still running (teardown mid-``up``)."""
        with self._lock:
            running = list(self._oneshots)
        for proc in running:
            stop_group(proc, signal.SIGKILL)


def wait_ready(replicas: Iterable[Replica], *, timeout: float, rebind: Rebind | None = None,
               tick: Tick = _no_tick) -> None:
    """Wait until every (started) replica passes its probe; a dead one fails at once, with its log.

    A replica that lost the race for its port (another process bound it between our pick and its
    bind: "address already in use") is started again on a fresh port via ``rebind``, twice at most.
    """
    pending = list(replicas)
    retries = dict.fromkeys((id(r) for r in pending), PORT_RETRIES)
    deadline = time.monotonic() + timeout
    while pending:
        for replica in list(pending):
            if not replica.process.is_running() and rebind and retries[id(replica)] and _lost_port(replica):
                retries[id(replica)] -= 1
                rebind(replica)
            elif not replica.process.is_running():
                raise TargetError(f"{replica.process.name} exited before it became ready "
                                  f"(log: {replica.process.log_path}){_tail(replica.process.log_path)}")
            if answers_http(replica.probe_url):
                pending.remove(replica)
        if pending and time.monotonic() > deadline:
            names = ", ".join(r.process.name for r in pending)
            raise TargetError(f"not ready after {timeout:.0f}s: {names} "
                              f"(probe {pending[0].probe_url}; log: {pending[0].process.log_path})")
        if pending:
            tick()
            time.sleep(0.05)


def _lost_port(replica: Replica) -> bool:
    return "address already in use" in _tail(replica.process.log_path, 40).lower()


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return ("\n  " + "\n  ".join(text)) if text else ""


__all__ = ["AppLauncher", "Replica", "app_pythonpath", "wait_ready"]
