"""Autoscaling verdicts on observed series: the real HPA model passes, planted broken ones fail.

A small simulated world: a load that asks for ``demand`` percent of one replica's CPU request,
spread over the replicas; an autoscaler reconciled every sync period (15 s manifest time); the
stage's observations sampled as the Observer does (counts every 0.25 s, CPU every 1 s). The
autoscaler is the local model's :class:`HpaAutoscaler` or a planted fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from harness.k8s.specs import HpaPolicy, MetricTarget, ScalingPolicy, ScalingRules
from harness.results import Status
from harness.stages.load.hpa_checks import Observed, hpa_results
from harness.targets.local.cluster.hpa import HpaAutoscaler

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
SCALE = 20.0  # manifest seconds per wall second
Decide = Callable[[float, int, float], int]  # (manifest t, replicas, utilisation) -> replicas


def model() -> Decide:
    hpa = HpaAutoscaler(POLICY)
    return lambda t, n, u: hpa.reconcile(t, n, {"cpu": [u] * n}).desired


def world(
    decide: Decide, demand: float = 300.0, load: tuple[float, float] = (2.0, 12.0), end_s: float = 42.0
) -> Observed:
    """Wall seconds from 0; the load asks ``demand`` % of one request during ``load``, else 2 %."""
    n, counts, cpu, next_sync = 2, [], [], 0.0

    def asked(t: float) -> float:
        return demand if load[0] <= t < load[1] else 2.0

    for step in range(int(end_s / 0.25) + 1):
        t = step * 0.25
        if t >= next_sync:
            n, next_sync = decide(t * SCALE, n, asked(t) / n), next_sync + 15 / SCALE
        counts.append((t, n))
        if step % 4 == 0 and step:
            cpu.append((t, asked(t - 0.5)))  # the demand in the window's middle
    return Observed(counts, cpu, load_end=load[1], time_scale=SCALE)


def _statuses(seen: Observed) -> dict[str, Status]:
    return {r.id.removeprefix("LOAD-hpa-api-"): r.status for r in hpa_results(POLICY, "api", seen)}


def test_the_model_passes_every_check() -> None:
    results = {r.id: r for r in hpa_results(POLICY, "api", world(model()), proven_on="local model")}
    assert {k: r.status for k, r in results.items()} == dict.fromkeys(results, Status.PASSED), {
        k: r.message for k, r in results.items()
    }
    assert results["LOAD-hpa-api-scale-up"].measured["peak_replicas"] == 5
    assert all(r.proven_on == "local model" for r in results.values())
    assert results["LOAD-hpa-api-max"].measured["observed_by"] == "process table (psutil)"


def test_an_autoscaler_that_never_acts_fails_scale_up() -> None:
    statuses = _statuses(world(lambda t, n, u: n))
    assert statuses["scale-up"] is Status.FAILED and statuses["scale-down"] is Status.FAILED


def test_an_autoscaler_that_ignores_max_and_policies_fails_bounds_and_policy() -> None:
    def unclamped(t: float, n: int, u: float) -> int:
        return max(2, math.ceil(n * u / 70))

    statuses = _statuses(world(unclamped, demand=1500.0))
    assert statuses["max"] is Status.FAILED and statuses["policy"] is Status.FAILED


def test_an_autoscaler_without_stabilisation_fails_scale_down() -> None:
    def hasty(t: float, n: int, u: float) -> int:
        return min(10, max(2, math.ceil(n * u / 70)))

    seen = world(hasty)
    result = next(r for r in hpa_results(POLICY, "api", seen) if r.id.endswith("scale-down"))
    assert result.status is Status.FAILED and "after" in result.message and "called for" in result.message


def test_an_autoscaler_that_scales_up_on_idle_replicas_fails_direction() -> None:
    hpa = HpaAutoscaler(POLICY)

    def eager(t: float, n: int, u: float) -> int:
        if t > 30 * SCALE:  # well after the load: grows with idle CPU
            return min(n + 1, 10)
        return hpa.reconcile(t, n, {"cpu": [u] * n}).desired

    statuses = _statuses(world(eager))
    assert statuses["direction"] is Status.FAILED


def test_an_autoscaler_that_never_scales_back_fails_scale_down() -> None:
    hpa = HpaAutoscaler(POLICY)

    def sticky(t: float, n: int, u: float) -> int:
        return max(n, hpa.reconcile(t, n, {"cpu": [u] * n}).desired)

    result = next(r for r in hpa_results(POLICY, "api", world(sticky)) if r.id.endswith("scale-down"))
    assert result.status is Status.FAILED and "still 5 replicas" in result.message


@pytest.mark.parametrize("host, words", [(95.0, "host was 95% busy"), (20.0, "too light")])
def test_a_load_that_never_heats_the_cpu_proves_nothing(host: float, words: str) -> None:
    seen = world(model(), demand=60.0)
    seen = Observed(seen.counts, seen.cpu, seen.load_end, seen.time_scale, host_cpu_pct=host)
    results = {r.id.removeprefix("LOAD-hpa-api-"): r for r in hpa_results(POLICY, "api", seen)}
    assert results["scale-up"].status is Status.ERROR and words in results["scale-up"].message
    assert results["scale-down"].status is Status.ERROR


def test_no_hpa_for_the_component_fails_and_nothing_observed_is_an_error() -> None:
    assert {r.status for r in hpa_results(None, "api", world(model()))} == {Status.FAILED}
    empty = Observed([], [], 0.0, SCALE)
    assert {r.status for r in hpa_results(POLICY, "api", empty)} == {Status.ERROR}


def test_a_scale_up_on_a_peak_the_stage_saw_at_target_is_not_against_the_cpu() -> None:
    def on_a_peak(t: float, n: int, u: float) -> int:
        return 3 if 2 * SCALE <= t < 12 * SCALE else (n if t < 12 * SCALE else 2)

    statuses = _statuses(world(on_a_peak, demand=150.0))  # 75 % each: within the tolerance of 70 %
    assert statuses["direction"] is Status.PASSED


def test_an_autoscaler_that_scales_down_under_load_fails_direction() -> None:
    hpa = HpaAutoscaler(POLICY)

    def contrary(t: float, n: int, u: float) -> int:
        if 6 * SCALE <= t < 12 * SCALE:  # mid-load, hot replicas: drops one
            return max(n - 1, 2)
        return hpa.reconcile(t, n, {"cpu": [u] * n}).desired

    assert _statuses(world(contrary))["direction"] is Status.FAILED
