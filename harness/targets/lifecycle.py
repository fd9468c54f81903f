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


__all__ = ["SignalExit", "running", "shielded", "signals_as_exceptions"]
