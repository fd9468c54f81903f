"""HPA v2 algorithm, with cases from the Kubernetes documentation.

Doc = https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/ ("HPA doc").
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.targets.local.cluster.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    HpaAutoscaler,
    HpaPolicy,
    MetricTarget,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    replicas_for_metrics,
    replicas_for_utilisation,
    scale_down_limit,
    scale_up_limit,
    stabilise,
)


@pytest.mark.parametrize(
    ("current", "utilisations", "target", "expected"),
    [
        # HPA doc, "Algorithm details": 200m current vs 100m desired doubles the replicas
        (2, [200.0, 200.0], 100, 4),
        # ... and 50m vs 100m halves them
        (4, [50.0, 50.0, 50.0, 50.0], 100, 2),
        # ... "skips any scaling action if the ratio is sufficiently close to 1.0" (tolerance 0.1)
        (3, [54.0, 54.0, 54.0], 50, 3),
        (3, [46.0, 46.0, 46.0], 50, 3),
        # just outside the tolerance: ceil(3 * 56/50) = ceil(3.36) = 4
        (3, [56.0, 56.0, 56.0], 50, 4),
        # HPA walkthrough: target 50 %, load drives one pod to 250 % -> ceil(1 * 5) = 5
        (1, [250.0], 50, 5),
        # never rounds down to zero while load exists: ceil(4 * 0.05) = 1
        (4, [5.0, 5.0, 5.0, 5.0], 50, 1),
    ],
)
def test_replicas_for_utilisation(
    current: int, utilisations: list[float], target: int, expected: int
) -> None:
    assert replicas_for_utilisation(current, utilisations, target) == expected


def test_missing_metrics_on_scale_down_count_as_100_percent() -> None:
    # HPA doc, "Algorithm details": missing pods assumed at 100 % of desired on a scale down.
    # Present: 2 pods at 10 % (ratio 0.2) -> with 2 missing at 100 %: mean 55 % over 50 % -> 1.1,
    # which reverses the direction: no scaling.
    assert replicas_for_utilisation(4, [10.0, 10.0, None, None], 50) == 4
    # 3 pods at 10 %, 1 missing at 100 % -> mean 32.5 % / 50 % = 0.65 -> ceil(0.65 * 4) = 3
    assert replicas_for_utilisation(4, [10.0, 10.0, 10.0, None], 50) == 3


def test_missing_metrics_on_scale_up_count_as_zero() -> None:
    # HPA doc, "Algorithm details": ... and 0 % in case of a scale up. 1 pod at 200 %, 1 missing:
    # mean 100 % / 50 % = 2.0 -> ceil(2 * 2) = 4 (instead of ceil(1 * 4) = 4 on the ready pod alone)
    assert replicas_for_utilisation(2, [200.0, None], 50) == 4
    # 1 pod at 60 %, 1 missing -> 30 % / 50 % = 0.6 would reverse the scale up: no change
    assert replicas_for_utilisation(2, [60.0, None], 50) == 2


def test_not_ready_pods_dampen_a_scale_up() -> None:
    # HPA doc: not-yet-ready pods are assumed to consume 0 % on a scale up.
    # ready pod at 150 %, one unready: mean 75 % / 50 % = 1.5 -> ceil(1.5 * 2) = 3
    assert replicas_for_utilisation(2, [150.0, 150.0], 50, ready=[True, False]) == 3


def test_several_metrics_the_largest_wins_and_unavailable_blocks_scale_down() -> None:
    # HPA doc, "Scaling on multiple metrics": the largest proposal is used.
    assert replicas_for_metrics(3, [2, 5, 4]) == 5
    # ... "if a scale down is suggested by the metrics which can be fetched, scaling is skipped"
    assert replicas_for_metrics(3, [2, None]) == 3
    # ... "still capable of scaling up if one or more metrics give a desiredReplicas greater"
    assert replicas_for_metrics(3, [6, None]) == 6


def test_default_scale_up_allows_the_larger_of_double_or_plus_four() -> None:
    # HPA doc, "Default Behavior": scale up by 100 % or 4 pods per 15 s, whichever is more.
    assert scale_up_limit(1, DEFAULT_SCALE_UP, [], [], 0.0) == 5
    assert scale_up_limit(10, DEFAULT_SCALE_UP, [], [], 0.0) == 20


def test_scale_down_percent_policy_example_from_docs() -> None:
    # HPA doc, "Scaling Policies": Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max by default:
    # at 80 replicas, 8 are removed; at 72, 10 % is 7.2 "rounded up to 8" -> 64.
    rules = ScalingRules(300, (ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)))
    assert scale_down_limit(80, rules, [], [], 0.0) == 72
    assert scale_down_limit(72, rules, [], [], 100.0) == 64
    # "When the number of replicas falls below 40, the first policy (Pods) is applied": 4 at a time.
    assert scale_down_limit(30, rules, [], [], 0.0) == 26


def test_select_policy_min_limits_scale_down() -> None:
    # HPA doc, "Example: limit scale down rate": Percent 10 / 60 and Pods 5 / 60 with selectPolicy Min.
    rules = ScalingRules(300, (ScalingPolicy("Percent", 10, 60), ScalingPolicy("Pods", 5, 60)), "Min")
    assert scale_down_limit(80, rules, [], [], 0.0) == 75


def test_select_policy_disabled_freezes_the_direction() -> None:
    # HPA doc, "Example: disable scale down": selectPolicy Disabled.
    rules = ScalingRules(300, (ScalingPolicy("Percent", 100, 15),), "Disabled")
    assert scale_down_limit(10, rules, [], [], 0.0) == 10


def test_period_counts_earlier_changes() -> None:
    # HPA doc, "Scaling Policies": periodSeconds is the window over which the policy must hold.
    rules = ScalingRules(0, (ScalingPolicy("Pods", 4, 60),))
    events = [ScaleEvent(at=10.0, change=4)]
    assert scale_up_limit(5, rules, events, [], 30.0) == 5  # already added 4 in this minute
    assert scale_up_limit(5, rules, events, [], 71.0) == 9  # the event left the period


def test_stabilisation_window_keeps_the_highest_recent_recommendation() -> None:
    # HPA doc, "Stabilization window": the highest recommendation of the last 300 s is used.
    history = [(0.0, 8), (100.0, 5), (200.0, 3)]
    assert stabilise(8, 2, history, 250.0, up_window=0, down_window=300) == 8
    assert stabilise(8, 2, history, 301.0, up_window=0, down_window=300) == 5


def _policy(**overrides: Any) -> HpaPolicy:
    base: dict[str, Any] = {
        "name": "api",
        "target_kind": "Deployment",
        "target_name": "api",
        "min_replicas": 2,
        "max_replicas": 6,
        "metrics": (MetricTarget("cpu", 60),),
    }
    base.update(overrides)
    return HpaPolicy(**base)


def test_autoscaler_scales_up_within_max_then_down_after_window() -> None:
    hpa = HpaAutoscaler(_policy())
    d = hpa.reconcile(0.0, 2, {"cpu": [300.0, 300.0]})
    assert (d.proposed, d.desired) == (10, 6)  # never past maxReplicas
    d = hpa.reconcile(15.0, 6, {"cpu": [5.0] * 6})
    assert d.desired == 6  # scale-down stabilisation (300 s default) holds it
    d = hpa.reconcile(316.0, 6, {"cpu": [5.0] * 6})
    assert d.desired == 2  # window passed: down to minReplicas


def test_autoscaler_brings_out_of_bounds_counts_back() -> None:
    hpa = HpaAutoscaler(_policy())
    assert hpa.reconcile(0.0, 9, {"cpu": [60.0] * 9}).desired == 6
    assert hpa.reconcile(0.0, 1, {"cpu": [60.0]}).desired == 2


def test_autoscaler_without_metrics_keeps_replicas() -> None:
    hpa = HpaAutoscaler(_policy())
    assert hpa.reconcile(0.0, 3, {}).desired == 3


MANIFEST: dict[str, Any] = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "api"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "api"},
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ],
        "behavior": {
            "scaleDown": {
                "stabilizationWindowSeconds": 60,
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 30}],
            },
            "scaleUp": {"selectPolicy": "Min"},
        },
    },
}


def test_from_manifest_parses_and_defaults_per_field() -> None:
    policy = HpaPolicy.from_manifest(MANIFEST)
    assert (policy.target_kind, policy.min_replicas, policy.max_replicas) == ("Rollout", 2, 10)
    assert policy.metrics == (MetricTarget("cpu", 70),)
    assert policy.scale_down == ScalingRules(60, (ScalingPolicy("Pods", 1, 30),), "Max")
    assert policy.scale_up == ScalingRules(0, DEFAULT_SCALE_UP.policies, "Min")
    assert (
        HpaPolicy.from_manifest({**MANIFEST, "spec": {**MANIFEST["spec"], "behavior": None}}).scale_down
        == DEFAULT_SCALE_DOWN
    )


def test_from_manifest_rejects_other_kinds() -> None:
    with pytest.raises(ValueError, match="not a HorizontalPodAutoscaler"):
        HpaPolicy.from_manifest({"kind": "Deployment"})
