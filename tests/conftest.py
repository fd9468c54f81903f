from __future__ import annotations

import signal

import pytest

pytest_plugins = ["tests.fixtures.services"]


def pytest_configure(config: pytest.Config) -> None:
    """Set the signal dispositions the tests rely on, whatever the suite was started from.

    A background job of a non-interactive shell (``nohup ./dev test &``, CI runners) starts with
    SIGINT ignored. An ignored signal stays ignored across ``exec``, so every child a test starts
    (a process holding a local target, a ``harness up``) would ignore the Ctrl-C the test sends it,
    and the test would wait forever. A handled signal is reset to the default on ``exec``: installing
    Python's own handler here gives every child a default SIGINT (Python children turn it into
    KeyboardInterrupt). SIGTERM likewise must not be inherited as ignored.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
