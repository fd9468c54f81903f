"""Every rendered object validates against its schema (built-in kinds and the shipped CRDs), and
every overlay is internally consistent (no dangling references)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest

from harness.k8s import (
    Document,
    check_references,
    crd_kinds,
    render_overlay,
    validate_document,
    validate_documents,
)
from tests.iac.conftest import KUSTOMIZATIONS, MANIFESTS

USED_CRDS = {
    ("argoproj.io", "Rollout"),
    ("argoproj.io", "AnalysisTemplate"),
    ("argoproj.io", "Application"),
    ("argoproj.io", "ApplicationSet"),
    ("argoproj.io", "AppProject"),
    ("external-secrets.io", "ExternalSecret"),
    ("external-secrets.io", "SecretStore"),
    ("external-secrets.io", "ClusterSecretStore"),
    ("monitoring.coreos.com", "ServiceMonitor"),
    ("monitoring.coreos.com", "PrometheusRule"),
    ("karpenter.sh", "NodePool"),
    ("karpenter.k8s.aws", "EC2NodeClass"),
}


def _rel(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


@cache
def _rendered(folder: Path) -> tuple[Document, ...]:
    return tuple(render_overlay(folder))


def _local() -> list[Document]:
    return copy.deepcopy(list(_rendered(MANIFESTS / "overlays" / "local")))


def _one(docs: list[Document], kind: str, name: str) -> Document:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_a_schema_ships_for_every_crd_we_use() -> None:
    assert set(crd_kinds()) >= USED_CRDS


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_rel)
def test_every_rendered_object_is_schema_valid(folder: Path) -> None:
    assert [str(issue) for issue in validate_documents(list(_rendered(folder)))] == []


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_rel)
def test_every_overlay_is_internally_consistent(folder: Path) -> None:
    assert [str(issue) for issue in check_references(list(_rendered(folder)))] == []


def test_a_misspelt_canary_step_fails() -> None:
    rollout = _one(_local(), "Rollout", "api")
    rollout["spec"]["strategy"]["canary"]["steps"][0] = {"setweight": 5}
    issues = validate_document(rollout)
    assert any("setweight" in issue.message for issue in issues)


def test_a_bad_pod_template_in_a_rollout_fails_like_a_deployment() -> None:
    rollout = _one(_local(), "Rollout", "api")
    rollout["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    issues = validate_document(rollout)
    assert issues and issues[0].path.startswith("/spec/template/spec/containers/0/ports/0")


def test_an_analysis_metric_without_provider_fails() -> None:
    template = _one(_local(), "AnalysisTemplate", "success-rate")
    del template["spec"]["metrics"][0]["provider"]
    assert any("provider" in issue.message for issue in validate_document(template))


def test_an_unknown_field_of_a_builtin_kind_fails() -> None:
    hpa = _one(_local(), "HorizontalPodAutoscaler", "api")
    hpa["spec"]["minReplica"] = 2
    assert validate_document(hpa)


def test_an_unserved_crd_version_fails() -> None:
    rollout = _one(_local(), "Rollout", "api")
    rollout["apiVersion"] = "argoproj.io/v9"
    assert "has no version" in validate_document(rollout)[0].message


def test_a_kind_without_any_schema_is_reported() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "no schema" in validate_document(doc)[0].message


def test_a_nodepool_budget_needs_schedule_and_duration_together() -> None:
    docs = copy.deepcopy(list(_rendered(MANIFESTS / "platform" / "karpenter")))
    pool = _one(docs, "NodePool", "base-on-demand")
    del pool["spec"]["disruption"]["budgets"][1]["duration"]
    assert validate_document(pool)


@pytest.mark.parametrize(
    ("kind", "name", "mutate", "message"),
    [
        (
            "HorizontalPodAutoscaler",
            "api",
            lambda d: d["spec"]["scaleTargetRef"].update(name="apy"),
            "no Rollout",
        ),
        (
            "Rollout",
            "api",
            lambda d: d["spec"]["strategy"]["canary"].update(canaryService="nope"),
            "no Service",
        ),
        ("Rollout", "api", lambda d: d["spec"].update(replicas=3), "HPA owns"),
        (
            "Rollout",
            "api",
            lambda d: d["spec"]["strategy"]["canary"]["steps"][2]["analysis"]["templates"][0].update(
                templateName="missing"
            ),
            "no AnalysisTemplate",
        ),
        (
            "Rollout",
            "api",
            lambda d: d["spec"]["strategy"]["canary"]["steps"][2]["analysis"].update(args=[]),
            "needs args",
        ),
        (
            "Deployment",
            "worker",
            lambda d: d["spec"]["template"]["spec"].update(serviceAccountName="root"),
            "no ServiceAccount",
        ),
        (
            "Deployment",
            "worker",
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"][
                "secretKeyRef"
            ].update(key="PASSWORD"),
            "has no key",
        ),
        (
            "Service",
            "api-stable",
            lambda d: d["spec"].update(selector={"app.kubernetes.io/name": "apii"}),
            "selects no pod",
        ),
    ],
    ids=[
        "hpa-target",
        "canary-service",
        "replicas-with-hpa",
        "analysis-template",
        "analysis-args",
        "service-account",
        "secret-key",
        "service-selector",
    ],
)
def test_dangling_references_are_reported(kind: str, name: str, mutate: object, message: str) -> None:
    docs = _local()
    assert callable(mutate)
    mutate(_one(docs, kind, name))
    assert any(message in issue.message for issue in check_references(docs)), message
