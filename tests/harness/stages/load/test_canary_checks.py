"""Canary verdicts on observed traffic: a faithful rollout passes, planted faults fail.

A simulated world: 20 user requests a second for 60 s (wall), split between versions by a router
and a rollout (both planted or faithful); the replicas' counters are what the checks read.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.k8s import render_overlay
from harness.results import Status
from harness.stages.load.canary_checks import (
    CanaryObserved,
    exposure_result,
    promotion_result,
    rollback_result,
)
from harness.stages.load.schedule import (
    WeightWindow,
    allowed_weight,
    canary_schedule,
    final_step_at,
    rollout_documents,
)

ROOT = Path(__file__).resolve().parents[4]
SCALE = 20.0
SCHEDULE = [WeightWindow(0, 0), WeightWindow(0, 5), WeightWindow(390, 25), WeightWindow(960, 100)]
Weight = Callable[[float], float]  # wall seconds since deploy -> canary share actually routed


def traffic(
    weight: Weight,
    *,
    canary_errors: float = 0.0,
    end_s: float = 60.0,
    promoted_at: float | None = None,
    seed: int = 7,
) -> list[tuple[float, dict[str, tuple[int, int]]]]:
    """Per second: version -> (requests, 5xx). After ``promoted_at`` stable runs the new version too."""
    rng, rows = random.Random(seed), []
    for second in range(1, int(end_s) + 1):
        t = float(second)
        canary = sum(rng.random() < weight(t) for _ in range(20))
        errors = sum(rng.random() < canary_errors for _ in range(canary))
        stable = "v2" if promoted_at is not None and t >= promoted_at else "v1"
        by = {"v2": (canary, errors)}
        by[stable] = (by.get(stable, (0, 0))[0] + 20 - canary, by.get(stable, (0, 0))[1])
        rows.append((1000.0 + t, by))
    return rows


def observed(
    rows: list[tuple[float, dict[str, tuple[int, int]]]], at_end: dict[str, dict[str, int]]
) -> CanaryObserved:
    return CanaryObserved(1000.0, "v2", rows, at_end, SCALE, reported="phase Degraded")


def faithful(t: float) -> float:
    return allowed_weight(SCHEDULE, t * SCALE) / 100


GONE = {"api": {"v1": 2}, "worker": {"v1": 2}}


def test_the_repository_schedule_from_the_manifests() -> None:
    rollout, templates = rollout_documents(list(render_overlay(ROOT / "manifests" / "overlays" / "local")))
    assert rollout is not None
    assert canary_schedule(rollout, templates) == SCHEDULE  # 2m pause, 30s + 4 x 1m analysis, 5m pause
    assert final_step_at(SCHEDULE) == 960 and allowed_weight(SCHEDULE, 389) == 5


def test_an_indefinite_pause_or_unbounded_analysis_holds_the_weight() -> None:
    rollout = {
        "spec": {"strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}]}}}
    }
    assert canary_schedule(rollout, {}) == [WeightWindow(0, 0), WeightWindow(0, 10)]
    endless = {"spec": {"metrics": [{"name": "m", "interval": "1m"}]}}
    rollout["spec"]["strategy"]["canary"]["steps"][1] = {"analysis": {"templates": [{"templateName": "t"}]}}
    assert canary_schedule(rollout, {"t": endless}) == [WeightWindow(0, 0), WeightWindow(0, 10)]
    rollout["spec"]["strategy"]["canary"]["steps"][1] = {"pause": {"duration": "1m"}}
    assert canary_schedule(rollout, {})[-1] == WeightWindow(60, 100)  # promoted after the last step


def test_a_bad_canary_aborted_at_the_first_analysis_passes_rollback_and_exposure() -> None:
    def aborted(t: float) -> float:
        return faithful(t) if t < 12 else 0.0

    seen = observed(traffic(aborted, canary_errors=0.3), GONE)
    rollback, exposure = rollback_result("r", seen), exposure_result("e", seen, SCHEDULE)
    assert rollback.status is Status.PASSED, rollback.message
    assert exposure.status is Status.PASSED, exposure.message
    assert "platform: phase Degraded" in rollback.message


def test_a_router_that_ignores_the_weights_fails_exposure() -> None:
    seen = observed(traffic(lambda t: 0.5 if t < 12 else 0.0, canary_errors=0.3), GONE)
    result = exposure_result("e", seen, SCHEDULE)
    assert result.status is Status.FAILED and "while at most 5% was allowed" in result.message


def test_a_router_that_never_sends_to_the_canary_fails_exposure() -> None:
    result = exposure_result("e", observed(traffic(lambda t: 0.0), GONE), SCHEDULE)
    assert result.status is Status.FAILED and "served no user request" in result.message


def test_a_controller_that_promotes_a_bad_canary_fails_rollback() -> None:
    def promoted(t: float) -> float:
        return faithful(t) if t < 48 else 1.0

    result = rollback_result("r", observed(traffic(promoted, canary_errors=0.3), {"api": {"v2": 2}}))
    assert result.status is Status.FAILED and "canary replicas left" in result.message


def test_an_abort_that_leaves_the_canary_serving_fails_rollback() -> None:
    seen = observed(traffic(faithful, canary_errors=0.3, end_s=30), {"api": {"v1": 2, "v2": 1}})
    result = rollback_result("r", seen)
    assert result.status is Status.FAILED and "the canary served until" in result.message


def test_a_planted_fault_that_did_not_show_proves_nothing() -> None:
    result = rollback_result("r", observed(traffic(faithful), GONE))
    assert result.status is Status.ERROR and "did not show" in result.message


def test_a_healthy_canary_promoted_through_every_step_passes() -> None:
    seen = observed(traffic(faithful, promoted_at=50.0), {"api": {"v2": 2}, "worker": {"v2": 2}})
    result = promotion_result("p", seen, SCHEDULE)
    assert result.status is Status.PASSED, result.message
    assert exposure_result("e", seen, SCHEDULE).status is Status.PASSED


@pytest.mark.parametrize(
    "routed, promoted_at, at_end, words",
    [
        (lambda t: 1.0 if t > 3 else 0.05, 3.0, {"api": {"v2": 2}}, "the steps need 960s"),
        (lambda t: min(faithful(t), 0.25), None, {"api": {"v1": 2, "v2": 1}}, "never served every request"),
        (faithful, 50.0, {"api": {"v2": 2}, "worker": {"v1": 1}}, "other versions left"),
    ],
)
def test_promotions_that_skip_steps_never_finish_or_leave_old_replicas_fail(
    routed: Weight, promoted_at: float | None, at_end: dict[str, dict[str, int]], words: str
) -> None:
    result = promotion_result("p", observed(traffic(routed, promoted_at=promoted_at), at_end), SCHEDULE)
    assert result.status is Status.FAILED and words in result.message
