"""The one signal scheme of the harness: signals become :class:`~harness.errors.RunInterrupted`
(a ``KeyboardInterrupt``), teardown is shielded, and ``up()`` acts on signals at safe points only.

* :class:`SignalGuard`: the run's guard (the engine's lifecycle holds one from preflight to
  reports): the first SIGINT/SIGTERM/SIGHUP raises ``RunInterrupted`` in the main thread; later ones
  (and any after :meth:`SignalGuard.defer`) are only noted, so teardown and reports can finish.
* :func:`signals_as_exceptions`: the same guard for a target driven without the engine (tests,
  scripts); it takes only signals whose handler is still the default.
* :class:`DeferredSignals` and :func:`shielded`: hold signals during ``up()`` and ``down()``.
* :func:`stop_signals_received`: how many stop signals this process has seen so far; a target
  compares it with the count when its ``up()`` began to tell an interrupted run's teardown (which
  may cut corners a normal one must not) from a normal one.

``running(target)`` stands one target up and down for tests and scripts; drivers (``harness
verify``, ``harness up``, the pytest plugin) use the engine's lifecycle, which owns this guard.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from harness.errors import RunInterrupted
from harness.targets.base import Environment, Target

HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received = [0]  # stop signals seen by any guard or holder of this process (only ever grows)


def stop_signals_received() -> int:
    """How many SIGINT/SIGTERM/SIGHUP this process's guards and holders have seen so far."""
    return _received[0]


def note_stop_signal() -> None:
    """Count a stop signal: our guards and holders do on each one, and the engine does for one that
    reached this process through someone else's handler (pytest turns Ctrl-C into KeyboardInterrupt),
    so targets tear down the fast way either way."""
    _received[0] += 1


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class SignalGuard:
    """While active, the first SIGINT/SIGTERM/SIGHUP raises :class:`RunInterrupted` in the main
    thread; later ones (and any after :meth:`defer`) are only noted. ``only_default`` leaves a
    signal alone whose handler someone else installed. Outside the main thread it does nothing
    (Python delivers signals to the main thread only)."""

    def __init__(self, *, only_default: bool = False) -> None:
        self.only_default = only_default
        self.received: list[str] = []
        self.deferred = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalGuard:
        if _in_main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in HELD if self._takes(s)}
        return self

    def _takes(self, signum: signal.Signals) -> bool:
        current = signal.getsignal(signum)
        return not self.only_default or current in (signal.SIG_DFL, signal.default_int_handler, None)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        self.received.append(name)
        note_stop_signal()
        if not self.deferred:
            self.deferred = True
            raise RunInterrupted(name)
        print(f"harness: {name} received; finishing teardown and reports first", file=sys.stderr)

    def defer(self) -> None:
        """From now on signals are only noted (teardown and reports are running)."""
        self.deferred = True

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


def signals_as_exceptions() -> SignalGuard:
    """The run's guard for a target driven alone: only signals nobody else handles yet."""
    return SignalGuard(only_default=True)


class DeferredSignals:
    """Hold SIGINT/SIGTERM/SIGHUP while a block runs; :meth:`check` acts on them at safe points.

    An exception raised by a signal handler lands on whatever bytecode the main thread is running:
    inside ``subprocess.Popen`` it orphans the child just forked, inside an import it can corrupt
    the module lock other threads wait for. So ``up()`` holds signals and calls :meth:`check`
    between steps and in its waits; the first signal is then re-delivered to the handlers that
    were in place (the run's :class:`SignalGuard`, or Python's KeyboardInterrupt) and raises there.
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.received: list[int] = []
        self.on_signal = on_signal  # runs in the handler: must not block (e.g. kill a child now)
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
        note_stop_signal()
        if self.on_signal is not None:
            self.on_signal(signum)

    def _restore(self) -> None:
        previous, self._previous = self._previous, {}
        for held, handler in previous.items():
            signal.signal(held, handler)

    def close(self) -> None:
        """Stop holding signals (and re-deliver one that arrived meanwhile)."""
        self.check()
        self._restore()


def shielded(action: Callable[[], None], on_signal: Callable[[int], None] | None = None) -> None:
    """Run ``action`` with SIGINT/SIGTERM/SIGHUP held; re-deliver the first one afterwards.
    ``on_signal`` hears each one as it arrives (a teardown that can go faster when asked twice)."""
    with DeferredSignals(on_signal):
        action()


@contextlib.contextmanager
def running(target: Target) -> Iterator[Environment]:
    """``target.up()``, yield its Environment, and ``target.down()`` whatever happens."""
    with signals_as_exceptions():
        try:
            yield target.up()
        finally:
            shielded(target.down)


__all__ = ["DeferredSignals", "SignalGuard", "note_stop_signal", "running", "shielded",
           "signals_as_exceptions", "stop_signals_received"]
