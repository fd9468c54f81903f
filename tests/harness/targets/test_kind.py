"""The kind target's parts that run here: its overlay (rendered by the real kustomize), its cleanup
on a failed ``up()``, and its pinned assets. The cluster itself runs in the nightly workflow only."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import TargetError
from harness.targets.cluster.deploy import overlay_kustomization
from harness.targets.kind import target as kind_target
from harness.targets.kind.target import ASSETS, PLATFORM
from harness.targets.settings import TargetSettings
from harness.targets.spec import parse_spec

ROOT = Path(__file__).resolve().parents[3]


def _render(tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "kustomization.yaml").write_text(
        overlay_kustomization(
            ROOT / "manifests" / "overlays" / "local", tmp_path, kind_target.overlay_patches()
        )
    )
    out = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_the_overlay_points_the_app_at_the_in_cluster_localstack_and_any_host(tmp_path: Path) -> None:
    docs = _render(tmp_path)
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "app-config")
    assert config["data"]["AWS_ENDPOINT_URL"] == "http://localstack.harness-deps.svc.cluster.local:4566"
    assert config["data"]["RAW_BUCKET"] == "raw-uploads"  # the local overlay's own settings are kept
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    assert "host" not in ingress["spec"]["rules"][0] and "tls" not in ingress["spec"]
    assert {d["kind"] for d in docs} >= {
        "Rollout",
        "Deployment",
        "HorizontalPodAutoscaler",
        "AnalysisTemplate",
    }


def test_a_failed_up_deletes_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> str:
        ran.append(list(argv))
        if argv[:2] == ["docker", "build"]:
            raise TargetError("docker build failed (exit 1)")
        return ""

    monkeypatch.setattr(kind_target, "run", fake_run)
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path)
    target = kind_target.KindTarget(parse_spec("kind://t1"), settings)
    with pytest.raises(TargetError, match="docker build failed"):
        target.up()
    assert ran[0][:3] == ["kind", "create", "cluster"] and "--name" in ran[0] and "t1" in ran[0]
    assert ran[-1][:4] == ["kind", "delete", "cluster", "--name"] and ran[-1][4] == "t1"
    target.down()  # twice is safe: nothing more to delete
    assert sum(1 for argv in ran if argv[:2] == ["kind", "delete"]) == 1


def test_assets_are_pinned() -> None:
    cluster = yaml.safe_load((ASSETS / "cluster.yaml").read_text())
    assert all("@sha256:" in node["image"] for node in cluster["nodes"])
    for doc in yaml.safe_load_all((ASSETS / "deps.yaml").read_text()):
        for container in (
            (doc or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            assert ":" in container["image"] and not container["image"].endswith(":latest")
    urls = [arg for install in PLATFORM for command in install.commands for arg in command if "://" in arg]
    assert urls and all("/latest/" not in url for url in urls)
