"""What the manifests declare, as plain data: workload kinds and pod templates, HPA specs,
resources, Go durations.

One reading of the spec for everyone who needs it: the local target's model runs the HPA algorithm
on :class:`HpaPolicy`; the load stage judges observed scaling against the same declared numbers.
Defaults are the API server's (``SetDefaults_HorizontalPodAutoscalerBehavior`` in
``pkg/apis/autoscaling/v2/defaults.go``): scale up 0 s stabilisation, max(100 %, 4 pods) per 15 s;
scale down 300 s stabilisation, 100 % per 15 s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TOLERANCE = 0.1  # the controller's --horizontal-pod-autoscaler-tolerance
# The one definition of workload kinds: those whose spec carries a pod template (a CronJob's under
# jobTemplate), and those of them that run a number of replicas (what an HPA can scale).
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Rollout", "Job",
                            "CronJob"})
SCALED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "Rollout"})


def pod_template(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A workload's pod template (``{}`` when it has none, e.g. a Rollout with a workloadRef)."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def pod_spec(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A workload's pod spec (``{}`` when it has none)."""
    spec = pod_template(doc).get("spec")
    return spec if isinstance(spec, dict) else {}


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    type: str  # "Pods" | "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True, slots=True)
class ScalingRules:
    stabilization_window_seconds: int
    policies: tuple[ScalingPolicy, ...]
    select_policy: str = "Max"  # "Max" | "Min" | "Disabled"


DEFAULT_SCALE_UP = ScalingRules(0, (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15)), "Max")
DEFAULT_SCALE_DOWN = ScalingRules(300, (ScalingPolicy("Percent", 100, 15),), "Max")


@dataclass(frozen=True, slots=True)
class MetricTarget:
    """One ``spec.metrics[]`` entry of type Resource with an ``averageUtilization`` target."""

    name: str  # e.g. "cpu"
    average_utilization: int


@dataclass(frozen=True, slots=True)
class HpaPolicy:
    """An ``autoscaling/v2`` HorizontalPodAutoscaler reduced to what its algorithm needs."""

    name: str
    target_kind: str
    target_name: str
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricTarget, ...]
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    tolerance: float = DEFAULT_TOLERANCE

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> HpaPolicy:
        """Parse an ``autoscaling/v2`` HorizontalPodAutoscaler dict."""
        if manifest.get("kind") != "HorizontalPodAutoscaler":
            raise ValueError(f"not a HorizontalPodAutoscaler: kind={manifest.get('kind')!r}")
        spec = manifest["spec"]
        behavior = spec.get("behavior") or {}
        return cls(
            name=manifest.get("metadata", {}).get("name", ""),
            target_kind=spec["scaleTargetRef"]["kind"],
            target_name=spec["scaleTargetRef"]["name"],
            min_replicas=int(spec.get("minReplicas", 1)),
            max_replicas=int(spec["maxReplicas"]),
            metrics=tuple(_parse_metric(m) for m in spec.get("metrics", [])),
            scale_up=_parse_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
            scale_down=_parse_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
        )


def _parse_metric(metric: Mapping[str, Any]) -> MetricTarget:
    if metric.get("type") != "Resource":
        raise ValueError(f"only Resource metrics are supported locally, got {metric.get('type')!r}")
    resource = metric["resource"]
    target = resource["target"]
    if target.get("type") != "Utilization":
        raise ValueError(f"only Utilization targets are supported locally, got {target.get('type')!r}")
    return MetricTarget(resource["name"], int(target["averageUtilization"]))


def _parse_rules(rules: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    # The API server defaults each field separately (SetDefaults_HorizontalPodAutoscalerBehavior).
    if not rules:
        return default
    given = rules.get("policies")
    policies = default.policies if given is None else tuple(
        ScalingPolicy(p["type"], int(p["value"]), int(p["periodSeconds"])) for p in given)
    return ScalingRules(int(rules.get("stabilizationWindowSeconds", default.stabilization_window_seconds)),
                        policies, rules.get("selectPolicy", default.select_policy))


def hpa_policies(documents: list[dict[str, Any]]) -> dict[str, HpaPolicy]:
    """Every HPA of ``documents`` by the name of the workload it scales."""
    policies = [HpaPolicy.from_manifest(d) for d in documents if d.get("kind") == "HorizontalPodAutoscaler"]
    return {p.target_name: p for p in policies}


_UNITS = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: Any) -> float:
    """A Kubernetes resource quantity (``250m``, ``512Mi``, ``1``) as a number (cores, bytes)."""
    text = str(value)
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _UNITS[suffix]
    return float(text)


def declared_resources(documents: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per workload, its containers' summed ``resources`` (``{"requests": {"cpu": 0.25}, "limits": ...}``)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for doc in documents:
        if doc.get("kind") not in SCALED_KINDS:
            continue
        totals: dict[str, dict[str, float]] = {"requests": {}, "limits": {}}
        for container in pod_spec(doc).get("containers", []):
            for kind, values in (container.get("resources") or {}).items():
                for name, value in (values or {}).items():
                    totals.setdefault(kind, {})[name] = totals.get(kind, {}).get(name, 0.0) + quantity(value)
        out[str(doc.get("metadata", {}).get("name", ""))] = totals
    return out


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str | int | float | None) -> float | None:
    """Go durations as Argo Rollouts writes them (``30s``, ``5m``, ``1h30m``, or bare seconds) in seconds."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float) or text.isdigit():
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


__all__ = ["DEFAULT_SCALE_DOWN", "DEFAULT_SCALE_UP", "DEFAULT_TOLERANCE", "SCALED_KINDS", "WORKLOAD_KINDS",
           "HpaPolicy", "MetricTarget", "ScalingPolicy", "ScalingRules", "declared_resources", "hpa_policies",
           "parse_duration", "pod_spec", "pod_template", "quantity"]
