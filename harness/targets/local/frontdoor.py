"""The API's stable front door: one port on 127.0.0.1 in front of the live API replicas.

The local target uses ``harness.targets.local.cluster.router.Router`` (HTTP, per-request canary weights,
streaming both ways). :class:`FrontDoor` is the fallback (``--target local?router=tcp``, or when the
router cannot be imported): a weighted TCP balancer on the services' switchable :class:`TcpProxy`,
choosing stable or canary per *connection*, round-robin inside the pool.
"""

from __future__ import annotations

import itertools
import random
import threading
from typing import Protocol

from harness.services import TcpProxy, free_port

Address = tuple[str, int]


class Door(Protocol):
    """What the control handle needs from a front door (FrontDoor and the control plane's Router)."""

    @property
    def url(self) -> str: ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...

    def set_weight(self, weight: float) -> None: ...

    def set_backends(self, stable: list[Address], canary: list[Address] | None = None) -> None: ...

    def backends(self) -> dict[str, list[Address]]: ...


def make_door(kind: str = "http") -> Door:
    """The per-request HTTP router when available (``kind="http"``), else the TCP front door."""
    if kind == "http":
        try:
            from harness.targets.local.cluster.router import Router
        except ImportError:
            return FrontDoor()
        return Router()
    return FrontDoor()


class FrontDoor(TcpProxy):
    """Connections to ``url`` go to ``stable`` or ``canary`` replicas (``canary_weight`` percent)."""

    def __init__(self, *, port: int | None = None) -> None:
        self._pools: dict[str, list[Address]] = {"stable": [], "canary": []}
        self._pool_lock = threading.Lock()
        self._turn = itertools.count()
        self._random = random.Random()
        self.canary_weight = 0.0
        super().__init__(("127.0.0.1", 9), port=port or free_port())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> Address:
        """The next backend (read by the proxy once per accepted connection)."""
        with self._pool_lock:
            stable, canary = self._pools["stable"], self._pools["canary"]
            use_canary = canary and (not stable or self._random.uniform(0, 100) < self.canary_weight)
            pool = canary if use_canary else stable
            return pool[next(self._turn) % len(pool)] if pool else ("127.0.0.1", 9)

    @upstream.setter
    def upstream(self, value: Address) -> None:
        del value  # pools are set with set_backends(); the base class assigns a placeholder

    def set_weight(self, weight: float) -> None:
        self.canary_weight = float(weight)

    def set_backends(self, stable: list[Address], canary: list[Address] | None = None) -> None:
        with self._pool_lock:
            self._pools = {"stable": list(stable), "canary": list(canary or [])}

    def backends(self) -> dict[str, list[Address]]:
        with self._pool_lock:
            return {k: list(v) for k, v in self._pools.items()}


__all__ = ["Door", "FrontDoor", "make_door"]
