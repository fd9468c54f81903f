"""Teardown that always runs: SIGTERM/SIGHUP become exceptions, and ``down()`` is shielded.

``with running(target) as env:`` is what drivers use; :class:`SignalExit` (a ``SystemExit`` with
code 128+signal) unwinds through ``finally`` blocks like Ctrl-C's ``KeyboardInterrupt`` does.
While ``down()`` runs, further SIGINT/SIGTERM are held and re-delivered once it has finished.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from harness.targets.base import Environment, Target

TERMINATING = (signal.SIGTERM, signal.SIGHUP)
HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class SignalExit(SystemExit):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}"


def _raise_signal_exit(signum: int, frame: FrameType | None) -> None:
    del frame
    raise SignalExit(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise :class:`SignalExit` (only where still default)."""
    if not _in_main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for signum in TERMINATING:
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            previous[signum] = signal.signal(signum, _raise_signal_exit)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class DeferredSignals:
    """Hold SIGINT/SIGTERM/SIGHUP while a block runs; :meth:`check` acts on them at safe points.

    An exception raised by a signal handler lands on whatever bytecode the main thread is running:
    inside ``subprocess.Popen`` it orphans the child just forked, inside an import it can corrupt
    the module lock other threads wait for. So ``up()`` holds signals and calls :meth:`check`
    between steps and in its waits; the first signal is then re-delivered to the handlers that
    were in place (KeyboardInterrupt, :class:`SignalExit`, the engine's guard) and raises there.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> DeferredSignals:
        if _in_main_thread():
            self._previous = {s: signal.signal(s, self._record) for s in HELD}
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> None:
        """Re-deliver the first held signal now (its handler usually raises); no-op if none."""
        if self.received and self._previous:
            self._restore()
            signal.raise_signal(self.received[0])

    def _record(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.received.append(signum)

    def _restore(self) -> None:
        previous, self._previous = self._previous, {}
        for held, handler in previous.items():
            signal.signal(held, handler)

    def close(self) -> None:
        """Stop holding signals (and re-deliver one that arrived meanwhile)."""
        self.check()
        self._restore()


def shielded(action: Callable[[], None]) -> None:
    """Run ``action`` with SIGINT/SIGTERM/SIGHUP held; re-deliver the first one afterwards."""
    if not _in_main_thread():
        action()
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in HELD}
    try:
        action()
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
    if received:
        signal.raise_signal(received[0])


@contextlib.contextmanager
def running(target: Target) -> Iterator[Environment]:
    """``target.up()``, yield its Environment, and ``target.down()`` whatever happens."""
    with signals_as_exceptions():
        try:
            yield target.up()
        finally:
            shielded(target.down)


__all__ = ["DeferredSignals", "SignalExit", "running", "shielded", "signals_as_exceptions"]
