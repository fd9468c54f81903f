from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from harness.targets.lifecycle import DeferredSignals, SignalExit, shielded, signals_as_exceptions


@pytest.fixture(autouse=True)
def default_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_becomes_an_exception_and_the_handler_is_restored() -> None:
    with pytest.raises(SignalExit) as info, signals_as_exceptions():
        os.kill(os.getpid(), signal.SIGTERM)
    assert (info.value.code, str(info.value)) == (143, "interrupted by SIGTERM")
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_an_installed_handler_is_left_alone() -> None:
    seen: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: seen.append(signum))
    with signals_as_exceptions():
        os.kill(os.getpid(), signal.SIGTERM)
    assert seen == [signal.SIGTERM]


def test_shielded_finishes_then_redelivers() -> None:
    steps: list[str] = []

    def teardown() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("finished despite SIGINT")

    with pytest.raises(KeyboardInterrupt):
        shielded(teardown)
    assert steps == ["finished despite SIGINT"]


def test_shielded_without_signals_returns_normally() -> None:
    steps: list[str] = []
    shielded(lambda: steps.append("done"))
    assert steps == ["done"]


def test_deferred_signals_act_only_at_check() -> None:
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt), DeferredSignals() as deferred:
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("not interrupted mid-step")
        deferred.check()
        steps.append("never reached")
    assert steps == ["not interrupted mid-step"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_signal_is_redelivered_on_exit() -> None:
    with pytest.raises(SignalExit), signals_as_exceptions(), DeferredSignals():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
