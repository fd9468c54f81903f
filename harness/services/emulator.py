"""What moto and LocalStack share: a server of ours behind a switchable proxy on 127.0.0.1.

``endpoint_url`` is the proxy's. ``stop()`` makes the API unreachable (connection refused) while the
emulator keeps its state; ``start()`` brings it back; ``kill()`` is a crash (the state is lost);
``cleanup()`` ends the emulator itself.
"""

from __future__ import annotations

from typing import Self

from harness.services.process import ManagedProcess
from harness.services.proxy import TcpProxy


class ProxiedEmulator:
    """Lifecycle of an AWS emulator process behind a :class:`TcpProxy`; subclasses set the fields."""

    kind: str
    port: int
    process: ManagedProcess
    proxy: TcpProxy

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Self:
        """Start the emulator if needed, and make it reachable."""
        self._prepare()
        self.process.start(timeout=timeout)
        self.proxy.enable()
        return self

    def stop(self) -> None:
        """An outage: the endpoint refuses connections; the emulator keeps its resources."""
        self.proxy.disable()

    def kill(self) -> None:
        """The emulator crashes (its in-memory state is lost)."""
        self.proxy.disable()
        self.process.kill()

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout=timeout)

    def cleanup(self) -> None:
        self.proxy.disable()
        self.process.stop()

    def _prepare(self) -> None:
        """Anything to do before the process starts (nothing by default)."""


__all__ = ["ProxiedEmulator"]
