"""What other parts of the harness read from manifests/ (the local target's control plane and the
load stage), and the production hardening every overlay must keep."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from harness.k8s import Document, render_overlay
from tests.iac.conftest import MANIFESTS, OVERLAYS

WORKLOADS = ("Rollout", "Deployment")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


@cache
def _rendered(folder: Path) -> tuple[Document, ...]:
    return tuple(render_overlay(folder))


def _one(folder: Path, kind: str, name: str) -> Document:
    return next(d for d in _rendered(folder) if d["kind"] == kind and d["metadata"]["name"] == name)


def _pods(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in _rendered(folder)
        if d["kind"] in WORKLOADS
    ]


LOCAL = MANIFESTS / "overlays" / "local"


def test_api_is_a_rollout_whose_replicas_the_hpa_owns() -> None:
    rollout = _one(LOCAL, "Rollout", "api")
    assert "replicas" not in rollout["spec"]
    hpa = _one(LOCAL, "HorizontalPodAutoscaler", "api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "api",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 70
    behavior = hpa["spec"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300 and behavior["scaleUp"]["policies"]


def test_worker_is_a_deployment_with_its_own_hpa() -> None:
    assert "replicas" not in _one(LOCAL, "Deployment", "worker")["spec"]
    hpa = _one(LOCAL, "HorizontalPodAutoscaler", "worker")
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and hpa["spec"]["minReplicas"] >= 2


def test_canary_steps_go_5_then_25_then_100_with_pauses_and_analysis() -> None:
    steps = _one(LOCAL, "Rollout", "api")["spec"]["strategy"]["canary"]["steps"]
    shape = [next(iter(step)) for step in steps]
    assert shape == ["setWeight", "pause", "analysis", "setWeight", "pause", "analysis", "setWeight"]
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [5, 25, 100]


def test_canary_routes_through_nginx_with_stable_and_canary_services() -> None:
    canary = _one(LOCAL, "Rollout", "api")["spec"]["strategy"]["canary"]
    assert (canary["stableService"], canary["canaryService"]) == ("api-stable", "api-canary")
    assert canary["trafficRouting"]["nginx"]["stableIngress"] == "api"


@pytest.mark.parametrize(
    ("name", "needle"),
    [("success-rate", 'status=~"5.."'), ("latency-p95", "http_request_duration_seconds_bucket")],
)
def test_analysis_templates_use_real_promql_with_limits(name: str, needle: str) -> None:
    (metric,) = _one(LOCAL, "AnalysisTemplate", name)["spec"]["metrics"]
    assert needle in metric["provider"]["prometheus"]["query"]
    assert {"successCondition", "failureCondition", "failureLimit", "interval", "count"} <= set(metric)


def test_success_rate_is_defined_when_the_canary_has_no_5xx() -> None:
    (metric,) = _one(LOCAL, "AnalysisTemplate", "success-rate")["spec"]["metrics"]
    assert "or vector(0)" in metric["provider"]["prometheus"]["query"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_pods_are_hardened(overlay: Path) -> None:
    for name, pod in _pods(overlay):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= set(container["resources"]), name
            assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container), name


@pytest.mark.parametrize("overlay", ["staging", "production"])
def test_staging_and_production_pin_images_by_digest(overlay: str) -> None:
    for name, pod in _pods(MANIFESTS / "overlays" / overlay):
        for container in pod["containers"]:
            assert DIGEST.search(container["image"]), f"{name}: {container['image']}"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_no_plain_secrets_and_network_is_default_deny(overlay: Path) -> None:
    docs = _rendered(overlay)
    assert not [d for d in docs if d["kind"] == "Secret"]
    deny = next(
        d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "default-deny-all"
    )
    assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert {"PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "ExternalSecret", "SecretStore"} <= {
        d["kind"] for d in docs
    }


def test_alerts_cover_the_symptoms() -> None:
    rule = _one(LOCAL, "PrometheusRule", "easy-upload")
    alerts = {r["alert"] for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r}
    assert alerts == {
        "EasyUploadApiHighErrorRate",
        "EasyUploadApiHighLatency",
        "EasyUploadQueueBacklog",
        "EasyUploadWorkerFailures",
    }


def test_argocd_syncs_automatically_and_previews_come_from_pull_requests() -> None:
    docs = _rendered(MANIFESTS / "argocd")
    for app in (d for d in docs if d["kind"] == "Application"):
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    appset = next(d for d in docs if d["kind"] == "ApplicationSet")
    assert "pullRequest" in appset["spec"]["generators"][0]
    assert appset["spec"]["template"]["spec"]["source"]["path"] == "manifests/overlays/preview"
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "AppProject"} == {"easy-upload", "platform"}


def test_argocd_applications_point_at_existing_kustomizations() -> None:
    for app in (d for d in _rendered(MANIFESTS / "argocd") if d["kind"] == "Application"):
        assert (MANIFESTS.parent / app["spec"]["source"]["path"] / "kustomization.yaml").is_file()


def test_karpenter_mixes_on_demand_and_spot_with_limits_budgets_and_imdsv2() -> None:
    docs = _rendered(MANIFESTS / "platform" / "karpenter")
    capacity = set()
    for pool in (d for d in docs if d["kind"] == "NodePool"):
        assert pool["spec"]["limits"] and pool["spec"]["disruption"]["budgets"]
        for requirement in pool["spec"]["template"]["spec"]["requirements"]:
            if requirement["key"] == "karpenter.sh/capacity-type":
                capacity.update(requirement["values"])
    assert capacity == {"on-demand", "spot"}
    node_class = next(d for d in docs if d["kind"] == "EC2NodeClass")
    assert node_class["spec"]["metadataOptions"]["httpTokens"] == "required"
    assert node_class["spec"]["metadataOptions"]["httpPutResponseHopLimit"] == 1
