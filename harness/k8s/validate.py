"""Offline schema validation of Kubernetes objects: built-in kinds through kubernetes-validate
(strict: unknown fields fail), custom resources through the CustomResourceDefinitions in ``crds/``
(their ``openAPIV3Schema``, the same files the policy stage reads).

An object whose kind has no schema at all is reported too: nothing passes unvalidated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from harness.k8s.documents import Document, load_documents, resource_id

CRD_DIR = Path(__file__).with_name("crds")
DEFAULT_KUBERNETES_VERSION = "1.31"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One schema violation of one object."""

    resource: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.path or '<root>'}: {self.message}"


def describe(doc: Document) -> str:
    """``apiVersion/Kind namespace/name`` of an object, for messages."""
    _, kind, namespace, name = resource_id(doc)
    where = f"{namespace}/{name}" if namespace else name
    return f"{doc.get('apiVersion', '?')}/{kind} {where}"


@cache
def _crd_index() -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """``{(group, kind): {version: openAPIV3Schema}}`` from the CRD files in ``crds/``."""
    index: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        for crd in load_documents(path):
            spec = crd.get("spec") or {}
            versions = index.setdefault((str(spec.get("group")), str(spec["names"]["kind"])), {})
            for version in spec.get("versions", []):
                versions[str(version["name"])] = _strip_extensions(version["schema"]["openAPIV3Schema"])
    return index


def crd_schema(group: str, kind: str, version: str | None = None) -> dict[str, Any] | None:
    """The shipped openAPIV3Schema of a custom resource (its storage version by default), or None."""
    versions = _crd_index().get((group, kind))
    if not versions:
        return None
    if version is None:
        return list(versions.values())[-1]
    return versions.get(version)


def crd_kinds() -> list[tuple[str, str]]:
    """(group, kind) of every shipped CRD schema."""
    return sorted(_crd_index())


def validate_document(
    doc: Document, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[ValidationIssue]:
    """Every schema violation of one object (empty list when it is valid)."""
    group, kind, _, _ = resource_id(doc)
    if (group, kind) in _crd_index():
        version = str(doc.get("apiVersion", "")).rpartition("/")[2]
        schema = crd_schema(group, kind, version)
        if schema is None:
            return [ValidationIssue(describe(doc), "/apiVersion", f"{kind} has no version {version!r}")]
        issues = _validate_crd(doc, schema)
        if kind == "Rollout" and isinstance(doc.get("spec", {}).get("template"), dict):
            issues += _validate_rollout_pods(doc, kubernetes_version)
        return issues
    return _validate_builtin(doc, kubernetes_version)


def validate_documents(
    docs: list[Document], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[ValidationIssue]:
    """Every schema violation of a list of objects (e.g. a rendered overlay)."""
    return [issue for doc in docs for issue in validate_document(doc, kubernetes_version)]


def _validate_crd(doc: Document, schema: dict[str, Any]) -> list[ValidationIssue]:
    validator = jsonschema.Draft7Validator(schema)
    return [
        ValidationIssue(describe(doc), _json_path(error.absolute_path), error.message)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _validate_builtin(doc: Document, version: str) -> list[ValidationIssue]:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [ValidationIssue(describe(doc), "", "no schema for this apiVersion/kind (built-in or CRD)")]
    except kubernetes_validate.ValidationError as error:
        return [ValidationIssue(describe(doc), _json_path(error.absolute_path), error.message)]
    return []


def _validate_rollout_pods(doc: Document, version: str) -> list[ValidationIssue]:
    """Validate the Rollout's pod template exactly like a Deployment's."""
    spec = doc["spec"]
    probe = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": doc.get("metadata", {}).get("name", "rollout")},
        "spec": {"selector": spec.get("selector", {}), "template": spec["template"]},
    }
    return [
        ValidationIssue(describe(doc), issue.path, issue.message)
        for issue in _validate_builtin(probe, version)
    ]


def _strip_extensions(schema: Any) -> Any:
    """Drop the ``x-kubernetes-*`` OpenAPI extensions that JSON Schema validators do not know."""
    if isinstance(schema, dict):
        return {k: _strip_extensions(v) for k, v in schema.items() if not str(k).startswith("x-kubernetes")}
    if isinstance(schema, list):
        return [_strip_extensions(item) for item in schema]
    return schema


def _json_path(parts: Any) -> str:
    return "/" + "/".join(str(part) for part in parts) if parts else ""
