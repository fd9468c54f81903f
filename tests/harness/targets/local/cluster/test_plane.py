"""The local control plane loop against a fake cluster and a fake metrics evaluator (the real
Prometheus answering the repository's templates: tests/harness/targets/local/test_prometheus_live.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.services.prometheus_api import QueryResult
from harness.targets.local.cluster.plane import (
    ControlPlaneSpec,
    CpuSampler,
    LocalControlPlane,
    ReplicaInfo,
    VirtualClock,
    cpu_request,
)

ROOT = Path(__file__).resolve().parents[5]


class FakeCluster:
    def __init__(self, api: int = 2) -> None:
        self.counts = {"api": api}
        self.weights: list[int] = []
        self.calls: list[str] = []

    def processes(self) -> list[ReplicaInfo]:
        return [
            ReplicaInfo("api", "stable", "v1", os.getpid(), "http://127.0.0.1:9/metrics")
            for _ in range(self.counts["api"])
        ]

    def scale(self, component: str, n: int) -> None:
        self.calls.append(f"scale {component} {n}")
        self.counts[component] = n

    def set_weight(self, weight: int) -> None:
        self.weights.append(weight)

    def promote(self) -> None:
        self.calls.append("promote")

    def abort(self) -> None:
        self.calls.append("abort")


class FakeEvaluator:
    name = "fake"

    def __init__(self, value: float) -> None:
        self.value = value
        self.queries: list[str] = []

    def query(self, promql: str) -> QueryResult:
        self.queries.append(promql)
        return QueryResult(promql, self.name, scalar=None, vector=((frozenset(), self.value),))


class ManualTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _docs(condition: str | None) -> list[dict[str, Any]]:
    metric: dict[str, Any] = {
        "name": "success-rate",
        "interval": "10s",
        "count": 2,
        "provider": {"prometheus": {"query": 'q{hash="{{args.canary-hash}}"}'}},
    }
    if condition:
        metric["successCondition"] = condition
    container = {"name": "api", "resources": {"requests": {"cpu": "250m"}}}
    return [
        {
            "kind": "Rollout",
            "metadata": {"name": "api"},
            "spec": {
                "template": {"spec": {"containers": [container]}},
                "strategy": {
                    "canary": {
                        "steps": [
                            {"setWeight": 10},
                            {"pause": {"duration": "20s"}},
                            {"analysis": {"templates": [{"templateName": "success-rate"}]}},
                            {"setWeight": 50},
                            {"pause": {"duration": "20s"}},
                        ]
                    }
                },
            },
        },
        {"kind": "AnalysisTemplate", "metadata": {"name": "success-rate"}, "spec": {"metrics": [metric]}},
    ]


def _plane(
    value: float, condition: str | None = "result[0] >= 0.95"
) -> tuple[LocalControlPlane, FakeCluster, ManualTime, FakeEvaluator]:
    time, cluster, evaluator = ManualTime(), FakeCluster(), FakeEvaluator(value)
    plane = LocalControlPlane(
        cluster,
        ControlPlaneSpec.from_documents(_docs(condition)),
        evaluator=evaluator,
        clock=VirtualClock(1.0, real=time),
    )
    return plane, cluster, time, evaluator


def _drive(plane: LocalControlPlane, time: ManualTime, seconds: int) -> None:
    for _ in range(seconds):
        plane.tick()
        time.t += 1.0


def test_bad_canary_is_aborted_before_50_percent() -> None:
    plane, cluster, time, evaluator = _plane(0.5)
    plane.begin_rollout("v2")
    _drive(plane, time, 60)
    assert cluster.weights == [10] and cluster.calls[-1] == "abort"
    status = plane.rollout_status("v1", "v2")
    assert (status.phase, status.aborted, status.weight, status.canary_version) == ("Degraded", True, 0, None)
    run = status.analysis_runs[0]
    assert (run.phase, run.measurements[0].phase, run.measurements[0].value) == ("Failed", "Failed", "[0.5]")
    assert run.measurements[0].query == 'q{hash="v2"}'
    assert evaluator.queries == ['q{hash="v2"}']
    assert plane.analysis[0]["phase"] == "Failed" and plane.analysis[0]["value"] == 0.5


def test_good_canary_is_promoted_through_every_step() -> None:
    plane, cluster, time, _ = _plane(0.99)
    plane.begin_rollout("v2")
    _drive(plane, time, 120)
    assert cluster.weights == [10, 50] and cluster.calls[-1] == "promote"
    assert [a["phase"] for a in plane.analysis] == ["Successful", "Successful"]


def test_analysis_without_conditions_lets_a_bad_canary_through() -> None:
    plane, cluster, time, _ = _plane(0.0, condition=None)
    plane.begin_rollout("v2")
    _drive(plane, time, 120)
    assert cluster.calls[-1] == "promote"


def test_hpa_is_reconciled_every_sync_period() -> None:
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api"},
        "spec": {
            "scaleTargetRef": {"kind": "Rollout", "name": "api"},
            "minReplicas": 3,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }
    time, cluster = ManualTime(), FakeCluster(api=2)
    plane = LocalControlPlane(
        cluster,
        ControlPlaneSpec.from_documents([*_docs(None), hpa]),
        evaluator=FakeEvaluator(1.0),
        clock=VirtualClock(1.0, real=time),
    )
    _drive(plane, time, 31)
    assert cluster.calls[0] == "scale api 3"  # below minReplicas is corrected on the first sync
    assert [s["t"] for s in plane.timeline] == [0.0, 15.0, 30.0]
    assert plane.timeline[0]["replicas"] == {"api": 2}


def test_cpu_request_and_sampler() -> None:
    assert cpu_request(_docs(None)[0]) == 0.25
    sampler = CpuSampler()
    assert sampler.utilisation(os.getpid(), 0.25) is None  # first reading
    sum(i * i for i in range(200_000))
    value = sampler.utilisation(os.getpid(), 0.25)
    assert value is not None and value >= 0
    assert sampler.utilisation(None, 1.0) is None


def test_virtual_clock_speeds_up() -> None:
    time = ManualTime()
    clock = VirtualClock(10.0, real=time)
    time.t = 3.0
    assert clock.now() == 30.0


def test_rollout_status_while_paused_and_user_actions() -> None:
    plane, cluster, time, _ = _plane(0.99)
    assert plane.rollout_status("v1", None).phase == "Healthy" and not plane.in_flight()
    plane.begin_rollout("v2")
    assert cluster.weights == [10]  # the first setWeight at once, before any tick
    _drive(plane, time, 3)
    status = plane.rollout_status("v1", "v2")
    assert (status.phase, status.step_index, status.steps, status.weight) == ("Paused", 1, 5, 10)
    plane.set_weight(30)
    assert cluster.weights[-1] == 30 and plane.rollout_status("v1", "v2").weight == 30
    plane.promote(full=True)
    assert cluster.calls[-1] == "promote" and plane.rollout_status("v2", None).phase == "Healthy"
    with pytest.raises(ValueError, match="no canary rollout"):
        plane.promote()
    plane.begin_rollout("v3")
    plane.abort("by hand")
    status = plane.rollout_status("v2", None)
    assert status.aborted and "by hand" in status.message and cluster.calls[-1] == "abort"


def test_a_finished_rollout_is_never_promoted_again_when_the_next_canary_comes() -> None:
    plane, cluster, time, _ = _plane(0.99)
    plane.begin_rollout("v2")
    _drive(plane, time, 120)
    assert cluster.calls.count("promote") == 1
    plane.abort("superseded by v3")  # what a deploy does first; the loop ticks before v3 begins
    _drive(plane, time, 3)
    plane.begin_rollout("v3")
    _drive(plane, time, 3)
    assert cluster.calls.count("promote") == 1 and cluster.weights[-1] == 10


def test_autoscaler_status_reports_decisions_and_events() -> None:
    hpa = {
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"kind": "Rollout", "name": "api"}, "minReplicas": 3, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
    }
    time, cluster = ManualTime(), FakeCluster(api=2)
    plane = LocalControlPlane(cluster, ControlPlaneSpec.from_documents([*_docs(None), hpa]),
                              evaluator=FakeEvaluator(1.0), clock=VirtualClock(1.0, real=time))
    assert plane.autoscaler_status("worker", 1) is None
    _drive(plane, time, 2)
    status = plane.autoscaler_status("api", 3)
    assert status is not None
    assert (status.min_replicas, status.max_replicas, status.desired_replicas) == (3, 5, 3)
    assert [(e.from_replicas, e.to_replicas) for e in status.events] == [(2, 3)]
    assert status.conditions["AbleToScale"].startswith("True")


def test_spec_from_the_repository_manifests() -> None:
    render = pytest.importorskip("harness.k8s").render_overlay
    overlay = ROOT / "manifests" / "overlays" / "local"
    if not overlay.is_dir():
        pytest.skip("manifests/overlays/local not present")
    spec = ControlPlaneSpec.from_documents(list(render(overlay)))
    assert set(spec.hpas) >= {"api"} and spec.strategy is not None
    assert spec.cpu_requests["api"] > 0
    for step in spec.strategy.steps:
        for name in step.templates:
            assert name in spec.templates


def test_each_tick_hands_the_live_replicas_to_discovery() -> None:
    time, cluster = ManualTime(), FakeCluster(api=2)
    seen: list[int] = []
    plane = LocalControlPlane(cluster, ControlPlaneSpec.from_documents(_docs(None)),
                              evaluator=FakeEvaluator(1.0), discovery=lambda found: seen.append(len(found)),
                              clock=VirtualClock(1.0, real=time))
    _drive(plane, time, 1)
    cluster.counts["api"] = 3
    _drive(plane, time, 1)
    assert seen == [2, 3]


def test_a_measurement_without_prometheus_is_an_error_not_a_pass() -> None:
    time, cluster = ManualTime(), FakeCluster()
    plane = LocalControlPlane(cluster, ControlPlaneSpec.from_documents(_docs("result[0] >= 0.95")),
                              clock=VirtualClock(1.0, real=time))
    plane.begin_rollout("v2")
    _drive(plane, time, 60)
    assert "promote" not in cluster.calls
    assert any(m["phase"] == "Error" and "no Prometheus" in m["message"] for m in plane.analysis)
