"""Canary rollback and promotion through the stage, the control plane and the Router, end to end
against FakeApp replicas (a stand-in LocalControl), with short manifests and a real Locust run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.controlplane.plane import CpuSampler
from harness.results import Result, Status
from harness.stages.base import StageContext
from harness.stages.load import LoadStage
from harness.targets.base import AwsEndpoint, Environment, TestUser
from tests.harness.stages.load.fake_control import FakeLocalControl

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
}


@pytest.fixture
def control() -> Iterator[FakeLocalControl]:
    control = FakeLocalControl()
    yield control
    control.close()


def _run(tmp_path: Path, control: FakeLocalControl, scenario: str) -> dict[str, Result]:
    overlay = tmp_path / "manifests" / "overlays" / "local"
    overlay.mkdir(parents=True)
    (overlay / "app.yaml").write_text(MANIFESTS)
    (overlay / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    (tmp_path / "scenarios" / "load").mkdir(parents=True)
    (tmp_path / "scenarios" / "load" / f"{scenario}.yaml").write_text(SCENARIOS[scenario])
    env = Environment(
        target="local",
        api_url=control.url,
        web_url=control.url,
        aws=AwsEndpoint(None, "us-east-1", "x", "y"),
        users=[TestUser("alice", "t")],
        control=control,
    )
    ctx = StageContext(
        config=HarnessConfig.defaults(tmp_path), environment=env, run_dir=tmp_path / "run", profile="pr"
    )
    return {r.id: r for r in LoadStage().run(ctx)}


def test_bad_canary_is_aborted_and_its_exposure_measured(tmp_path: Path, control: FakeLocalControl) -> None:
    results = _run(tmp_path, control, "rollback")
    aborted, exposure = results["LOAD-rollback-aborted"], results["LOAD-rollback-exposure"]
    assert aborted.status is Status.PASSED, aborted.message
    assert aborted.measured["max_weight_pct"] == 20 and aborted.measured["evaluator"] == "local-promql"
    assert exposure.status is Status.PASSED, exposure.message
    assert 0 < float(exposure.measured["exposure_share"]) <= 0.25
    assert "abort" in control.calls and "promote" not in control.calls
    evidence = json.loads(
        (tmp_path / "run" / "evidence" / "load" / "rollback" / "controlplane.json").read_text()
    )
    assert any(a["phase"] == "Failed" for a in evidence["analysis"])


def test_healthy_canary_is_promoted_through_every_step(tmp_path: Path, control: FakeLocalControl) -> None:
    results = _run(tmp_path, control, "promotion")
    promoted = results["LOAD-promotion-promoted"]
    assert promoted.status is Status.PASSED, promoted.message
    assert results["SLO-promotion-error-ratio"].status is Status.PASSED
    assert control.calls.count("promote") == 1 and "weight 50" in control.calls
    timeline = json.loads((tmp_path / "run" / "evidence" / "load" / "timeline.json").read_text())
    assert {s["canary_weight"] for s in timeline["samples"]} >= {20, 50}
    phases = {a["phase"] for a in timeline["analysis"]}
    assert "Successful" in phases and "Failed" not in phases  # an early Error: no canary samples yet


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

AUTOSCALING = (
    "id: autoscaling\nkind: autoscaling\nspeedup: 20\n"
    "shape: {type: step, step_users: 4, steps: 2, step_s: 5, tail: {users: 0, duration_s: 12}}\n"
    "wait_s: [0.0, 0.01]\nmix: {upload: 0, list: 1, download: 0}\n"
)


def test_autoscaling_scales_up_within_policy_and_back_after_the_window(
    tmp_path: Path, control: FakeLocalControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fake replicas share this process: their "CPU" is their request rate (see FakeLocalControl)
    def utilisation(self: CpuSampler, pid: int | None, request_cores: float) -> float | None:
        return None if pid is None else control.busy_percent(pid) / request_cores

    monkeypatch.setattr(CpuSampler, "utilisation", utilisation)
    SCENARIOS["autoscaling"] = AUTOSCALING
    global MANIFESTS
    saved, MANIFESTS = MANIFESTS, MANIFESTS + HPA
    try:
        results = _run(tmp_path, control, "autoscaling")
    finally:
        MANIFESTS = saved
    for rid in ("scale-up", "max", "policy", "scale-down"):
        result = results[f"LOAD-hpa-api-{rid}"]
        assert result.status is Status.PASSED, (rid, result.message)
    assert any(c.startswith("scale api 3") for c in control.calls)


def test_an_analysis_without_conditions_lets_the_bad_canary_through_and_fails(
    tmp_path: Path, control: FakeLocalControl
) -> None:
    global MANIFESTS
    saved = MANIFESTS
    MANIFESTS = "\n".join(line for line in MANIFESTS.splitlines() if "Condition:" not in line) + "\n"
    try:
        results = _run(tmp_path, control, "rollback")
    finally:
        MANIFESTS = saved
    assert results["LOAD-rollback-aborted"].status is Status.FAILED
    assert "not aborted" in results["LOAD-rollback-aborted"].message and "promote" in control.calls


def test_an_hpa_with_a_wrong_target_fails_every_autoscaling_result(
    tmp_path: Path, control: FakeLocalControl
) -> None:
    SCENARIOS["autoscaling"] = AUTOSCALING
    global MANIFESTS
    saved, MANIFESTS = (
        MANIFESTS,
        MANIFESTS + HPA.replace("kind: Rollout, name: api}", "kind: Rollout, name: apii}"),
    )
    try:
        results = _run(tmp_path, control, "autoscaling")
    finally:
        MANIFESTS = saved
    for rid in ("scale-up", "max", "policy", "scale-down"):
        assert results[f"LOAD-hpa-api-{rid}"].status is Status.FAILED
