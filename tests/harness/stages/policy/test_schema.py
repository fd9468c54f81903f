"""Offline schema validation: built-in kinds, the CRDs we use, CRDs shipped in the repo, unknown kinds."""

from __future__ import annotations

from typing import Any

import pytest

from harness.stages.policy.model import K8sDoc
from harness.stages.policy.schema import validate_manifests

ROLLOUT: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "api"},
    "spec": {"selector": {"matchLabels": {"app": "api"}},
             "template": {"metadata": {"labels": {"app": "api"}},
                          "spec": {"containers": [{"name": "api", "image": "api:1"}]}},
             "strategy": {"canary": {"steps": [{"setWeight": 20}]}}},
}
CRD_KINDS = [
    ("argoproj.io/v1alpha1", "AnalysisTemplate",
     {"metrics": [{"name": "m", "provider": {"job": {"spec": {}}}}]}),
    ("external-secrets.io/v1beta1", "SecretStore", {"provider": {"aws": {"service": "SecretsManager",
                                                                          "region": "eu-west-1"}}}),
    ("monitoring.coreos.com/v1", "ServiceMonitor", {"selector": {}, "endpoints": [{"port": "http"}]}),
    ("argoproj.io/v1alpha1", "AppProject", {"sourceRepos": ["*"]}),
    ("argoproj.io/v1alpha1", "Application", {"project": "shop"}),
    ("argoproj.io/v1alpha1", "ApplicationSet", {"generators": []}),
    ("external-secrets.io/v1beta1", "ExternalSecret", {"secretStoreRef": {"name": "aws"}}),
    ("monitoring.coreos.com/v1", "PrometheusRule", {"groups": []}),
    ("karpenter.sh/v1", "NodePool", {"template": {"spec": {}}}),
]


def doc(data: dict[str, Any]) -> K8sDoc:
    return K8sDoc(data, "manifests/x.yaml:1", "manifests")


def test_valid_rollout_passes() -> None:
    report = validate_manifests([doc(ROLLOUT)])
    assert [(f.id, f.passed) for f in report.findings] == [("EU-SCHEMA-Rollout", True)]


def test_rollout_pod_template_is_validated_like_a_deployment() -> None:
    bad = {**ROLLOUT, "spec": {**ROLLOUT["spec"], "template": {
        "metadata": {"labels": {"app": "api"}},
        "spec": {"containers": [{"name": "api", "image": "api:1", "imagePullPolicy": "Sometimes",
                                 "portz": []}]}}}}
    finding = validate_manifests([doc(bad)]).findings[0]
    assert not finding.passed
    assert "portz" in finding.message


@pytest.mark.parametrize(("api_version", "kind", "spec"), CRD_KINDS)
def test_crd_kinds_we_use_have_schemas(api_version: str, kind: str, spec: dict[str, Any]) -> None:
    report = validate_manifests([doc({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"},
                                      "spec": spec})])
    assert not report.unknown
    assert report.findings[0].id == f"EU-SCHEMA-{kind}"


def test_wrong_type_in_a_crd_fails() -> None:
    bad = {**ROLLOUT, "spec": {**ROLLOUT["spec"], "replicas": "three"}}
    finding = validate_manifests([doc(bad)]).findings[0]
    assert not finding.passed and "replicas" in finding.message


def test_builtin_unknown_field_fails() -> None:
    data = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "date": {"a": "b"}}
    finding = validate_manifests([doc(data)]).findings[0]
    assert not finding.passed and "'date' was unexpected" in finding.message


def test_crd_shipped_in_the_repo_is_used_and_unknown_kinds_are_reported() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "required": ["size"]}}}
    version = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
                    "scope": "Namespaced", "versions": [version]}}
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {}}
    report = validate_manifests([doc(crd), doc(widget), doc(gadget)])
    verdicts = {f.id: f.passed for f in report.findings}
    assert verdicts["EU-SCHEMA-Widget"] is False
    assert report.unknown == {"example.com/v1/Gadget"}
