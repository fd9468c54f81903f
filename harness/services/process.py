"""Supervised child processes: each in its own process group, logs to a file, stopped for sure.

Every process started here is recorded in a module-level registry so that an interpreter exit
(normal, exception or signal turned into SystemExit) still reaches it: :func:`stop_all` runs at
``atexit``. Targets call ``stop()`` explicitly; the registry is the last line of defence.

An owner that is SIGKILLed (or killed with SIGTERM by a runner that gives it no time, as an
interrupted ``pytest -n`` does to its workers) runs no atexit at all. On Linux each child therefore
also dies with its owner: it asks the kernel for SIGKILL when its parent goes
(``prctl(PR_SET_PDEATHSIG)``, see prctl(2)). The kernel sends that signal when the *thread* that
forked the child ends, not the process, so every child is forked by one thread that lives as long
as the interpreter (:class:`_Spawner`); targets that start services from a short-lived pool thread
keep them. Elsewhere (macOS) only ``stop()``/atexit apply. A grandchild the service starts itself is
not covered by the kernel; the servers we run (PostgreSQL, Redis, moto, the app) end their own
children when they die.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

from harness.errors import TargetError

_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _ensure_sigterm_unwinds() -> None:
    """Make SIGTERM unwind the stack (finally blocks, fixture teardowns, atexit) instead of killing
    the interpreter outright, unless someone (e.g. the engine) already handles it."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
DEATH_SIGNAL_SUPPORTED = sys.platform.startswith("linux")


def _death_signal_preexec(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` (runs in the child, after any uid change): SIGKILL me when ``parent`` dies.

    ``parent`` is checked after the request, since it may have died between fork and prctl."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork: the child only calls

    def die_with_parent() -> None:
        prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0),
              ctypes.c_ulong(0), ctypes.c_ulong(0))
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


class _Spawner:
    """Forks every managed child from one daemon thread that lives as long as the interpreter, so
    that PR_SET_PDEATHSIG (tied to the forking thread) fires when the process dies, not earlier."""

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], dict[str, Any]]] = (
            queue.SimpleQueue())
        self._thread = threading.Thread(target=self._serve, name="harness-spawner", daemon=True)
        self._thread.start()

    def popen(self, **kwargs: Any) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((future, kwargs))
        return future.result()

    def _serve(self) -> None:
        while True:
            future, kwargs = self._requests.get()
            try:
                future.set_result(subprocess.Popen(**kwargs))
            except BaseException as exc:  # handed to the caller's thread, which raises it
                future.set_exception(exc)


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> _Spawner:
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            _SPAWNER = _Spawner()
        return _SPAWNER


def _forget_spawner() -> None:
    """A forked child has no spawner thread (only the forking thread survives a fork)."""
    global _SPAWNER, _SPAWNER_LOCK
    _SPAWNER, _SPAWNER_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_spawner)


def spawn(argv: Sequence[str], *, die_with_parent: bool = True, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **kwargs)``; on Linux (and with ``die_with_parent``) the child is
    SIGKILLed by the kernel when this process dies, however it dies."""
    if not (die_with_parent and DEATH_SIGNAL_SUPPORTED):
        return subprocess.Popen(list(argv), **kwargs)
    return _spawner().popen(args=list(argv), preexec_fn=_death_signal_preexec(os.getpid()), **kwargs)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` (IPv4, or IPv6 such as ``::1``) right now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def answers_http(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers 200 now (refused, timed out or any other status: not ready yet)."""
    import httpx

    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(probe: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05,
               alive: Callable[[], bool] | None = None) -> None:
    """Poll ``probe`` until it is true; raise a TargetError naming ``what`` on timeout or death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if alive is not None and not alive():
            raise TargetError(f"{what}: the process exited before it became ready")
        time.sleep(interval)
    raise TargetError(f"{what}: not ready after {timeout:.0f}s")


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pid`` leads; a group that is already gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def stop_group(proc: subprocess.Popen[Any], signum: int = signal.SIGTERM, *, grace_s: float = 10.0) -> None:
    """Stop the process group ``proc`` leads (started with ``start_new_session``) and reap ``proc``:
    ``signum`` and up to ``grace_s`` to exit, then SIGKILL (``signum=SIGKILL``: no grace at all).

    The group is SIGKILLed in the end even when the leader exited in time: children that escaped into
    it after the leader died would otherwise outlive the run."""
    if signum != signal.SIGKILL and proc.poll() is None:
        signal_group(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


class ManagedProcess:
    """One child process in its own process group, with a log file and a readiness probe."""

    def __init__(self, name: str, argv: Sequence[str], *, log_path: Path,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 ready: Callable[[], bool] | None = None,
                 stop_signal: int = signal.SIGTERM, user: int | None = None, group: int | None = None,
                 die_with_parent: bool = True) -> None:
        self.name = name
        self.die_with_parent = die_with_parent
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.ready = ready
        self.stop_signal = stop_signal
        self.user = user
        self.group = group
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self, *, timeout: float = 30.0) -> ManagedProcess:
        """Start the process and wait until its readiness probe passes."""
        if self.is_running():
            return self
        _ensure_sigterm_unwinds()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _end()
        try:
            self._popen = spawn(self.argv, die_with_parent=self.die_with_parent, stdout=self._log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                                cwd=self.cwd, start_new_session=True, user=self.user, group=self.group)
        except OSError as exc:
            self._close_log()
            raise TargetError(f"{self.name}: cannot start {self.argv[0]!r}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(self)
        if self.ready is not None:
            try:
                wait_until(self.ready, timeout=timeout, what=self.name, alive=self.is_running)
            except TargetError as exc:
                self.stop()
                raise TargetError(f"{exc} (log: {self.log_path}){self._log_tail()}") from None
        return self

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the whole process group."""
        if self._popen is not None and self._popen.poll() is None:
            signal_group(self._popen.pid, signum)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the group to stop (``stop_signal``), then SIGKILL it after ``timeout``."""
        self._end(self.stop_signal, timeout)

    def kill(self) -> None:
        """SIGKILL the whole group at once (a crash, for fault drills)."""
        self._end(signal.SIGKILL, 0.0)

    def _end(self, signum: int, grace_s: float) -> None:
        if self._popen is not None:
            stop_group(self._popen, signum, grace_s=grace_s)
        self._popen = None
        self._close_log()
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return ("\n  " + "\n  ".join(text)) if text else ""

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid})"


class ProcessService:
    """The lifecycle that every single-process server shares; subclasses set ``process`` and
    implement ``start()`` (which must be safe to call again after ``stop()``)."""

    process: ManagedProcess

    def start(self, timeout: float = 30.0) -> ProcessService:
        raise NotImplementedError

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        """The server crashes (SIGKILL to its process group)."""
        self.process.kill()

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout=timeout)

    def cleanup(self) -> None:
        """Stop the server and remove what it owns beyond its workdir (nothing by default)."""
        self.stop()


def stop_all() -> None:
    """Stop every process this interpreter started and has not stopped yet."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        with contextlib.suppress(Exception):
            proc.stop(timeout=5)


atexit.register(stop_all)

__all__ = ["DEATH_SIGNAL_SUPPORTED", "ManagedProcess", "ProcessService", "answers_http", "free_port",
           "port_is_open", "signal_group", "spawn", "stop_all", "stop_group", "wait_until"]
