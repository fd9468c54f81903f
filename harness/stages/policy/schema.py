"""Offline schema validation of every manifest, through :mod:`harness.k8s.validate`: built-in kinds
with kubernetes-validate (strict), custom resources with the CRDs shipped in ``harness/k8s/crds/``
(Rollout pod templates validated like a Deployment's). CRDs found among the checked manifests
extend that set, so a repo with its own CRDs is validated too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from harness.k8s.validate import DEFAULT_KUBERNETES_VERSION, validate_document
from harness.stages.policy.model import Finding, K8sDoc

NO_SCHEMA = "no schema for this apiVersion/kind"


@dataclass(slots=True)
class SchemaReport:
    findings: list[Finding] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # apiVersion/kind without any schema


def local_crd_schemas(docs: Iterable[K8sDoc]) -> dict[tuple[str, str], Any]:
    """``{(apiVersion, kind): openAPIV3Schema}`` of CustomResourceDefinitions among the manifests."""
    schemas: dict[tuple[str, str], Any] = {}
    for crd in (d for d in docs if d.kind == "CustomResourceDefinition"):
        kind = (crd.spec.get("names") or {}).get("kind")
        for version in crd.spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if kind and schema:
                schemas[(f"{crd.spec.get('group')}/{version.get('name')}", kind)] = schema
    return schemas


def validate_manifests(docs: Iterable[K8sDoc], k8s_version: str | None = None) -> SchemaReport:
    """One finding per object: ``EU-SCHEMA-<Kind>``, failed with its first schema violations."""
    docs = list(docs)
    local = local_crd_schemas(docs)
    report = SchemaReport()
    for doc in docs:
        problems = _problems(doc, local, k8s_version or DEFAULT_KUBERNETES_VERSION)
        if problems and NO_SCHEMA in problems[0]:
            report.unknown.add(f"{doc.api_version}/{doc.kind}")
            continue
        message = "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
        report.findings.append(Finding(f"EU-SCHEMA-{doc.kind or 'Unknown'}", not problems, doc.ref,
                                       doc.location, message, f"{doc.kind} matches its schema", "schema"))
    return report


def _problems(doc: K8sDoc, local: dict[tuple[str, str], Any], version: str) -> list[str]:
    schema = local.get((doc.api_version, doc.kind))
    if schema is not None:
        validator = jsonschema.Draft7Validator(_strip(schema))
        errors = validator.iter_errors(doc.data)
        return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    return [f"{issue.path or '/'}: {issue.message}" for issue in validate_document(doc.data, version)]


def _strip(schema: Any) -> Any:
    """Drop ``x-kubernetes-*`` extensions that JSON Schema validators do not know."""
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if not str(k).startswith("x-kubernetes")}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


__all__ = ["SchemaReport", "local_crd_schemas", "validate_manifests"]
