"""What the model's controllers act on and read: the cluster handle, the manifests' spec, the clock, CPU.

The I/O-free inputs of :class:`~harness.targets.local.cluster.plane.LocalControlPlane`: the
:class:`ClusterHandle` it drives (the local target's Workloads, or a test's stand-in), the
:class:`ControlPlaneSpec` read from the rendered manifests, manifest time (:class:`VirtualClock`)
and per-replica CPU as metrics-server would report it (:class:`CpuSampler`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.targets.local.cluster.analysis import AnalysisTemplate
from harness.targets.local.cluster.hpa import HpaPolicy
from harness.targets.local.cluster.rollout import CanaryStrategy


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    component: str
    track: str  # "stable" | "canary"
    version: str
    pid: int | None
    metrics_url: str


class ClusterHandle(Protocol):
    def processes(self) -> list[ReplicaInfo]: ...

    def scale(self, component: str, n: int) -> None: ...

    def set_weight(self, weight: int) -> None: ...

    def promote(self) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ControlPlaneSpec:
    """What the manifests say: HPA per component, CPU request per component, the canary."""

    hpas: Mapping[str, HpaPolicy]
    cpu_requests: Mapping[str, float]  # cores
    strategy: CanaryStrategy | None
    templates: Mapping[str, AnalysisTemplate]

    @classmethod
    def from_documents(cls, documents: Sequence[Mapping[str, Any]]) -> ControlPlaneSpec:
        by_kind: dict[str, list[Mapping[str, Any]]] = {}
        for doc in documents:
            by_kind.setdefault(str(doc.get("kind")), []).append(doc)
        hpas = [HpaPolicy.from_manifest(d) for d in by_kind.get("HorizontalPodAutoscaler", [])]
        rollouts = [d for d in by_kind.get("Rollout", []) if "canary" in d["spec"].get("strategy", {})]
        workloads = by_kind.get("Deployment", []) + by_kind.get("Rollout", [])
        return cls(
            hpas={h.target_name: h for h in hpas},
            cpu_requests={w["metadata"]["name"]: cpu_request(w) for w in workloads},
            strategy=CanaryStrategy.from_manifest(rollouts[0]) if rollouts else None,
            templates={
                t.name: t for t in map(AnalysisTemplate.from_manifest, by_kind.get("AnalysisTemplate", []))
            },
        )


def cpu_request(workload: Mapping[str, Any]) -> float:
    """Sum of the containers' ``resources.requests.cpu`` in cores (``250m`` -> 0.25); 1 if unset."""
    total = 0.0
    for container in workload["spec"]["template"]["spec"].get("containers", []):
        value = str((container.get("resources", {}).get("requests") or {}).get("cpu", "0"))
        total += float(value[:-1]) / 1000 if value.endswith("m") else float(value)
    return total or 1.0


class VirtualClock:
    """Manifest time: real seconds since start times ``speedup``; :meth:`epoch` maps it back."""

    def __init__(self, speedup: float = 1.0, real: Callable[[], float] = time.monotonic) -> None:
        self.speedup, self._real, self._t0, self._epoch0 = speedup, real, real(), time.time()

    def now(self) -> float:
        return (self._real() - self._t0) * self.speedup

    def epoch(self, manifest_t: float) -> float:
        """Seconds since the epoch at manifest time ``manifest_t``."""
        return self._epoch0 + manifest_t / self.speedup


class Sampler(Protocol):
    """Where the HPA's CPU utilisation comes from (metrics-server in a cluster)."""

    def utilisation(self, pid: int | None, request_cores: float) -> float | None: ...


class CpuSampler:
    """Per-process CPU as percent of the request (the HPA's utilisation), children included."""

    def __init__(self) -> None:
        self._procs: dict[int, Any] = {}

    def utilisation(self, pid: int | None, request_cores: float) -> float | None:
        import psutil

        if pid is None:
            return None
        try:
            proc = self._procs.get(pid)
            if proc is None:
                self._procs[pid] = proc = psutil.Process(pid)
                proc.cpu_percent(None)
                return None  # the first reading has no interval: a missing metric
            percent = proc.cpu_percent(None) + sum(c.cpu_percent(None) for c in proc.children(recursive=True))
        except psutil.Error:
            self._procs.pop(pid, None)
            return None
        return float(percent) / request_cores


__all__ = ["ClusterHandle", "ControlPlaneSpec", "CpuSampler", "ReplicaInfo", "Sampler", "VirtualClock",
           "cpu_request"]
