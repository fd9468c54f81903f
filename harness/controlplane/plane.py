"""The local control plane: HPAs and the canary Rollout from manifests/, run against local processes.

A thin I/O loop around the pure cores (:mod:`.hpa`, :mod:`.rollout`, :mod:`.promql`):

* every ``scrape_period_s`` (real time) it scrapes each replica's ``/metrics`` into a
  :class:`~harness.controlplane.promql.SampleStore` (labels ``job``, ``instance``, ``track``,
  ``service`` = ``api-stable``/``api-canary`` and ``rollouts_pod_template_hash`` = the version, so the
  manifests' AnalysisTemplate queries select the canary as they do in a cluster);
* every ``sync_period_s`` (manifest time; 15 s as the kube-controller-manager) it samples per-process
  CPU with psutil (percent of the container's ``resources.requests.cpu``), reconciles each HPA and
  calls ``cluster.scale(component, n)``;
* while a canary runs it reconciles the :class:`~harness.controlplane.rollout.CanaryRollout` and calls
  ``cluster.set_weight(w)``, then ``cluster.promote()`` when it completes or ``cluster.abort()``.

``speedup`` compresses manifest time (pauses, intervals, stabilisation windows, rate windows) so a PR
run takes minutes; CPU is always measured in real time. The cluster is anything with the methods of
:class:`ClusterHandle`; :func:`local_cluster` adapts ``harness.targets.local``'s ``LocalControl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.controlplane.analysis import AnalysisTemplate, MetricSpec
from harness.controlplane.hpa import HpaAutoscaler, HpaPolicy
from harness.controlplane.promql import Evaluator, LocalPromQL, SampleStore
from harness.controlplane.rollout import CanaryRollout, CanaryStrategy


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
    """Manifest time: real seconds since start times ``speedup``."""

    def __init__(self, speedup: float = 1.0, real: Callable[[], float] = time.monotonic) -> None:
        self.speedup, self._real, self._t0 = speedup, real, real()

    def now(self) -> float:
        return (self._real() - self._t0) * self.speedup


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


@dataclass(slots=True)
class LocalControlPlane:
    """Runs the HPAs and canary rollouts of ``spec`` against ``cluster`` in a background thread."""

    cluster: ClusterHandle
    spec: ControlPlaneSpec
    speedup: float = 1.0
    sync_period_s: float = 15.0
    scrape_period_s: float = 1.0
    evaluator: Evaluator | None = None
    store: SampleStore = field(default_factory=SampleStore)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    analysis: list[dict[str, Any]] = field(default_factory=list)
    rollout: CanaryRollout | None = None
    errors: list[str] = field(default_factory=list)
    clock: VirtualClock | None = None
    _hpas: dict[str, HpaAutoscaler] = field(init=False)
    _cpu: CpuSampler = field(default_factory=CpuSampler)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _last_sync: float = -1e18
    _weight: int = 0
    _http: Any = None

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = VirtualClock(self.speedup)
        self._hpas = {c: HpaAutoscaler(p) for c, p in self.spec.hpas.items()}
        self.store.retention_s = 900.0 * max(1.0, self.speedup)
        if self.evaluator is None:
            self.evaluator = LocalPromQL(self.store)

    def now(self) -> float:
        assert self.clock is not None  # set in __post_init__
        return self.clock.now()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="controlplane", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def begin_rollout(self, canary_version: str) -> CanaryRollout:
        """Start walking the Rollout's steps for a canary the cluster has just deployed."""
        if self.spec.strategy is None:
            raise ValueError("the manifests have no canary Rollout")
        with self._lock:
            args = {"canary-hash": canary_version, "service-name": "api-canary"}
            self.rollout = CanaryRollout(self.spec.strategy, self.spec.templates, self.now(), extra_args=args)
            self._weight = -1
            return self.rollout

    def status(self) -> dict[str, Any]:
        """Rollout phase/weight/step and the evaluator in use (for ``Control.rollout_status``)."""
        with self._lock:
            r = self.rollout
            return {
                "phase": r.status if r else "Healthy",
                "canary_weight": r.weight if r else 0,
                "step": r.step_index if r else None,
                "message": r.message if r else "",
                "evaluator": self.evaluator.name if self.evaluator else None,
                "speedup": self.speedup,
            }

    def tick(self) -> None:
        """One loop iteration: scrape; HPA when a sync period passed; rollout."""
        now = self.now()
        processes = self.cluster.processes()
        self._scrape(processes, now)
        if now - self._last_sync >= self.sync_period_s:
            self._last_sync = now
            self._autoscale(processes, now)
        self._advance_rollout(now)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception as exc:  # keep the loop alive; the stage reports these
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(max(0.0, self.scrape_period_s - (time.monotonic() - started)))

    def _scrape(self, processes: list[ReplicaInfo], now: float) -> None:
        import httpx

        if self._http is None:
            self._http = httpx.Client(timeout=2.0, verify=False)
        for replica in processes:
            labels = {
                "job": replica.component,
                "instance": replica.metrics_url,
                "track": replica.track,
                "service": f"{replica.component}-{replica.track}",
                "rollouts_pod_template_hash": replica.version,
            }
            try:
                text = self._http.get(replica.metrics_url).text
            except httpx.HTTPError:
                continue  # a replica that is starting or dying: a gap, as in Prometheus
            self.store.ingest_text(text, now, labels)

    def _autoscale(self, processes: list[ReplicaInfo], now: float) -> None:
        sample: dict[str, Any] = {"t": round(now, 3), "replicas": {}, "utilisation": {}, "desired": {}}
        for component, hpa in self._hpas.items():
            mine = [p for p in processes if p.component == component and p.track == "stable"]
            request = self.spec.cpu_requests.get(component, 1.0)
            utilisation = [self._cpu.utilisation(p.pid, request) for p in mine]
            decision = hpa.reconcile(now, len(mine), {"cpu": utilisation})
            sample["replicas"][component] = len(mine)
            sample["utilisation"][component] = decision.utilisation.get("cpu")
            sample["desired"][component] = decision.desired
            if decision.desired != len(mine):
                self.cluster.scale(component, decision.desired)
        sample["canary_weight"] = self.rollout.weight if self.rollout and not self.rollout.done else 0
        with self._lock:
            self.timeline.append(sample)

    def _advance_rollout(self, now: float) -> None:
        with self._lock:
            rollout = self.rollout
        if rollout is None or (rollout.done and self._weight == rollout.weight):
            return
        taken = rollout.reconcile(now, self._measure)
        for name, m in taken:
            value = m.value[0] if isinstance(m.value, list) and len(m.value) == 1 else m.value
            self.analysis.append(
                {
                    "t": round(now, 3),
                    "metric": name,
                    "value": value,
                    "phase": m.phase.value,
                    "message": m.message,
                }
            )
        if rollout.weight != self._weight:
            self._weight = rollout.weight
            if rollout.aborted:
                self.cluster.abort()
            elif rollout.done:
                self.cluster.promote()
            else:
                self.cluster.set_weight(rollout.weight)

    def _measure(self, spec: MetricSpec) -> Any:
        if spec.query is None or self.evaluator is None:
            raise ValueError(f"metric {spec.name} has no prometheus query")
        return self.evaluator.query(spec.query, self.now()).argo_value


class _LocalControlAdapter:
    def __init__(self, control: Any) -> None:
        self.control = control

    def processes(self) -> list[ReplicaInfo]:
        return [
            ReplicaInfo(r.component, r.track, r.version, r.process.pid, r.metrics_url)
            for r in self.control.all_replicas()
            if r.process.is_running()
        ]

    def scale(self, component: str, n: int) -> None:
        self.control.scale(component, n)

    def set_weight(self, weight: int) -> None:
        self.control.set_weight(weight)

    def promote(self) -> None:
        self.control.promote()

    def abort(self) -> None:
        self.control.abort()


def local_cluster(control: Any) -> ClusterHandle:
    """Adapt ``harness.targets.local.control.LocalControl`` (duck-typed: ``all_replicas``,
    ``scale``, ``set_weight``, ``promote``, ``abort``) to a :class:`ClusterHandle`."""
    for method in ("all_replicas", "scale", "set_weight", "promote", "abort"):
        if not callable(getattr(control, method, None)):
            raise TypeError(f"{type(control).__name__} has no {method}(): not a local control handle")
    return _LocalControlAdapter(control)


__all__ = [
    "ClusterHandle",
    "ControlPlaneSpec",
    "CpuSampler",
    "LocalControlPlane",
    "ReplicaInfo",
    "VirtualClock",
    "cpu_request",
    "local_cluster",
]
