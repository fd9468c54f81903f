"""What the rendered manifests say about the app: replicas per component, HPAs, the rollout, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.k8s.documents import name_of
from harness.k8s.specs import SCALED_KINDS

DEFAULT_REPLICAS = {"api": 1, "worker": 1}


@dataclass(slots=True)
class AppManifests:
    """The parts of the rendered overlay the local target honours."""

    replicas: dict[str, int]
    settings: dict[str, str] = field(default_factory=dict)  # ConfigMap app-config data
    documents: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""


def replica_counts(documents: list[dict[str, Any]]) -> dict[str, int]:
    """Replicas per workload: the HPA's minReplicas where an HPA owns it, else spec.replicas (1)."""
    counts = {
        (str(doc["kind"]), name_of(doc)): _count(doc.get("spec", {}).get("replicas"))
        for doc in documents if doc.get("kind") in SCALED_KINDS
    }
    for doc in documents:
        if doc.get("kind") != "HorizontalPodAutoscaler":
            continue
        ref = doc.get("spec", {}).get("scaleTargetRef", {})
        key = (str(ref.get("kind")), str(ref.get("name")))
        if key in counts:
            counts[key] = _count(doc["spec"].get("minReplicas"))
    return {name: n for (_, name), n in counts.items()}


def config_settings(documents: list[dict[str, Any]], name: str = "app-config") -> dict[str, str]:
    """The data of the app's ConfigMap (strings), empty when there is none."""
    for doc in documents:
        if doc.get("kind") == "ConfigMap" and name_of(doc) == name:
            return {str(k): str(v) for k, v in (doc.get("data") or {}).items()}
    return {}


def load_app_manifests(overlay_dir: Path) -> AppManifests:
    """Render ``overlay_dir`` with the real kustomize (:func:`harness.k8s.render_overlay`)."""
    from harness.k8s import render_overlay

    if not overlay_dir.is_dir():
        raise TargetError(f"{overlay_dir}: manifests overlay not found")
    try:
        documents = list(render_overlay(overlay_dir))
    except Exception as exc:  # a rendering bug must not look like a crash of the target
        raise TargetError(f"{overlay_dir}: cannot render the overlay: {exc}") from exc
    replicas = {**DEFAULT_REPLICAS, **replica_counts(documents)}
    return AppManifests(replicas, config_settings(documents), documents, str(overlay_dir))


def _count(value: Any) -> int:
    """A replica count; absent means Kubernetes' default of 1."""
    return 1 if value is None else int(value)



__all__ = ["AppManifests", "config_settings", "load_app_manifests", "replica_counts"]
