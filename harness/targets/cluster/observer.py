"""Reading HPA and Argo Rollouts status from a real cluster (kind/aws) through the ``kubernetes`` client.

A cluster driver answers :meth:`~harness.targets.base.Control.autoscaler` and
:meth:`~harness.targets.base.Control.rollout` with :class:`ClusterObserver`, which reads

* ``AutoscalingV2Api.read_namespaced_horizontal_pod_autoscaler_status`` (``status.currentReplicas``,
  ``desiredReplicas``, ``currentMetrics[].resource.current.averageUtilization``, ``conditions``);
* ``CustomObjectsApi.get_namespaced_custom_object_status`` for ``rollouts.argoproj.io/v1alpha1``
  (``status.phase``, ``currentStepIndex``, ``canary.weights``, ``abort``, ``message``,
  ``stableRS``/``currentPodHash``; ``spec.strategy.canary.steps``);
* ``CustomObjectsApi.list_namespaced_custom_object`` for ``analysisruns`` (``status.phase`` and
  ``metricResults[].measurements[]``),

and returns the protocol's frozen snapshots. The APIs are injected (the driver's :class:`KubeApis`),
so tests pass fakes built from the client's own models.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from harness.targets.base import AnalysisMeasurement, AnalysisRunStatus, AutoscalerStatus, RolloutStatus
from harness.targets.cluster.kube import ARGO_GROUP, ARGO_VERSION
from harness.targets.cluster.kube import get as _get


def _epoch(stamp: Any) -> float:
    """An RFC 3339 time (``2026-01-01T00:00:00Z``) as seconds since the epoch; 0 when absent."""
    if isinstance(stamp, datetime):
        return stamp.timestamp()
    if not stamp:
        return 0.0
    return datetime.fromisoformat(str(stamp)).timestamp()


class ClusterObserver:
    """Read-only view of one namespace's autoscaling and rollouts."""

    def __init__(self, namespace: str, autoscaling: Any, custom: Any) -> None:
        self.namespace = namespace
        self.autoscaling = autoscaling
        self.custom = custom

    def autoscaler(self, name: str) -> AutoscalerStatus:
        """The HPA ``name`` as its controller last reported it."""
        hpa = self.autoscaling.read_namespaced_horizontal_pod_autoscaler_status(name, self.namespace)
        metrics: dict[str, float] = {}
        for metric in _get(hpa, "status", "current_metrics") or []:
            resource = _get(metric, "resource")
            value = _get(resource, "current", "average_utilization")
            if resource is not None and value is not None:
                metrics[f"{_get(resource, 'name')}_utilization_pct"] = float(value)
        conditions = {
            str(_get(c, "type")): f"{_get(c, 'status')}: {_get(c, 'reason')}"
            for c in _get(hpa, "status", "conditions") or []
        }
        return AutoscalerStatus(
            component=str(_get(hpa, "spec", "scale_target_ref", "name") or name),
            min_replicas=int(_get(hpa, "spec", "min_replicas") or 1),
            max_replicas=int(_get(hpa, "spec", "max_replicas") or 0),
            current_replicas=int(_get(hpa, "status", "current_replicas") or 0),
            desired_replicas=int(_get(hpa, "status", "desired_replicas") or 0),
            metrics=metrics,
            observed_at=time.time(),
            conditions=conditions,
        )

    def rollout(self, name: str) -> RolloutStatus:
        """The Rollout ``name`` with the AnalysisRuns it owns."""
        rollout = self.custom.get_namespaced_custom_object_status(ARGO_GROUP, ARGO_VERSION, self.namespace,
                                                                  "rollouts", name)
        status = rollout.get("status") or {}
        weights = (status.get("canary") or {}).get("weights") or {}
        step = status.get("currentStepIndex")
        stable, current = status.get("stableRS"), status.get("currentPodHash")
        steps = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary", {}).get("steps") or []
        return RolloutStatus(
            phase=str(status.get("phase", "Unknown")),
            stable_version=str(stable or ""),
            canary_version=str(current) if current and current != stable else None,
            step_index=int(step) if step is not None else None,
            steps=len(steps),
            weight=int((weights.get("canary") or {}).get("weight", 0)),
            aborted=bool(status.get("abort", False)),
            message=str(status.get("message", "")),
            analysis_runs=tuple(self.analysis_runs(name)),
        )

    def analysis_runs(self, rollout: str) -> list[AnalysisRunStatus]:
        """AnalysisRuns owned by ``rollout`` (its ReplicaSets are named after it), in listing order."""
        listing = self.custom.list_namespaced_custom_object(ARGO_GROUP, ARGO_VERSION, self.namespace,
                                                            "analysisruns")
        runs = []
        for item in listing.get("items", []):
            owners = [o.get("name") for o in item.get("metadata", {}).get("ownerReferences", [])]
            if owners and not any(str(o).startswith(rollout) for o in owners):
                continue
            runs.append(_analysis_run(item))
        return runs


def _analysis_run(item: dict[str, Any]) -> AnalysisRunStatus:
    status = item.get("status") or {}
    measurements = tuple(
        AnalysisMeasurement(metric=str(result.get("name")), phase=str(m.get("phase")),
                            value=str(m.get("value", "")), at=_epoch(m.get("finishedAt")))
        for result in status.get("metricResults", []) for m in result.get("measurements", []))
    return AnalysisRunStatus(item["metadata"]["name"], str(status.get("phase", "Pending")), measurements,
                             str(status.get("message", "")))


__all__ = ["ClusterObserver"]
