"""A stand-in for the local target's control handle: FakeApp replicas behind the real Router."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from harness.controlplane.router import Router
from tests.harness.stages.load.fake_app import FakeApp


@dataclass
class _Process:
    pid: int

    def is_running(self) -> bool:
        return True


@dataclass
class FakeReplica:
    component: str
    track: str
    version: str
    app: FakeApp
    process: _Process

    @property
    def metrics_url(self) -> str:
        return f"{self.app.url}/metrics"


class FakeLocalControl:
    """Duck-types ``harness.targets.local.control.LocalControl`` for the control plane and the stage."""

    def __init__(self, api: int = 2) -> None:
        self.frontdoor: Any = Router()
        self.frontdoor.enable()
        self.stable: list[FakeReplica] = []
        self.canary: list[FakeReplica] = []
        self.canary_version: str | None = None
        self.canary_weight = 0
        self.calls: list[str] = []
        self.by_pid: dict[int, FakeReplica] = {}
        self._pids = 1_000_000
        self._last: dict[int, tuple[float, int]] = {}
        self.scale("api", api)

    @property
    def url(self) -> str:
        return str(self.frontdoor.url)

    def _replica(self, track: str, version: str, error_rate: float = 0.0) -> FakeReplica:
        self._pids += 1
        app = FakeApp(version, error_rate=error_rate).start()
        replica = FakeReplica("api", track, version, app, _Process(self._pids))
        self.by_pid[replica.process.pid] = replica
        return replica

    def busy_percent(self, pid: int) -> float:
        """A stand-in for the CPU a replica used: 2 % of a core per request/s since the last call."""
        replica = self.by_pid[pid]
        now, served = time.monotonic(), sum(replica.app.statuses.values())
        last_t, last_n = self._last.get(pid, (now, served))
        self._last[pid] = (now, served)
        return 0.0 if now == last_t else 2.0 * (served - last_n) / (now - last_t)

    def all_replicas(self) -> list[FakeReplica]:
        return self.stable + self.canary

    def replicas(self, component: str) -> int:
        return len(self.all_replicas()) if component == "api" else 0

    def scale(self, component: str, n: int) -> None:
        self.calls.append(f"scale {component} {n}")
        while len(self.stable) > n:
            self.stable.pop().app.stop()
        while len(self.stable) < n:
            self.stable.append(self._replica("stable", "v1"))
        self._route()

    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None:
        rate = float((settings or {}).get("FAULT_ERROR_RATE", 0))
        self.canary = [self._replica("canary", version, rate)]
        self.canary_version, self.canary_weight = version, 5
        self._route()

    def set_weight(self, weight: int) -> None:
        self.calls.append(f"weight {weight}")
        self.canary_weight = weight
        self._route()

    def promote(self) -> None:
        self.calls.append("promote")
        self.canary_weight = 0
        self._route()
        self._drop_canary()

    def abort(self) -> None:
        self.calls.append("abort")
        self.canary_weight = 0
        self._route()
        self._drop_canary()

    def kill(self, component: str, replica: int) -> None:
        self.stable.pop(replica).app.stop()
        self._route()

    def restart(self, service: str) -> None:
        raise NotImplementedError("not needed by the load stage")

    def stop(self, service: str) -> None:
        raise NotImplementedError("not needed by the load stage")

    def start(self, service: str) -> None:
        raise NotImplementedError("not needed by the load stage")

    def rollout_status(self) -> dict[str, Any]:
        return {"canary_weight": self.canary_weight}

    def _drop_canary(self) -> None:
        for replica in self.canary:
            replica.app.stop()
        self.canary, self.canary_version = [], None

    def _route(self) -> None:
        self.frontdoor.set_weight(self.canary_weight)
        self.frontdoor.set_backends(
            [("127.0.0.1", r.app.port) for r in self.stable], [("127.0.0.1", r.app.port) for r in self.canary]
        )

    def close(self) -> None:
        for replica in self.all_replicas():
            replica.app.stop()
        self.frontdoor.disable()
