"""Kubernetes manifests: loading, rendering with the real kustomize (``kubectl kustomize``) and
helm, where a rendered field was written (source maps), offline schema validation and cross-object
reference checks. No cluster needed."""

from __future__ import annotations

from harness.k8s.consistency import check_references
from harness.k8s.documents import Document, load_documents, resource_id
from harness.k8s.kustomize import (
    KustomizeEngine,
    Rendered,
    find_kustomization,
    kustomize_engine,
    render_overlay,
    render_with_origins,
)
from harness.k8s.validate import ValidationIssue, crd_kinds, crd_schema, validate_document, validate_documents

__all__ = ["Document", "KustomizeEngine", "Rendered", "ValidationIssue", "check_references", "crd_kinds",
           "crd_schema", "find_kustomization", "kustomize_engine", "load_documents",
           "render_overlay", "render_with_origins", "resource_id", "validate_document", "validate_documents"]
