"""Verdicts on autoscaling and canaries from timelines (manifest time) and counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.controlplane.hpa import HpaPolicy, MetricTarget, ScalingPolicy, ScalingRules
from harness.results import Status
from harness.stages.load.checks import (
    canary_exposure_result,
    data_loss_result,
    hpa_results,
    promotion_result,
    rollback_result,
)

POLICY = HpaPolicy(
    "api",
    "Rollout",
    "api",
    2,
    10,
    (MetricTarget("cpu", 70),),
    scale_up=ScalingRules(0, (ScalingPolicy("Percent", 100, 15), ScalingPolicy("Pods", 4, 15))),
    scale_down=ScalingRules(300, (ScalingPolicy("Percent", 50, 60),), "Min"),
)


def _timeline(replicas: Sequence[tuple[float, int]], util: float = 150.0) -> list[dict[str, Any]]:
    return [
        {"t": t, "replicas": {"api": n}, "utilisation": {"api": util}, "desired": {"api": n}}
        for t, n in replicas
    ]


GOOD = [(0, 2), (15, 4), (30, 8), (45, 10), (60, 10), (75, 10), (390, 10), (405, 5), (480, 3), (555, 2)]


def test_a_well_behaved_hpa_passes_all_four() -> None:
    results = hpa_results(POLICY, "api", _timeline(GOOD), load_end_t=80.0)
    assert [r.id for r in results] == [
        "LOAD-hpa-api-scale-up",
        "LOAD-hpa-api-max",
        "LOAD-hpa-api-policy",
        "LOAD-hpa-api-scale-down",
    ]
    assert all(r.status is Status.PASSED for r in results), [r.message for r in results]


def test_an_hpa_whose_target_is_never_reached_fails_scale_up() -> None:
    # e.g. averageUtilization set far above what the load produces: no scale-up is shown
    flat = [(t, 2) for t in range(0, 600, 15)]
    results = {r.id: r for r in hpa_results(POLICY, "api", _timeline(flat, util=40.0), load_end_t=80.0)}
    assert results["LOAD-hpa-api-scale-up"].status is Status.FAILED
    assert results["LOAD-hpa-api-scale-down"].status is Status.FAILED
    assert "40%" in results["LOAD-hpa-api-scale-up"].message


def test_an_hpa_that_targets_another_workload_fails_every_result() -> None:
    results = hpa_results(None, "api", _timeline(GOOD), load_end_t=80.0)
    assert len(results) == 4 and all(r.status is Status.FAILED for r in results)
    assert "no HorizontalPodAutoscaler" in results[0].message


def test_max_and_policy_breaches_and_early_scale_down_fail() -> None:
    bad = [(0, 2), (15, 9), (30, 12), (90, 12), (120, 2)]
    results = {r.id: r for r in hpa_results(POLICY, "api", _timeline(bad), load_end_t=80.0)}
    assert results["LOAD-hpa-api-max"].status is Status.FAILED
    assert results["LOAD-hpa-api-policy"].status is Status.FAILED  # 2 -> 9 exceeds max(2*2, 2+4) = 6
    assert results["LOAD-hpa-api-scale-down"].status is Status.FAILED  # 40 s after, window 300 s


def test_scale_down_that_never_reaches_min_fails() -> None:
    partial = [(0, 2), (15, 6), (90, 6), (400, 4)]
    result = hpa_results(POLICY, "api", _timeline(partial), load_end_t=80.0)[3]
    assert result.status is Status.FAILED and "not 2" in result.message


def test_canary_verdicts() -> None:
    aborted = {"phase": "Degraded", "canary_weight": 0, "message": "RolloutAborted: analysis step-2 Failed"}
    assert rollback_result("R", aborted, [5], []).status is Status.PASSED
    promoted = {"phase": "Healthy", "canary_weight": 100}
    assert rollback_result("R", promoted, [5, 25, 100], []).status is Status.FAILED
    assert promotion_result("P", promoted, [5, 25, 100], [5, 25, 100], []).status is Status.PASSED
    assert promotion_result("P", aborted, [5], [5, 25, 100], []).status is Status.FAILED
    assert canary_exposure_result("E", 40, 1000, 5).status is Status.PASSED  # 4 % <= 5 % + 5 pp
    exposed = canary_exposure_result("E", 300, 1000, 5)
    assert exposed.status is Status.FAILED and exposed.measured["exposure_share"] == 0.3
    assert canary_exposure_result("E", 0, 0, 5).status is Status.FAILED


def test_data_loss() -> None:
    assert data_loss_result("D", 10, 10, 10, "db").status is Status.PASSED
    assert data_loss_result("D", 10, 9, 10, "db").status is Status.FAILED
    assert data_loss_result("D", 0, 0, 0, "db").status is Status.FAILED


def test_no_scale_up_on_a_saturated_host_is_an_error_not_a_failure() -> None:
    flat = [(float(t), 2) for t in range(0, 600, 15)]
    results = hpa_results(POLICY, "api", _timeline(flat, util=60.0), load_end_t=80.0, host_cpu_pct=97.0)
    assert results[0].status is Status.ERROR and "quieter machine" in results[0].message
    assert results[3].status is Status.ERROR
    quiet = hpa_results(POLICY, "api", _timeline(flat, util=60.0), load_end_t=80.0, host_cpu_pct=40.0)[0]
    assert quiet.status is Status.FAILED and quiet.measured["host_cpu_pct"] == 40.0
