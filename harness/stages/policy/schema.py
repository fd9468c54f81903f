"""Offline schema validation of every manifest, through :mod:`harness.k8s.validate`: built-in kinds
with kubernetes-validate (strict), custom resources with the CRDs shipped in ``harness/k8s/crds/``
(Rollout pod templates validated like a Deployment's). CRDs found among the checked manifests
extend that set, so a repo with its own CRDs is validated too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
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
    """One finding per object: ``EU-SCHEMA-<Kind>``, failed with its first schema violations and
    located at the first violating field."""
    docs = list(docs)
    local = local_crd_schemas(docs)
    version = k8s_version or DEFAULT_KUBERNETES_VERSION
    report = SchemaReport()
    for doc in docs:
        problems = _problems(doc, local, version)
        if problems and NO_SCHEMA in problems[0][1]:
            report.unknown.add(f"{doc.api_version}/{doc.kind}")
            continue
        shown = [f"{path or '/'}: {message}" for path, message in problems]
        message = "; ".join(shown[:3]) + (f" (+{len(shown) - 3} more)" if len(shown) > 3 else "")
        location = doc.locate(problems[0][0]) if problems else doc.location
        proven_on = " / ".join(p for p in (_engine(version), doc.rendered_by) if p)
        report.findings.append(Finding(f"EU-SCHEMA-{doc.kind or 'Unknown'}", not problems, doc.ref, location,
                                       message, f"{doc.kind} matches its schema", "schema",
                                       proven_on=proven_on))
    return report


def _engine(version: str) -> str:
    return (f"kubernetes-validate {_validator_version()} (Kubernetes {version} schemas, "
            "CRDs in harness/k8s/crds)")


def _validator_version() -> str:
    try:
        return metadata.version("kubernetes-validate")
    except metadata.PackageNotFoundError:
        return "(unknown version)"


def _problems(doc: K8sDoc, local: dict[tuple[str, str], Any], version: str) -> list[tuple[str, str]]:
    """``[(json path, message)]`` of every violation."""
    schema = local.get((doc.api_version, doc.kind))
    if schema is not None:
        validator = jsonschema.Draft7Validator(_strip(schema))
        errors = validator.iter_errors(doc.data)
        return [(f"/{'/'.join(map(str, e.absolute_path))}", e.message) for e in errors]
    return [(issue.path, issue.message) for issue in validate_document(doc.data, version)]


def _strip(schema: Any) -> Any:
    """Drop ``x-kubernetes-*`` extensions that JSON Schema validators do not know."""
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if not str(k).startswith("x-kubernetes")}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


__all__ = ["SchemaReport", "local_crd_schemas", "validate_manifests"]
