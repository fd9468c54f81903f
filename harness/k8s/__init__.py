"""Kubernetes manifests: loading, a pure-Python kustomize subset, and offline schema validation."""

from __future__ import annotations

from harness.k8s.documents import Document, dump_documents, load_documents, resource_id
from harness.k8s.kustomize import render_overlay, split_image

__all__ = [
    "Document",
    "dump_documents",
    "load_documents",
    "render_overlay",
    "resource_id",
    "split_image",
]
