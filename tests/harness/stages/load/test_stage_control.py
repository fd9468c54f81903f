"""Canary rollback/promotion and autoscaling through the stage and the Control protocol, end to end
against a stand-in platform (FakeApp replicas, the real Router and the local model's controllers),
with short manifests and a real Locust run; and the same with planted faults, which must fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.config import HarnessConfig
from harness.results import Result, ResultKind, Status
from harness.stages.base import StageContext
from harness.stages.load import LoadStage
from harness.targets.base import AwsEndpoint, Control, Environment, TestUser
from harness.targets.local.cluster.router import Router
from tests.harness.stages.load.fake_app import describe
from tests.harness.stages.load.fake_control import FakeCluster, WeightBlindRouter

pytestmark = pytest.mark.slow

MANIFESTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: api}
spec:
  template: {spec: {containers: [{name: api, resources: {requests: {cpu: 250m}}}]}}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 60s}
        - analysis:
            templates: [{templateName: success-rate}]
            args: [{name: service-name, value: api-canary}]
        - setWeight: 50
        - pause: {duration: 20s}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: success-rate}
spec:
  args: [{name: service-name}, {name: canary-hash}]
  metrics:
    - name: success-rate
      interval: 40s
      count: 3
      successCondition: "result[0] >= 0.95"
      failureCondition: "result[0] < 0.9"
      provider:
        prometheus:
          query: >-
            1 - ((sum(rate(http_requests_total{service="{{args.service-name}}",
            rollouts_pod_template_hash="{{args.canary-hash}}",status=~"5.."}[60s])) or vector(0))
            / clamp_min(sum(rate(http_requests_total{service="{{args.service-name}}",
            rollouts_pod_template_hash="{{args.canary-hash}}"}[60s])), 1e-9))
"""

SCENARIOS = {
    "rollback": "id: rollback\nkind: canary-rollback\nspeedup: 20\n"
    "canary: {version: v2-bad, settings: {FAULT_ERROR_RATE: '0.5'}}\n"
    "shape: {type: soak, users: 4, spawn_rate: 4, duration_s: 12}\nwait_s: [0.02, 0.05]\n"
    "mix: {upload: 0, list: 1, download: 0}\n",
    "promotion": "id: promotion\nkind: canary-promotion\nspeedup: 20\ncanary: {version: v2}\n"
    "shape: {type: soak, users: 4, spawn_rate: 4, duration_s: 18}\nwait_s: [0.02, 0.05]\n"
    "mix: {upload: 0, list: 1, download: 0}\n"
    "slos: [{id: SLO-promotion-error-ratio, error_ratio: 0.01}]\n",
    "autoscaling": "id: autoscaling\nkind: autoscaling\nspeedup: 20\n"
    "shape: {type: step, step_users: 4, steps: 2, step_s: 5, tail: {users: 0, duration_s: 12}}\n"
    "wait_s: [0.0, 0.01]\nmix: {upload: 0, list: 1, download: 0}\n",
}

HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec:
  scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: api}
  minReplicas: 2
  maxReplicas: 4
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 10}}}]
  behavior:
    scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 1, periodSeconds: 15}]}
    scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Pods, value: 1, periodSeconds: 15}]}
"""


def _run(
    tmp_path: Path, scenario: str, *, manifests: str = MANIFESTS + HPA, router: Router | None = None
) -> tuple[dict[str, Result], FakeCluster]:
    overlay = tmp_path / "manifests" / "overlays" / "local"
    overlay.mkdir(parents=True)
    (overlay / "app.yaml").write_text(manifests)
    (overlay / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    (tmp_path / "scenarios" / "load").mkdir(parents=True)
    describe(tmp_path / "scenarios")
    (tmp_path / "scenarios" / "load" / f"{scenario}.yaml").write_text(SCENARIOS[scenario])
    cluster = FakeCluster([d for d in yaml.safe_load_all(manifests) if d], router=router)
    try:
        env = Environment(
            target="fake",
            api_url=cluster.url,
            web_url=cluster.url,
            aws=AwsEndpoint(None, "us-east-1", "x", "y"),
            users=[TestUser("alice", "t")],
            control=cluster,
        )
        ctx = StageContext(
            config=HarnessConfig.defaults(tmp_path), environment=env, run_dir=tmp_path / "run", profile="pr"
        )
        return {r.id: r for r in LoadStage().run(ctx)}, cluster
    finally:
        cluster.close()


def test_the_stand_in_is_a_control() -> None:
    cluster = FakeCluster([d for d in yaml.safe_load_all(MANIFESTS) if d], api=1)
    try:
        assert isinstance(cluster, Control)
    finally:
        cluster.close()


def test_bad_canary_is_aborted_and_its_exposure_measured(tmp_path: Path) -> None:
    results, cluster = _run(tmp_path, "rollback")
    aborted, exposure = results["LOAD-rollback-aborted"], results["LOAD-rollback-exposure"]
    assert aborted.status is Status.PASSED, aborted.message
    assert exposure.status is Status.PASSED, exposure.message
    assert aborted.proven_on == "fake cluster (tests)" and "phase Degraded" in aborted.message
    assert 0 < float(exposure.measured["exposure_share"]) <= 0.3
    assert "abort" in cluster.calls and "promote" not in cluster.calls
    observed = json.loads((tmp_path / "run" / "evidence" / "load" / "rollback" / "observed.json").read_text())
    assert observed["reported_rollout"]["aborted"] and observed["traffic"]
    timeline = json.loads((tmp_path / "run" / "evidence" / "load" / "timeline.json").read_text())
    assert any(a["phase"] == "Failed" for a in timeline["analysis"])


def test_a_router_that_ignores_the_weights_fails_exposure(tmp_path: Path) -> None:
    results, _ = _run(tmp_path, "rollback", router=WeightBlindRouter())
    exposure = results["LOAD-rollback-exposure"]
    assert exposure.status is Status.FAILED and "at most 20% was allowed" in exposure.message


def test_healthy_canary_is_promoted_through_every_step(tmp_path: Path) -> None:
    results, cluster = _run(tmp_path, "promotion")
    promoted = results["LOAD-promotion-promoted"]
    assert promoted.status is Status.PASSED, promoted.message
    assert results["LOAD-promotion-exposure"].status is Status.PASSED, results[
        "LOAD-promotion-exposure"
    ].message
    assert results["SLO-promotion-error-ratio"].status is Status.PASSED
    assert str(results["SLO-promotion-error-ratio"].proven_on).startswith("Locust ")
    assert cluster.calls.count("promote") == 1 and "weight 50" in cluster.calls
    assert results["LOAD-promotion-generator"].kind is ResultKind.SUMMARY  # shown, never evidence
    timeline = json.loads((tmp_path / "run" / "evidence" / "load" / "timeline.json").read_text())
    assert {s["canary_weight"] for s in timeline["samples"]} >= {20, 50}


def test_an_analysis_without_conditions_lets_the_bad_canary_through_and_fails(tmp_path: Path) -> None:
    lenient = "\n".join(line for line in MANIFESTS.splitlines() if "Condition:" not in line) + "\n"
    results, cluster = _run(tmp_path, "rollback", manifests=lenient)
    assert results["LOAD-rollback-aborted"].status is Status.FAILED
    assert "promote" in cluster.calls


def test_autoscaling_scales_up_within_policy_and_back_after_the_window(tmp_path: Path) -> None:
    results, cluster = _run(tmp_path, "autoscaling")
    for rid in ("scale-up", "max", "policy", "direction", "scale-down"):
        result = results[f"LOAD-hpa-api-{rid}"]
        assert result.status is Status.PASSED, (rid, result.message)
        assert result.measured["observed_by"] == "replica list of fake cluster (tests)"
    assert "scale api 3" in cluster.calls


def test_an_hpa_with_a_wrong_target_fails_every_autoscaling_result(tmp_path: Path) -> None:
    wrong = MANIFESTS + HPA.replace("kind: Rollout, name: api}", "kind: Rollout, name: apii}")
    results, _ = _run(tmp_path, "autoscaling", manifests=wrong)
    for rid in ("scale-up", "max", "policy", "direction", "scale-down"):
        assert results[f"LOAD-hpa-api-{rid}"].status is Status.FAILED
