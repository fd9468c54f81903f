"""The local model's controllers: the manifests' HPAs and canary Rollout, run against local processes.

A thin I/O loop around the pure cores (:mod:`.hpa`, :mod:`.rollout`, :mod:`.analysis`), running in
its own thread for as long as the local target is up, as a cluster's controllers do:

* every ``scrape_period_s`` (real time) it hands the live replicas to ``discovery`` (the local
  target writes them into the real Prometheus' file-based service discovery, labelled as the
  manifests' ServiceMonitor/PodMonitor would label them), so Prometheus scrapes what runs now;
* every ``sync_period_s`` (manifest time; 15 s as the kube-controller-manager's
  ``--horizontal-pod-autoscaler-sync-period``) it samples per-process CPU with psutil (percent of the
  container's ``resources.requests.cpu``, as metrics-server reports it), reconciles each HPA and
  calls ``cluster.scale(component, n)``;
* while a canary runs it reconciles the :class:`~.rollout.CanaryRollout` (the Argo Rollouts
  controller) and calls ``cluster.set_weight(w)``, then ``cluster.promote()`` or ``cluster.abort()``;
  the AnalysisTemplates' queries go, unchanged, to the ``evaluator`` (Prometheus' HTTP API).

``time_scale`` compresses manifest time (pauses, intervals, stabilisation windows) so a PR run takes
minutes; CPU is always measured in real time, and so is Prometheus: a template's ``[2m]`` window is
two wall-clock minutes, which on a PR run spans the canary's whole life (the queries run unchanged).
The cluster is anything with the methods of :class:`ClusterHandle` (the local target's
:class:`~harness.targets.local.workloads.Workloads`).
What the controllers decided is read back as the protocol's snapshots
(:meth:`LocalControlPlane.autoscaler_status`, :meth:`LocalControlPlane.rollout_status`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.services.prometheus_api import QueryResult
from harness.targets.base import AutoscalerStatus, RolloutStatus, ScaleEvent
from harness.targets.local.cluster.analysis import MetricSpec
from harness.targets.local.cluster.hpa import Decision, HpaAutoscaler
from harness.targets.local.cluster.inputs import (
    ClusterHandle,
    ControlPlaneSpec,
    CpuSampler,
    ReplicaInfo,
    Sampler,
    VirtualClock,
    cpu_request,
)
from harness.targets.local.cluster.rollout import CanaryRollout
from harness.targets.local.cluster.status import analysis_runs

EVENTS_KEPT = 200


class Evaluator(Protocol):
    """Where the AnalysisTemplates' queries are evaluated (Prometheus' ``/api/v1/query``)."""

    @property
    def name(self) -> str: ...

    def query(self, promql: str) -> QueryResult: ...


@dataclass(slots=True)
class _HpaState:
    autoscaler: HpaAutoscaler
    last: Decision | None = None
    events: list[ScaleEvent] = field(default_factory=list)
    conditions: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LocalControlPlane:
    """Runs the HPAs and canary rollouts of ``spec`` against ``cluster`` in a background thread."""

    cluster: ClusterHandle
    spec: ControlPlaneSpec
    speedup: float = 1.0
    sync_period_s: float = 15.0
    scrape_period_s: float = 1.0
    evaluator: Evaluator | None = None
    discovery: Callable[[list[ReplicaInfo]], None] | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    analysis: list[dict[str, Any]] = field(default_factory=list)
    rollout: CanaryRollout | None = None
    errors: list[str] = field(default_factory=list)
    clock: VirtualClock | None = None
    _hpas: dict[str, _HpaState] = field(init=False)
    cpu: Sampler = field(default_factory=CpuSampler)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _last_sync: float = -1e18
    _weight: int = 0

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = VirtualClock(self.speedup)
        self._hpas = {c: _HpaState(HpaAutoscaler(p)) for c, p in self.spec.hpas.items()}

    def now(self) -> float:
        assert self.clock is not None  # set in __post_init__
        return self.clock.now()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="local-controllers", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None

    # -- the Rollout ---------------------------------------------------------------------------

    def begin_rollout(self, canary_version: str) -> CanaryRollout:
        """Start walking the Rollout's steps for a canary the cluster has just deployed."""
        if self.spec.strategy is None:
            raise ValueError("the manifests have no canary Rollout")
        with self._lock:
            args = {"canary-hash": canary_version, "service-name": "api-canary"}
            self.rollout = CanaryRollout(self.spec.strategy, self.spec.templates, self.now(), extra_args=args)
            self._weight = -1
            rollout, action = self.rollout, self._reconcile_rollout(self.now())
        _run_action(action)  # the first setWeight at once, as the controller does
        return rollout

    def in_flight(self) -> bool:
        with self._lock:
            return self.rollout is not None and not self.rollout.done

    def promote(self, *, full: bool = False) -> None:
        """Resume the current pause (``kubectl argo rollouts promote``); ``full`` skips every step."""
        with self._lock:
            if self.rollout is None or self.rollout.done:
                raise ValueError("no canary rollout is in progress")
            if full:
                self.rollout.step_index = len(self.rollout.strategy.steps)
            self.rollout.promote()
            action = self._reconcile_rollout(self.now())
        _run_action(action)

    def abort(self, reason: str) -> None:
        """Abort the rollout in flight (weight 0, canary gone); nothing to do when none is."""
        with self._lock:
            if self.rollout is not None and not self.rollout.done:
                self.rollout.abort(self.now(), reason)
                self._weight = self.rollout.weight  # 0: applied right here, not again by the loop
        self.cluster.abort()

    def set_weight(self, weight: int) -> None:
        """Override the canary weight until the next ``setWeight`` step."""
        with self._lock:
            self.cluster.set_weight(weight)
            if self.rollout is not None and not self.rollout.done:
                self.rollout.weight = self._weight = weight

    # -- status --------------------------------------------------------------------------------

    def autoscaler_status(self, component: str, current: int) -> AutoscalerStatus | None:
        """The HPA of ``component`` as its status would read (None: no HPA targets it)."""
        with self._lock:
            state = self._hpas.get(component)
            if state is None:
                return None
            policy, last = state.autoscaler.policy, state.last
            assert self.clock is not None
            utilisation = last.utilisation.get("cpu") if last else None
            return AutoscalerStatus(
                component=component, min_replicas=policy.min_replicas, max_replicas=policy.max_replicas,
                current_replicas=current, desired_replicas=last.desired if last else current,
                metrics={} if utilisation is None else {"cpu_utilization_pct": round(utilisation, 1)},
                events=tuple(state.events), observed_at=self.clock.epoch(last.at) if last else 0.0,
                conditions=dict(state.conditions),
            )

    def rollout_status(self, stable_version: str, canary_version: str | None) -> RolloutStatus:
        """The Rollout's status: phase, step, weight and the AnalysisRuns with their measurements."""
        with self._lock:
            r = self.rollout
            steps = len(self.spec.strategy.steps) if self.spec.strategy else 0
            if r is None:
                return RolloutStatus("Healthy", stable_version, steps=steps)
            assert self.clock is not None
            return RolloutStatus(
                phase=r.status, stable_version=stable_version, steps=steps, aborted=r.aborted,
                canary_version=None if r.done else canary_version, weight=0 if r.done else r.weight,
                step_index=None if r.done else r.step_index, message=r.message,
                analysis_runs=analysis_runs(r.runs, self.clock.epoch),
            )

    # -- the loop ------------------------------------------------------------------------------

    def tick(self) -> None:
        """One loop iteration: discovery; HPA when a sync period passed; rollout."""
        now = self.now()
        processes = self.cluster.processes()
        if self.discovery is not None:
            self.discovery(processes)
        if now - self._last_sync >= self.sync_period_s:
            self._last_sync = now
            self._autoscale(processes, now)
        with self._lock:
            action = self._reconcile_rollout(now)
        _run_action(action)  # outside the lock: a promotion rolls replicas for seconds

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception as exc:  # keep the loop alive; the status reports it
                self._error(f"{type(exc).__name__}: {exc}")
            self._stop.wait(max(0.0, self.scrape_period_s - (time.monotonic() - started)))

    def _error(self, message: str) -> None:
        with self._lock:
            self.errors = [*self.errors[-(EVENTS_KEPT - 1):], message]
            if self.rollout is not None and not self.rollout.done:
                self.rollout.message = f"ControllerError: {message}"

    def _autoscale(self, processes: list[ReplicaInfo], now: float) -> None:
        sample: dict[str, Any] = {"t": round(now, 3), "replicas": {}, "utilisation": {}, "desired": {}}
        for component, state in self._hpas.items():
            mine = [p for p in processes if p.component == component and p.track == "stable"]
            request = self.spec.cpu_requests.get(component, 1.0)
            utilisation = [self.cpu.utilisation(p.pid, request) for p in mine]
            decision = state.autoscaler.reconcile(now, len(mine), {"cpu": utilisation})
            sample["replicas"][component] = len(mine)
            sample["utilisation"][component] = decision.utilisation.get("cpu")
            sample["desired"][component] = decision.desired
            self._apply(component, state, decision)
        sample["canary_weight"] = self.rollout.weight if self.rollout and not self.rollout.done else 0
        with self._lock:
            self.timeline = [*self.timeline[-(10 * EVENTS_KEPT - 1):], sample]

    def _apply(self, component: str, state: _HpaState, decision: Decision) -> None:
        metric = "True: ValidMetricFound" if decision.utilisation.get("cpu") is not None else (
            "False: FailedGetResourceMetric (no CPU sample yet)")
        with self._lock:
            state.last, state.conditions["ScalingActive"] = decision, metric
        if decision.desired == decision.current:
            return
        try:
            self.cluster.scale(component, decision.desired)
        except Exception as exc:  # the HPA's AbleToScale condition says so; the loop carries on
            with self._lock:
                state.conditions["AbleToScale"] = f"False: FailedUpdateScale ({type(exc).__name__}: {exc})"
            return
        assert self.clock is not None
        event = ScaleEvent(self.clock.epoch(decision.at), component, decision.current, decision.desired,
                           f"cpu {decision.utilisation.get('cpu') or 0:.0f}% of request")
        with self._lock:
            state.conditions["AbleToScale"] = "True: SucceededRescale"
            state.events = [*state.events[-(EVENTS_KEPT - 1):], event]

    def _reconcile_rollout(self, now: float) -> Callable[[], None] | None:
        """Reconcile the rollout (the caller holds the lock); the cluster call it asks for, if any."""
        rollout = self.rollout
        if rollout is None or (rollout.done and self._weight == rollout.weight):
            return None
        taken = rollout.reconcile(now, self._measure)
        for name, m in taken:
            value = m.value[0] if isinstance(m.value, list) and len(m.value) == 1 else m.value
            self.analysis.append({"t": round(now, 3), "metric": name, "value": value,
                                  "phase": m.phase.value, "message": m.message})
        if rollout.weight == self._weight:
            return None
        weight = self._weight = rollout.weight
        if rollout.aborted:
            return self._for(rollout, self.cluster.abort)
        if rollout.done:
            return self._for(rollout, self.cluster.promote)
        return self._for(rollout, lambda: self.cluster.set_weight(weight))

    def _for(self, rollout: CanaryRollout, call: Callable[[], None]) -> Callable[[], None]:
        """``call``, unless another rollout began meanwhile: a promotion decided for the last canary
        must never roll the next one out."""

        def guarded() -> None:
            with self._lock:
                current = self.rollout is rollout
            if current:
                call()

        return guarded

    def _measure(self, spec: MetricSpec) -> Any:
        if spec.query is None:
            raise ValueError(f"metric {spec.name} has no prometheus query")
        if self.evaluator is None:
            raise ValueError("no Prometheus to evaluate the analysis on")
        return self.evaluator.query(spec.query).argo_value


def _run_action(action: Callable[[], None] | None) -> None:
    if action is not None:
        action()


__all__ = ["ClusterHandle", "ControlPlaneSpec", "CpuSampler", "Evaluator", "LocalControlPlane", "ReplicaInfo",
           "Sampler", "VirtualClock", "cpu_request"]
