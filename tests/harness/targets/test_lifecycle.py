from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from harness.errors import RunInterrupted
from harness.targets.lifecycle import (
    DeferredSignals,
    SignalGuard,
    shielded,
    signals_as_exceptions,
    stop_signals_received,
)


@pytest.fixture(autouse=True)
def default_sigterm() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_becomes_an_exception_and_the_handler_is_restored() -> None:
    with pytest.raises(RunInterrupted) as info, signals_as_exceptions():
        os.kill(os.getpid(), signal.SIGTERM)
    assert (info.value.signal_name, str(info.value)) == ("SIGTERM", "interrupted by SIGTERM")
    assert isinstance(info.value, KeyboardInterrupt)  # one scheme: every driver's Ctrl-C path
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_the_guard_raises_once_then_only_notes(capsys: pytest.CaptureFixture[str]) -> None:
    steps: list[str] = []
    with SignalGuard() as guard:
        with pytest.raises(RunInterrupted):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)  # teardown is running: noted, not raised
        steps.append("teardown finished")
    assert (steps, guard.received) == (["teardown finished"], ["SIGINT", "SIGTERM"])
    assert "SIGTERM received; finishing teardown and reports first" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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


def test_shielded_tells_on_signal_at_once_and_counts_it() -> None:
    """A teardown asked twice can hurry (the local target stops waiting for Terraform)."""
    heard: list[tuple[int, str]] = []
    before = stop_signals_received()

    def teardown() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        heard.append((0, "teardown went on"))

    with pytest.raises(KeyboardInterrupt):
        shielded(teardown, on_signal=lambda signum: heard.append((signum, "heard")))
    assert heard == [(signal.SIGINT, "heard"), (0, "teardown went on")]
    assert stop_signals_received() > before


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
    with pytest.raises(RunInterrupted), signals_as_exceptions(), DeferredSignals():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
