"""Kubernetes manifests: loading, a pure-Python kustomize subset, offline schema validation and
cross-object reference checks. No cluster, no kubectl."""

from __future__ import annotations

from harness.k8s.consistency import check_references
from harness.k8s.documents import Document, dump_documents, load_documents, resource_id
from harness.k8s.kustomize import find_kustomization, render_overlay, split_image
from harness.k8s.validate import (
    ValidationIssue,
    crd_kinds,
    crd_schema,
    validate_document,
    validate_documents,
)

__all__ = [
    "Document",
    "ValidationIssue",
    "check_references",
    "crd_kinds",
    "crd_schema",
    "dump_documents",
    "find_kustomization",
    "load_documents",
    "render_overlay",
    "resource_id",
    "split_image",
    "validate_document",
    "validate_documents",
]
