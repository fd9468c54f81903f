"""The local target's :class:`~harness.targets.base.Control`: a model of a cluster over local processes.

Components (``api``, ``worker``) are the :class:`~harness.targets.local.workloads.Workloads`;
dependencies (``postgres``, ``redis``, ``s3``) are the launchers from :mod:`harness.services`; the
HPAs and the canary Rollout of the manifests are run by the model's controllers
(:class:`~harness.targets.local.cluster.plane.LocalControlPlane`), which run for as long as the
target is up. The read side observes the processes (psutil: memory, CPU time, listening sockets;
the readiness probe over HTTP) and reports what the controllers decided.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from harness.errors import TargetError
from harness.services.process import answers_http
from harness.targets.base import AutoscalerStatus, ReplicaStatus, RolloutStatus
from harness.targets.local.app import Replica
from harness.targets.local.cluster.plane import LocalControlPlane
from harness.targets.local.workloads import COMPONENTS, Workloads

SERVICE_ALIASES = {"s3": "s3", "aws": "s3", "moto": "s3", "secretsmanager": "s3",
                   "postgres": "postgres", "postgresql": "postgres", "db": "postgres", "redis": "redis"}
MODEL = "local model of Kubernetes (HPA v2, Argo Rollouts)"
Resources = Mapping[str, Mapping[str, Mapping[str, float]]]  # component -> requests|limits -> name -> value


class Service(Protocol):
    def start(self, timeout: float = ...) -> Any: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...

    def restart(self, timeout: float = ...) -> None: ...


class LocalControl:
    """Deploy, scale, break and observe one local environment, as one would a cluster (thread-safe)."""

    def __init__(
        self, workloads: Workloads, services: dict[str, Service], plane: LocalControlPlane, *,
        ready_timeout: float, resources: Resources | None = None,
        after_service_start: Callable[[str, bool], None] | None = None,
        before_service_fault: Callable[[str], None] | None = None,
    ) -> None:
        self.workloads = workloads
        self.services = services
        self.plane = plane
        self.ready_timeout = ready_timeout
        self.resources = resources or {}
        self._after_service_start = after_service_start
        self._before_service_fault = before_service_fault
        self._killed: set[str] = set()

    @property
    def platform(self) -> str:
        """E.g. ``local model of Kubernetes (HPA v2, Argo Rollouts); analysis: Prometheus 2.42.0``."""
        evaluator = self.plane.evaluator
        return f"{MODEL}; analysis: {evaluator.name if evaluator is not None else 'no Prometheus'}"

    @property
    def time_scale(self) -> float:
        return self.plane.speedup

    # -- write side ------------------------------------------------------------------------------

    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None:
        """Canary: new-version API replicas walk the Rollout's steps. Else: roll everything at once."""
        settings = dict(settings or {})
        strategy = self.plane.spec.strategy
        if canary and strategy is None:
            raise TargetError("deploy(canary=True): the manifests have no canary Rollout")
        self.plane.abort(f"superseded by {version}")
        if not canary:
            self.workloads.roll("api", version, settings)
            self.workloads.roll("worker", version, settings)
            self.workloads.stable_version = version
            return
        assert strategy is not None
        first = next((s.weight or 0 for s in strategy.steps if s.kind == "setWeight"), 0)
        self.workloads.start_canary(version, settings, first)
        self.plane.begin_rollout(version)

    def set_weight(self, weight: int) -> None:
        if self.workloads.canary_version is None:
            raise TargetError("set_weight: no canary is deployed")
        if not 0 <= weight <= 100:
            raise TargetError(f"set_weight({weight}): expected 0..100")
        self.plane.set_weight(weight)

    def promote(self, *, full: bool = False) -> None:
        if not self.plane.in_flight():
            raise TargetError("promote: no canary rollout is in progress")
        self.plane.promote(full=full)

    def abort(self) -> None:
        self.plane.abort("aborted by the user")

    def scale(self, component: str, replicas: int) -> None:
        self.workloads.scale(self._component(component), replicas)

    def kill(self, component: str, replica: int) -> None:
        """SIGKILL one replica (or a whole dependency) at once, as a crash would."""
        if component in SERVICE_ALIASES:
            service = self._service(component)
            self._fault(component)
            service.kill()
            self._killed.add(SERVICE_ALIASES[component])
            return
        self.workloads.kill(self._component(component), replica)

    def stop(self, dependency: str) -> None:
        """Stop a dependency (an outage) or every replica of a component."""
        if dependency in SERVICE_ALIASES:
            service = self._service(dependency)
            self._fault(dependency)
            service.stop()
        else:
            self.workloads.stop(self._component(dependency))

    def start(self, dependency: str) -> None:
        """Start a stopped dependency (re-provisioned when it lost its state) or replace dead replicas."""
        if dependency not in SERVICE_ALIASES:
            self.workloads.start(self._component(dependency))
            return
        key = SERVICE_ALIASES[dependency]
        self._service(dependency).start(timeout=self.ready_timeout)
        if self._after_service_start is not None:
            self._after_service_start(key, key in self._killed)
        self._killed.discard(key)

    def restart(self, dependency: str) -> None:
        """Restart a dependency in place, or roll every replica of a component."""
        if dependency in SERVICE_ALIASES:
            self.stop(dependency)
            self.start(dependency)
        else:
            component = self._component(dependency)
            settings = self.workloads.stable_settings.get(component, {})
            self.workloads.roll(component, self.workloads.stable_version, dict(settings))

    # -- read side -------------------------------------------------------------------------------

    def replicas(self, component: str) -> list[ReplicaStatus]:
        return [self._observe(r) for r in self.workloads.of(self._component(component))]

    def autoscaler(self, component: str) -> AutoscalerStatus | None:
        stable = [r for r in self.workloads.of(self._component(component)) if r.track == "stable"]
        return self.plane.autoscaler_status(component, len(stable))

    def rollout(self) -> RolloutStatus:
        return self.plane.rollout_status(self.workloads.stable_version, self.workloads.canary_version)

    def _observe(self, replica: Replica) -> ReplicaStatus:
        declared = self.resources.get(replica.component, {})
        memory, cpu, listening = _process_facts(replica.process.pid)
        return ReplicaStatus(
            component=replica.component, name=replica.process.name, version=replica.version,
            track=replica.track, ready=replica.process.is_running() and answers_http(replica.probe_url),
            pid=replica.process.pid, metrics_url=replica.metrics_url, listening=listening,
            memory_bytes=memory, cpu_seconds=cpu, limits=dict(declared.get("limits", {})),
            requests=dict(declared.get("requests", {})),
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _component(self, name: str) -> str:
        if name not in COMPONENTS:
            valid = ", ".join([*COMPONENTS, "postgres", "redis", "s3"])
            raise TargetError(f"unknown component {name!r}; valid: {valid}")
        return name

    def _fault(self, name: str) -> None:
        if self._before_service_fault is not None:
            self._before_service_fault(SERVICE_ALIASES[name])

    def _service(self, name: str) -> Service:
        key = SERVICE_ALIASES[name]
        if key not in self.services:
            raise TargetError(f"service {name!r} is not controlled by this run (an external emulator?)")
        return self.services[key]


def _process_facts(pid: int | None) -> tuple[int | None, float | None, tuple[str, ...]]:
    """RSS, CPU seconds (children included) and listening addresses of ``pid``, as the OS reports them."""
    import psutil

    if pid is None:
        return None, None, ()
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        family = [proc, *proc.children(recursive=True)]
        cpu = sum(p.cpu_times().user + p.cpu_times().system for p in family)
        listening = sorted(
            f"{c.laddr[0]}:{c.laddr[1]}"
            for p in family
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr
        )
        return int(proc.memory_info().rss), float(cpu), tuple(listening)
    return None, None, ()


__all__ = ["MODEL", "SERVICE_ALIASES", "LocalControl"]
