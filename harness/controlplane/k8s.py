"""Reading HPA and Argo Rollouts status from a real cluster (kind/aws) through the ``kubernetes`` client.

The load stage asks the same questions of a cluster as of the local control plane: how many
replicas does the HPA want and why, which step/weight is the Rollout at, did it abort, what did the
AnalysisRuns measure. :class:`ClusterObserver` answers them from

* ``AutoscalingV2Api.read_namespaced_horizontal_pod_autoscaler_status`` (``status.currentReplicas``,
  ``desiredReplicas``, ``currentMetrics[].resource.current.averageUtilization``, ``conditions``);
* ``CustomObjectsApi.get_namespaced_custom_object_status`` for ``rollouts.argoproj.io/v1alpha1``
  (``status.phase``, ``currentStepIndex``, ``canary.weights``, ``abort``, ``message``);
* ``CustomObjectsApi.list_namespaced_custom_object`` for ``analysisruns`` (``status.phase`` and
  ``metricResults[].measurements[]``).

The APIs are injected, so tests pass fakes; :meth:`ClusterObserver.from_kubeconfig` builds real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ARGO_GROUP, ARGO_VERSION = "argoproj.io", "v1alpha1"


@dataclass(frozen=True, slots=True)
class HpaStatus:
    name: str
    current_replicas: int
    desired_replicas: int
    min_replicas: int
    max_replicas: int
    utilisation: dict[str, int | None] = field(default_factory=dict)  # metric -> averageUtilization
    conditions: dict[str, str] = field(default_factory=dict)  # type -> "status: reason"


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    name: str
    phase: str
    step_index: int | None
    canary_weight: int
    aborted: bool
    message: str
    stable_hash: str | None
    current_hash: str | None


@dataclass(frozen=True, slots=True)
class AnalysisRunStatus:
    name: str
    phase: str
    measurements: list[dict[str, Any]]  # {"metric", "phase", "value", "finishedAt"}


def _get(obj: Any, *path: str) -> Any:
    """Walk attributes (client models) or keys (dicts) alike; None when absent."""
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    return obj


class ClusterObserver:
    """Read-only view of one namespace's autoscaling and rollouts."""

    def __init__(self, namespace: str, autoscaling: Any, custom: Any) -> None:
        self.namespace = namespace
        self.autoscaling = autoscaling
        self.custom = custom

    @classmethod
    def from_kubeconfig(cls, namespace: str, context: str | None = None) -> ClusterObserver:
        from kubernetes import client, config

        config.load_kube_config(context=context)  # type: ignore[no-untyped-call]
        return cls(namespace, client.AutoscalingV2Api(), client.CustomObjectsApi())

    def hpa_status(self, name: str) -> HpaStatus:
        hpa = self.autoscaling.read_namespaced_horizontal_pod_autoscaler_status(name, self.namespace)
        utilisation: dict[str, int | None] = {}
        for metric in _get(hpa, "status", "current_metrics") or []:
            resource = _get(metric, "resource")
            if resource is not None:
                utilisation[str(_get(resource, "name"))] = _get(resource, "current", "average_utilization")
        conditions = {
            str(_get(c, "type")): f"{_get(c, 'status')}: {_get(c, 'reason')}"
            for c in _get(hpa, "status", "conditions") or []
        }
        return HpaStatus(
            name=name,
            current_replicas=int(_get(hpa, "status", "current_replicas") or 0),
            desired_replicas=int(_get(hpa, "status", "desired_replicas") or 0),
            min_replicas=int(_get(hpa, "spec", "min_replicas") or 1),
            max_replicas=int(_get(hpa, "spec", "max_replicas") or 0),
            utilisation=utilisation,
            conditions=conditions,
        )

    def rollout_status(self, name: str) -> RolloutStatus:
        rollout = self.custom.get_namespaced_custom_object_status(
            ARGO_GROUP, ARGO_VERSION, self.namespace, "rollouts", name
        )
        status = rollout.get("status") or {}
        weights = (status.get("canary") or {}).get("weights") or {}
        step = status.get("currentStepIndex")
        return RolloutStatus(
            name=name,
            phase=str(status.get("phase", "Unknown")),
            step_index=int(step) if step is not None else None,
            canary_weight=int((weights.get("canary") or {}).get("weight", 0)),
            aborted=bool(status.get("abort", False)),
            message=str(status.get("message", "")),
            stable_hash=status.get("stableRS"),
            current_hash=status.get("currentPodHash"),
        )

    def analysis_runs(self, rollout: str) -> list[AnalysisRunStatus]:
        """AnalysisRuns owned by ``rollout`` (label ``rollout-type`` set by Argo), newest last."""
        listing = self.custom.list_namespaced_custom_object(
            ARGO_GROUP, ARGO_VERSION, self.namespace, "analysisruns"
        )
        runs = []
        for item in listing.get("items", []):
            owners = [o.get("name") for o in item.get("metadata", {}).get("ownerReferences", [])]
            if owners and not any(str(o).startswith(rollout) for o in owners):
                continue
            runs.append(_analysis_run(item))
        return runs


def _analysis_run(item: dict[str, Any]) -> AnalysisRunStatus:
    status = item.get("status") or {}
    measurements = [
        {
            "metric": result.get("name"),
            "phase": m.get("phase"),
            "value": m.get("value"),
            "finishedAt": m.get("finishedAt"),
        }
        for result in status.get("metricResults", [])
        for m in result.get("measurements", [])
    ]
    return AnalysisRunStatus(item["metadata"]["name"], str(status.get("phase", "Pending")), measurements)


__all__ = ["AnalysisRunStatus", "ClusterObserver", "HpaStatus", "RolloutStatus"]
