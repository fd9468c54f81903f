"""Offline schema validation of Kubernetes objects: built-in kinds through kubernetes-validate
(strict: unknown fields fail), custom resources through the CustomResourceDefinitions in ``crds/``
(their ``openAPIV3Schema``, the same files the policy stage reads).

An object whose kind has no schema at all is reported too: nothing passes unvalidated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
from referencing import Registry, Resource

from harness.k8s.documents import Document, load_documents, resource_id

CRD_DIR = Path(__file__).with_name("crds")
_CRD_VALIDATORS: dict[int, jsonschema.Draft7Validator] = {}
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
    validator = _CRD_VALIDATORS.get(id(schema))
    if validator is None:  # one per shipped schema (they live as long as the cached index)
        validator = _CRD_VALIDATORS.setdefault(id(schema), jsonschema.Draft7Validator(schema))
    return [
        ValidationIssue(describe(doc), _json_path(error.absolute_path), error.message)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _validate_builtin(doc: Document, version: str) -> list[ValidationIssue]:
    validator = _builtin_validator(str(doc.get("apiVersion", "")), str(doc.get("kind", "")), version)
    if validator is None:
        return [ValidationIssue(describe(doc), "", "no schema for this apiVersion/kind (built-in or CRD)")]
    try:
        validator.validate(doc)
    except jsonschema.ValidationError as error:
        return [ValidationIssue(describe(doc), _json_path(error.absolute_path), error.message)]
    return []


@cache
def _builtin_validator(api_version: str, kind: str, desired: str) -> jsonschema.Draft202012Validator | None:
    """kubernetes-validate's strict schema for one kind, built once per run instead of once per object
    (its ``validate()`` re-reads the schema and the large ``_definitions.json`` on every call). The
    file and version selection follow ``kubernetes_validate.utils.validate`` (kubernetes-validate 1.37)."""
    utils = kubernetes_validate.utils
    wanted = utils.major_minor(desired.removeprefix("v"))
    if wanted > utils.latest_version():
        raise kubernetes_validate.VersionNotSupportedError(version=wanted)
    chosen = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{chosen}-local-strict"
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", desired)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(utils.schema_contents(f"{folder}/_definitions.json", desired)) @ (
        Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


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
