"""Offline schema validation of Kubernetes objects: built-in kinds through kubernetes-validate
(strict: unknown fields fail), custom resources through the JSON Schemas in ``crds/``.

An object whose kind has no schema at all is reported too: nothing passes unvalidated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from harness.k8s.documents import Document, resource_id

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
def crd_schema(group: str, kind: str) -> dict[str, Any] | None:
    """The shipped JSON Schema for a custom resource kind, or None."""
    path = CRD_DIR / f"{group}_{kind}.json"
    if not path.is_file():
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def crd_kinds() -> list[tuple[str, str]]:
    """(group, kind) of every shipped CRD schema."""
    return sorted(tuple(p.stem.split("_", 1)) for p in CRD_DIR.glob("*.json"))  # type: ignore[misc]


def validate_document(
    doc: Document, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
) -> list[ValidationIssue]:
    """Every schema violation of one object (empty list when it is valid)."""
    group, kind, _, _ = resource_id(doc)
    schema = crd_schema(group, kind)
    if schema is not None:
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
    validator = jsonschema.Draft202012Validator(schema)
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


def _json_path(parts: Any) -> str:
    return "/" + "/".join(str(part) for part in parts) if parts else ""
