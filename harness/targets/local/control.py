"""The local target's :class:`~harness.targets.base.Control`: replicas, faults, deploys.

Components (``api``, ``worker``) are groups of :class:`Replica` processes; services (``postgres``,
``redis``, ``s3``) are the launchers from :mod:`harness.services`. API replicas sit behind the
:class:`FrontDoor`; a canary deploy starts new-version API replicas and sends them the first
``setWeight`` of the Rollout; :meth:`LocalControl.promote` / :meth:`LocalControl.abort` finish it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, Protocol

from harness.errors import TargetError
from harness.targets.local.app import AppLauncher, Replica, start_all, wait_ready
from harness.targets.local.frontdoor import Door

COMPONENTS = ("api", "worker")
SERVICE_ALIASES = {"s3": "s3", "aws": "s3", "moto": "s3", "secretsmanager": "s3",
                   "postgres": "postgres", "postgresql": "postgres", "db": "postgres", "redis": "redis"}


class Service(Protocol):
    def start(self, timeout: float = ...) -> Any: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def restart(self, timeout: float = ...) -> None: ...


class LocalControl:
    """Scale, kill, restart and deploy the processes of one local environment (thread-safe)."""

    def __init__(
        self, launcher: AppLauncher, services: dict[str, Service], frontdoor: Door | None, *,
        version: str, ready_timeout: float, first_canary_weight: int = 5,
        after_service_start: Callable[[str, bool], None] | None = None,
    ) -> None:
        self.launcher = launcher
        self.services = services
        self.frontdoor = frontdoor
        self.ready_timeout = ready_timeout
        self.first_canary_weight = first_canary_weight
        self.stable_version = version
        self.canary_version: str | None = None
        self.canary_weight = 0
        self.groups: dict[str, list[Replica]] = {c: [] for c in COMPONENTS}
        self.canary: list[Replica] = []
        self._after_service_start = after_service_start
        self._killed: set[str] = set()
        self._lock = threading.RLock()
        self.metrics_sink: dict[str, list[str]] | None = None  # the Environment's metrics_urls
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None
        self._next_index = dict.fromkeys(COMPONENTS, 0)

    # -- the Control protocol ------------------------------------------------------------------

    def replicas(self, component: str) -> int:
        """Running processes of ``component`` (stable and canary)."""
        with self._lock:
            return sum(r.process.is_running() for r in self._group(component) + self._canary_of(component))

    def scale(self, component: str, n: int) -> None:
        """Run exactly ``n`` stable replicas of ``component`` (dead ones are replaced)."""
        if n < 0:
            raise TargetError(f"scale({component!r}, {n}): replicas must be >= 0")
        with self._lock:
            group = self._group(component)
            self._drop_dead(group)
            while len(group) > n:
                group.pop().process.stop()
            fresh = [self._new(component, self.stable_version, "stable") for _ in range(n - len(group))]
            self._start(fresh)
            group.extend(fresh)
            self._route()

    def kill(self, component: str, replica: int) -> None:
        """SIGKILL one replica (or a whole service) at once, as a crash would."""
        with self._lock:
            if self._is_service(component):
                self._service(component).kill()
                self._killed.add(SERVICE_ALIASES[component])
                return
            group = self._group(component)
            if not 0 <= replica < len(group):
                raise TargetError(f"kill({component!r}, {replica}): {component} has {len(group)} replicas")
            group[replica].process.kill()
            self._route()

    def restart(self, service: str) -> None:
        """Restart a service in place, or roll every replica of a component."""
        with self._lock:
            if self._is_service(service):
                self.stop(service)
                self.start(service)
            else:
                self._roll(service, self.stable_version, {})

    def stop(self, service: str) -> None:
        """Stop a service (an outage) or every replica of a component."""
        with self._lock:
            if self._is_service(service):
                self._service(service).stop()
                return
            for replica in self._group(service):
                replica.process.stop()
            self._route()

    def start(self, service: str) -> None:
        """Start a stopped service (re-provisioned when it lost its state) or restart dead replicas."""
        with self._lock:
            if not self._is_service(service):
                group = self._group(service)
                self.scale(service, max(len(group), 1))
                return
            key = SERVICE_ALIASES[service]
            self._service(service).start(timeout=self.ready_timeout)
            if self._after_service_start is not None:
                self._after_service_start(key, key in self._killed)
            self._killed.discard(key)

    def deploy(
        self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None
    ) -> None:
        """Canary: start new-version API replicas at the first weight. Else: roll everything."""
        with self._lock:
            if canary:
                self._start_canary(version, settings or {})
            else:
                self.abort()
                self._roll("api", version, settings or {})
                self._roll("worker", version, settings or {})
                self.stable_version = version

    def rollout_status(self) -> dict[str, Any]:
        with self._lock:
            phase = "Progressing" if self.canary_version else "Healthy"
            return {
                "phase": phase,
                "stable_version": self.stable_version,
                "canary_version": self.canary_version,
                "canary_weight": self.canary_weight,
                "replicas": {"stable": self.replicas("api") - len(self._live(self.canary)),
                             "canary": len(self._live(self.canary))},
                "backends": self.frontdoor.backends() if self.frontdoor else {},
            }

    # -- beyond the protocol -------------------------------------------------------------------

    def spawn(self, component: str, count: int) -> None:
        """Start ``count`` first replicas without waiting (see :meth:`wait_ready`)."""
        with self._lock:
            fresh = [self._new(component, self.stable_version, "stable") for _ in range(count)]
            self._group(component).extend(fresh)
            for replica in fresh:
                replica.process.start()

    def wait_ready(self) -> None:
        """Wait until every replica is ready, then route the API's front door to them."""
        wait_ready(self.all_replicas(), timeout=self.ready_timeout, rebind=self.launcher.rebind,
                   tick=self.launcher.tick)
        with self._lock:
            self._route()

    def set_weight(self, weight: int) -> None:
        """Send ``weight`` percent of new API connections to the canary."""
        if not 0 <= weight <= 100:
            raise TargetError(f"set_weight({weight}): expected 0..100")
        with self._lock:
            if self.canary_version is None and weight:
                raise TargetError("set_weight: no canary is deployed")
            self.canary_weight = weight
            self._route()

    def promote(self) -> None:
        """The canary becomes stable: roll stable API replicas and workers to its version."""
        with self._lock:
            if self.canary_version is None:
                raise TargetError("promote: no canary is deployed")
            version, settings = self.canary_version, dict(self.canary[0].settings) if self.canary else {}
            self._roll("api", version, settings)
            self._roll("worker", version, settings)
            self.stable_version = version
            self.abort()

    def abort(self) -> None:
        """Weight 0 and the canary replicas stopped; stable keeps serving."""
        with self._lock:
            self.canary_weight = 0
            self._route()
            for replica in self.canary:
                replica.process.stop()
            self.canary, self.canary_version = [], None
            self._route()

    def all_replicas(self) -> list[Replica]:
        with self._lock:
            return [r for c in COMPONENTS for r in self.groups[c]] + list(self.canary)

    def metrics_urls(self) -> dict[str, list[str]]:
        with self._lock:
            return {c: [r.metrics_url for r in self._group(c) + self._canary_of(c)] for c in COMPONENTS}

    # -- internals -----------------------------------------------------------------------------

    def _start_canary(self, version: str, settings: dict[str, str]) -> None:
        self.abort()
        weight = self.first_canary_weight
        count = max(1, math.ceil(len(self._live(self.groups["api"])) * weight / 100))
        fresh = [self._new("api", version, "canary", settings) for _ in range(count)]
        self._start(fresh)
        self.canary, self.canary_version, self.canary_weight = fresh, version, weight
        self._route()

    def _roll(self, component: str, version: str, settings: dict[str, str]) -> None:
        """Surge one new replica per old one, then retire the old (capacity never drops)."""
        group = self._group(component)
        for position, old in enumerate(list(group)):
            fresh = self._new(component, version, "stable", settings)
            self._start([fresh])
            group[position] = fresh
            self._route()
            old.process.stop()

    def _new(
        self, component: str, version: str, track: str, settings: dict[str, str] | None = None
    ) -> Replica:
        index = self._next_index[component]
        self._next_index[component] += 1
        return self.launcher.replica(component, index, version=version, track=track, settings=settings)

    def _start(self, replicas: list[Replica]) -> None:
        try:
            start_all(replicas, timeout=self.ready_timeout, rebind=self.launcher.rebind,
                      tick=self.launcher.tick)
        except BaseException:
            for replica in replicas:
                replica.process.stop()
            raise

    def _route(self) -> None:
        """Point the front door at the live API replicas; keep the Environment's scrape list true."""
        if self.metrics_sink is not None:
            current = self.metrics_urls()
            self.metrics_sink.clear()
            self.metrics_sink.update(current)
        if self.frontdoor is None:
            return
        stable = [("127.0.0.1", r.port) for r in self._live(self.groups["api"])]
        canary = [("127.0.0.1", r.port) for r in self._live(self.canary)]
        self.frontdoor.set_weight(self.canary_weight)
        self.frontdoor.set_backends(stable, canary)

    def watch(self, interval: float = 0.25) -> None:
        """Re-route within ``interval`` when a replica dies on its own (a crash, not :meth:`kill`)."""
        if self._watcher is not None:
            return
        self._watching.clear()
        self._watcher = threading.Thread(target=self._watch, args=(interval,), daemon=True,
                                         name="local-control-watch")
        self._watcher.start()

    def unwatch(self) -> None:
        self._watching.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None

    def _watch(self, interval: float) -> None:
        routed: set[int] = set()
        while not self._watching.wait(interval):
            with self._lock:
                live = {r.port for r in self._live(self.groups["api"] + self.canary)}
                if live != routed:
                    self._route()
                    routed = live

    def _group(self, component: str) -> list[Replica]:
        if component not in self.groups:
            valid = ", ".join([*COMPONENTS, "postgres", "redis", "s3"])
            raise TargetError(f"unknown component {component!r}; valid: {valid}")
        return self.groups[component]

    def _canary_of(self, component: str) -> list[Replica]:
        return self.canary if component == "api" else []

    def _is_service(self, name: str) -> bool:
        return name in SERVICE_ALIASES

    def _service(self, name: str) -> Service:
        key = SERVICE_ALIASES[name]
        if key not in self.services:
            raise TargetError(f"service {name!r} is not controlled by this run (an external emulator?)")
        return self.services[key]

    @staticmethod
    def _live(replicas: list[Replica]) -> list[Replica]:
        return [r for r in replicas if r.process.is_running()]

    @staticmethod
    def _drop_dead(group: list[Replica]) -> None:
        for replica in group:
            if not replica.process.is_running():
                replica.process.stop()  # reaps it and anything left in its process group
        group[:] = [r for r in group if r.process.is_running()]


__all__ = ["COMPONENTS", "LocalControl"]
