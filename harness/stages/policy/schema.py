"""Offline schema validation of every manifest: built-in kinds with kubernetes-validate, custom
resources with the ``openAPIV3Schema`` of their CustomResourceDefinitions (``harness/k8s/crds/``
plus any CRD found among the checked manifests)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.stages.policy.model import Finding, K8sDoc

CRD_DIR = Path(__file__).resolve().parents[2] / "k8s" / "crds"
CORE_GROUPS = frozenset({"", "v1", "apps", "batch", "autoscaling", "policy", "networking.k8s.io",
                         "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io",
                         "coordination.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io",
                         "certificates.k8s.io", "discovery.k8s.io", "node.k8s.io", "events.k8s.io",
                         "flowcontrol.apiserver.k8s.io", "autoscaling.k8s.io"})


@dataclass(slots=True)
class SchemaReport:
    findings: list[Finding] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # apiVersion/kind without any schema


def crd_schemas(extra_docs: Iterable[K8sDoc] = (), directory: Path = CRD_DIR) -> dict[tuple[str, str], Any]:
    """``{(apiVersion, kind): openAPIV3Schema}`` from CRD files and CRDs among the manifests."""
    crds: list[dict[str, Any]] = [d.data for d in extra_docs if d.kind == "CustomResourceDefinition"]
    if directory.is_dir():
        for path in sorted([*directory.rglob("*.yaml"), *directory.rglob("*.yml")]):
            crds += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    schemas: dict[tuple[str, str], Any] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if kind and schema:
                schemas[(f"{spec.get('group')}/{version.get('name')}", kind)] = schema
    return schemas


def validate_manifests(docs: Iterable[K8sDoc], k8s_version: str | None = None) -> SchemaReport:
    """One finding per object: ``EU-SCHEMA-<Kind>``, failed with the first schema violation."""
    docs = list(docs)
    schemas = crd_schemas(docs)
    report = SchemaReport()
    for doc in docs:
        problem = _problem(doc, schemas, k8s_version, report)
        if problem is not _UNKNOWN:
            report.findings.append(Finding(f"EU-SCHEMA-{doc.kind or 'Unknown'}", problem is None, doc.ref,
                                           doc.location, problem or "", f"{doc.kind} matches its schema",
                                           "schema"))
    return report


_UNKNOWN = "\0unknown"


def _problem(doc: K8sDoc, schemas: dict[tuple[str, str], Any], version: str | None,
             report: SchemaReport) -> str | None:
    group = doc.api_version.rsplit("/", 1)[0] if "/" in doc.api_version else ""
    if (doc.api_version, doc.kind) in schemas:
        return _jsonschema_problem(doc.data, schemas[(doc.api_version, doc.kind)])
    if group in CORE_GROUPS:
        return _builtin_problem(doc.data, version)
    report.unknown.add(f"{doc.api_version}/{doc.kind}")
    return _UNKNOWN


def _jsonschema_problem(data: dict[str, Any], schema: Any) -> str | None:
    body = {k: v for k, v in data.items() if k not in ("apiVersion", "kind", "metadata")}
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(_strip(schema)).iter_errors(body))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def _strip(schema: Any) -> Any:
    """Drop OpenAPI/Kubernetes extensions jsonschema does not know (``x-kubernetes-*``)."""
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if not str(k).startswith("x-kubernetes")}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


def _builtin_problem(data: dict[str, Any], version: str | None) -> str | None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(data, version or kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"{where}: {exc.message}"
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        return f"no valid schema for {data.get('apiVersion')}/{data.get('kind')}: {exc}"
    return None


__all__ = ["SchemaReport", "crd_schemas", "validate_manifests"]
