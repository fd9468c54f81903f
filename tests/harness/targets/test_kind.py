"""The kind target's parts that run here: its overlay (rendered by the real kustomize), its cleanup
on a failed ``up()``, and its pinned assets. The cluster itself runs in the nightly workflow only."""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.app_profile import AppProfile
from harness.errors import TargetError
from harness.targets.cluster.deploy import (
    app_namespace,
    overlay_kustomization,
    passthrough_templates,
    prepare_overlay,
    seeded_secrets,
)
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


def test_the_overlay_runs_the_run_s_images_and_names_the_namespace_and_secret_keys(tmp_path: Path) -> None:
    images = {"easy-upload-api": "easy-upload-api:harness-r1", "easy-upload-worker": "reg/worker:r1"}
    docs = prepare_overlay(ROOT / "manifests" / "overlays" / "local", tmp_path, kind_target.overlay_patches(),
                           images)
    running = {c["image"] for d in docs if d["kind"] in ("Rollout", "Deployment")
               for c in d["spec"]["template"]["spec"]["containers"]}
    assert running == set(images.values())
    assert app_namespace(docs) == "easy-upload"  # read from the overlay, declared nowhere else
    assert seeded_secrets(docs, {"DATABASE_URL": "postgresql://db", "REDIS_URL": "redis://r"}) == {
        "easy-upload/local/database": {"DATABASE_URL": "postgresql://db"},
        "easy-upload/local/redis": {"REDIS_URL": "redis://r"},
    }


def _go_template(text: str, data: dict[str, str]) -> str:
    """External Secrets' template, as far as the overlay uses it: ``{{ .key }}`` and
    ``{{ .key | urlquery }}``; a key the data lacks fails (ESO would render ``<no value>``)."""
    def field(match: re.Match[str]) -> str:
        key, pipe = match.group(1), match.group(2)
        assert key in data, f"the template reads .{key}; the seeded secret has {sorted(data)}"
        return urllib.parse.quote(data[key], safe="") if pipe == "urlquery" else data[key]
    return re.sub(r"\{\{\s*\.(\w+)\s*(?:\|\s*(\w+)\s*)?\}\}", field, text)


def test_what_kind_seeds_gives_the_app_its_settings_through_the_overlays_external_secrets(
        tmp_path: Path) -> None:
    """Observed: the overlay's ExternalSecret templates (rendered by kustomize) applied to the data
    kind seeds in Secrets Manager give exactly the in-cluster URLs. The base templates build a TLS URL
    from a managed database's fields (username, host, ...) that a seeded URL does not have."""
    settings = {"DATABASE_URL": "postgresql://app:p%40ss@postgres.harness-deps.svc.cluster.local:5432/app",
                "REDIS_URL": "redis://redis.harness-deps.svc.cluster.local:6379/0"}
    assert set(settings) == set(kind_target.SEEDED_SETTINGS)
    overlay = ROOT / "manifests" / "overlays" / "local"
    first = prepare_overlay(overlay, tmp_path / "a", kind_target.overlay_patches())
    patches = [*kind_target.overlay_patches(), *passthrough_templates(first, kind_target.SEEDED_SETTINGS)]
    docs = prepare_overlay(overlay, tmp_path / "b", patches)
    seeded = seeded_secrets(docs, settings)
    rendered: dict[str, str] = {}
    for doc in (d for d in docs if d["kind"] == "ExternalSecret" and d["spec"].get("dataFrom")):
        data = seeded[doc["spec"]["dataFrom"][0]["extract"]["key"]]
        for key, template in doc["spec"]["target"]["template"]["data"].items():
            rendered[key] = _go_template(template, data)
    assert rendered == settings


def test_workloads_in_two_namespaces_are_refused() -> None:
    docs = [{"kind": "Rollout", "metadata": {"name": "api", "namespace": "a"}},
            {"kind": "Deployment", "metadata": {"name": "worker", "namespace": "b"}}]
    with pytest.raises(TargetError, match=r"one namespace; found \['a', 'b'\]"):
        app_namespace(docs)


def _up_failing_at(step: list[str], settings: TargetSettings, monkeypatch: pytest.MonkeyPatch,
                   cluster: str = "t1") -> tuple[kind_target.KindTarget, list[list[str]]]:
    """``up()`` with a recording command runner that fails at the first command starting with ``step``."""
    ran: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> str:
        ran.append(list(argv))
        if argv[:len(step)] == step:
            raise TargetError(f"{' '.join(step)} failed (exit 1)")
        return ""

    monkeypatch.setattr(kind_target, "run", fake_run)
    target = kind_target.KindTarget(parse_spec(f"kind://{cluster}"), settings)
    with pytest.raises(TargetError, match=f"{' '.join(step)} failed"):
        target.up()
    return target, ran


def test_a_failed_up_deletes_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path)
    target, ran = _up_failing_at(["docker", "build"], settings, monkeypatch)
    assert ran[0][:3] == ["kind", "create", "cluster"] and "--name" in ran[0] and "t1" in ran[0]
    dockerfile = ROOT / "reference_app" / "Dockerfile.api"  # scenarios/app.yaml's images
    assert ran[1][:3] == ["docker", "build", "-t"] and ran[1][3].startswith("easy-upload-api:harness-")
    assert ran[1][4:] == ["-f", str(dockerfile), str(dockerfile.parent)]
    assert ran[-1][:4] == ["kind", "delete", "cluster", "--name"] and ran[-1][4] == "t1"
    target.down()  # twice is safe: nothing more to delete
    assert sum(1 for argv in ran if argv[:2] == ["kind", "delete"]) == 1


def test_the_images_come_from_the_app_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = AppProfile(images={"easy-upload-api": "shop/Dockerfile", "easy-upload-worker": "shop/Dockerfile.w"})
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path, app=app)
    _, ran = _up_failing_at(["kind", "load"], settings, monkeypatch, cluster="t2")
    builds = [argv for argv in ran if argv[:2] == ["docker", "build"]]
    assert [argv[5:] for argv in builds] == [[str(ROOT / "shop" / "Dockerfile"), str(ROOT / "shop")],
                                             [str(ROOT / "shop" / "Dockerfile.w"), str(ROOT / "shop")]]
    loaded = next(argv for argv in ran if argv[:2] == ["kind", "load"])
    assert loaded[3:5] == [argv[3] for argv in builds]


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
