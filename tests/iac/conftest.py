"""Paths shared by the infrastructure-as-code tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MANIFESTS = REPO / "manifests"
OVERLAYS = sorted(p for p in (MANIFESTS / "overlays").iterdir() if p.is_dir())
KUSTOMIZATIONS = sorted(p.parent for p in MANIFESTS.rglob("kustomization.yaml"))
WORKFLOWS = REPO / ".github" / "workflows"
