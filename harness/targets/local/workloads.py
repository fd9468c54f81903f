"""The local model's workloads: replica processes per component, a canary track, and their endpoints.

What a cluster's ReplicaSets and Service endpoints do, for processes: :class:`Workloads` keeps the
``api`` and ``worker`` replicas (each a :class:`~harness.targets.local.app.Replica` in its own
process group), starts and stops them, surges one-for-one on a roll, starts canary replicas of a new
version and points the front door (the weighted router) at the live replicas of each track. Who
decides how many and which weight is not here: that is the HPA and Rollout model
(:mod:`harness.targets.local.cluster.plane`) and the user, through
:class:`~harness.targets.local.control.LocalControl`.
"""

from __future__ import annotations

import math
import threading

from harness.errors import TargetError
from harness.targets.local.app import AppLauncher, Replica, wait_ready
from harness.targets.local.cluster.inputs import ReplicaInfo
from harness.targets.local.frontdoor import Door

COMPONENTS = ("api", "worker")


class Workloads:
    """The app's replica processes and the front door's view of them (thread-safe)."""

    def __init__(self, launcher: AppLauncher, door: Door | None, *, version: str,
                 ready_timeout: float) -> None:
        self.launcher = launcher
        self.door = door
        self.ready_timeout = ready_timeout
        self.stable_version = version
        self.canary_version: str | None = None
        self.canary_settings: dict[str, str] = {}
        # What the last roll deployed, per component: a replica that replaces a dead one (scale,
        # start) runs with it too, as a pod of a Deployment gets the Deployment's env.
        self.stable_settings: dict[str, dict[str, str]] = {c: {} for c in COMPONENTS}
        self.weight = 0
        self.groups: dict[str, list[Replica]] = {c: [] for c in COMPONENTS}
        self.canary: list[Replica] = []
        self.metrics_sink: dict[str, list[str]] | None = None  # the Environment's metrics_urls
        self._lock = threading.RLock()
        self._next_index = dict.fromkeys(COMPONENTS, 0)
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- replicas ----------------------------------------------------------------------------

    def spawn(self, component: str, count: int) -> None:
        """Start ``count`` first replicas without waiting (see :meth:`wait_ready`)."""
        with self._lock:
            fresh = [self._new(component, self.stable_version, "stable") for _ in range(count)]
            self.group(component).extend(fresh)
            for replica in fresh:
                replica.process.start()

    def wait_ready(self) -> None:
        """Wait until every replica is ready, then route the front door to them."""
        self._wait_ready(self.all_replicas())
        with self._lock:
            self._route()

    def scale(self, component: str, n: int) -> None:
        """Run exactly ``n`` stable replicas (dead ones are replaced); the ones retired leave the
        front door before they are stopped, as a pod leaves its Service's endpoints first."""
        if n < 0:
            raise TargetError(f"scale({component!r}, {n}): replicas must be >= 0")
        with self._lock:
            group = self.group(component)
            self._drop_dead(group)
            retired = group[n:]
            del group[n:]
            self._route()
            for replica in retired:
                replica.process.stop()
            fresh = [self._new(component, self.stable_version, "stable") for _ in range(n - len(group))]
            self._start(fresh)
            group.extend(fresh)
            self._route()

    def kill(self, component: str, replica: int) -> None:
        """SIGKILL one replica at once, as a crash would (nobody restarts it but scale/start)."""
        with self._lock:
            group = self.group(component)
            if not 0 <= replica < len(group):
                raise TargetError(f"kill({component!r}, {replica}): {component} has {len(group)} replicas")
            group[replica].process.kill()
            self._route()

    def stop(self, component: str) -> None:
        """Stop every replica of ``component`` (its outage)."""
        with self._lock:
            for replica in self.group(component):
                replica.process.stop()
            self._route()

    def start(self, component: str) -> None:
        """Replace the dead replicas of ``component`` (at least one)."""
        with self._lock:
            self.scale(component, max(len(self.group(component)), 1))

    def roll(self, component: str, version: str, settings: dict[str, str]) -> None:
        """Surge one new replica per old one, then retire the old (capacity never drops)."""
        with self._lock:
            group = self.group(component)
            self.stable_settings[component] = dict(settings)
            for position, old in enumerate(list(group)):
                fresh = self._new(component, version, "stable", settings)
                self._start([fresh])
                group[position] = fresh
                self._route()
                old.process.stop()

    # -- the canary track ------------------------------------------------------------------------

    def start_canary(self, version: str, settings: dict[str, str], first_weight: int) -> None:
        """Start new-version API replicas for a canary of ``first_weight`` percent, at weight 0."""
        with self._lock:
            self.abort()
            count = max(1, math.ceil(len(self._live(self.groups["api"])) * first_weight / 100))
            fresh = [self._new("api", version, "canary", settings) for _ in range(count)]
            self._start(fresh)
            self.canary, self.canary_version, self.canary_settings = fresh, version, dict(settings)
            self._route()

    def set_weight(self, weight: int) -> None:
        """Send ``weight`` percent of API requests to the canary."""
        if not 0 <= weight <= 100:
            raise TargetError(f"set_weight({weight}): expected 0..100")
        with self._lock:
            if self.canary_version is None and weight:
                raise TargetError("set_weight: no canary is deployed")
            self.weight = weight
            self._route()

    def promote(self) -> None:
        """The canary becomes stable: roll stable API replicas and workers to its version."""
        with self._lock:
            if self.canary_version is None:
                raise TargetError("promote: no canary is deployed")
            version, settings = self.canary_version, dict(self.canary_settings)
            self.roll("api", version, settings)
            self.roll("worker", version, settings)
            self.stable_version = version
            self.abort()

    def abort(self) -> None:
        """Weight 0 and the canary replicas stopped; stable keeps serving."""
        with self._lock:
            self.weight = 0
            retired, self.canary, self.canary_version = self.canary, [], None
            self._route()
            for replica in retired:
                replica.process.stop()

    # -- reading -------------------------------------------------------------------------------

    def all_replicas(self) -> list[Replica]:
        with self._lock:
            return [r for c in COMPONENTS for r in self.groups[c]] + list(self.canary)

    def of(self, component: str) -> list[Replica]:
        """The live replicas of ``component``, stable then canary."""
        with self._lock:
            return self._live(self.group(component) + (self.canary if component == "api" else []))

    def processes(self) -> list[ReplicaInfo]:
        """What the controllers act on: the live replicas (:class:`~.cluster.plane.ClusterHandle`)."""
        return [
            ReplicaInfo(r.component, r.track, r.version, r.process.pid, r.metrics_url)
            for r in self.all_replicas()
            if r.process.is_running()
        ]

    def metrics_urls(self) -> dict[str, list[str]]:
        with self._lock:
            return {c: [r.metrics_url for r in self.of(c)] for c in COMPONENTS}

    def group(self, component: str) -> list[Replica]:
        if component not in self.groups:
            raise TargetError(f"unknown component {component!r}; valid: {', '.join(COMPONENTS)}")
        return self.groups[component]

    # -- endpoints -----------------------------------------------------------------------------

    def watch(self, interval: float = 0.25) -> None:
        """Re-route within ``interval`` when a replica dies on its own (a crash, not :meth:`kill`)."""
        if self._watcher is not None:
            return
        self._watching.clear()
        self._watcher = threading.Thread(target=self._watch, args=(interval,), daemon=True,
                                         name="local-endpoints")
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

    def _route(self) -> None:
        """Point the front door at the live API replicas; keep the Environment's scrape list true."""
        if self.metrics_sink is not None:
            current = self.metrics_urls()
            self.metrics_sink.clear()
            self.metrics_sink.update(current)
        if self.door is None:
            return
        stable = [("127.0.0.1", r.port) for r in self._live(self.groups["api"])]
        canary = [("127.0.0.1", r.port) for r in self._live(self.canary)]
        self.door.set_weight(self.weight)
        self.door.set_backends(stable, canary)

    # -- internals -----------------------------------------------------------------------------

    def _new(self, component: str, version: str, track: str,
             settings: dict[str, str] | None = None) -> Replica:
        index = self._next_index[component]
        self._next_index[component] += 1
        if settings is None and track == "stable":
            settings = self.stable_settings.get(component, {})
        return self.launcher.replica(component, index, version=version, track=track, settings=settings)

    def _start(self, replicas: list[Replica]) -> None:
        """Start every replica at once, then wait for all (one deadline); any failure stops them all."""
        try:
            for replica in replicas:
                replica.process.start()
            self._wait_ready(replicas)
        except BaseException:
            for replica in replicas:
                replica.process.stop()
            raise

    def _wait_ready(self, replicas: list[Replica]) -> None:
        wait_ready(replicas, timeout=self.ready_timeout, rebind=self.launcher.rebind, tick=self.launcher.tick)

    @staticmethod
    def _live(replicas: list[Replica]) -> list[Replica]:
        return [r for r in replicas if r.process.is_running()]

    @staticmethod
    def _drop_dead(group: list[Replica]) -> None:
        for replica in group:
            if not replica.process.is_running():
                replica.process.stop()  # reaps it and anything left in its process group
        group[:] = [r for r in group if r.process.is_running()]


__all__ = ["COMPONENTS", "Workloads"]
