"""kustomize for real: every kustomization renders through `kubectl kustomize` (or a `kustomize`
binary), origins name the declaring file, kustomize's errors name the overlay, and a machine
without kustomize gets one clear error instead of a look-alike."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError, StageError
from harness.k8s import kustomize_engine, load_documents, render_overlay, render_with_origins, resource_id
from tests.iac.conftest import KUSTOMIZATIONS, MANIFESTS, OVERLAYS


def _rel(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


def _write(folder: Path, files: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        (folder / name).write_text(text)
    return folder


DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}


@pytest.fixture
def no_engine_cache() -> Iterator[None]:
    kustomize_engine.cache_clear()
    yield
    kustomize_engine.cache_clear()


def test_every_overlay_exists() -> None:
    assert {p.name for p in OVERLAYS} == {"local", "preview", "staging", "production"}


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_rel)
def test_every_kustomization_renders_with_its_origins(folder: Path) -> None:
    plain = render_overlay(folder)
    located = render_with_origins(folder)
    assert plain and [r.document for r in located] == plain  # the origin annotation is removed again
    assert all(r.origin is not None and r.origin.is_file() and r.origin.is_relative_to(MANIFESTS)
               for r in located)


def test_origin_is_the_declaring_file() -> None:
    located = {(r.document["kind"], r.document["metadata"]["name"]): r.origin
               for r in render_with_origins(MANIFESTS / "overlays" / "production")}
    assert located[("Rollout", "api")] == MANIFESTS / "base" / "api-rollout.yaml"
    assert located[("HorizontalPodAutoscaler", "worker")] == MANIFESTS / "base" / "worker-hpa.yaml"


def test_overlays_set_their_namespace_everywhere() -> None:
    for overlay in OVERLAYS:
        for doc in render_overlay(overlay):
            if doc["kind"] == "Namespace":
                assert doc["metadata"]["name"].startswith("easy-upload")
            else:
                assert doc["metadata"]["namespace"].startswith("easy-upload"), resource_id(doc)


def test_engine_names_its_version() -> None:
    assert kustomize_engine().version.startswith("kustomize v")


@pytest.mark.parametrize("render", [render_overlay, render_with_origins], ids=["plain", "with-origins"])
def test_kustomize_error_names_the_overlay(tmp_path: Path, render: Any) -> None:
    overlay = _write(tmp_path / "overlay", {"kustomization.yaml": {"resources": ["missing.yaml"]}})
    with pytest.raises(ConfigError, match="kustomize failed") as caught:
        render(overlay)
    assert str(overlay) in str(caught.value) and "missing.yaml" in str(caught.value)
    assert "harness-kustomize-" not in str(caught.value)  # never the wrapper's folder


def test_a_folder_without_kustomization_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no kustomization\.yaml"):
        render_overlay(tmp_path)


def test_missing_kustomize_is_one_clear_stage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    no_engine_cache: None) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    overlay = _write(tmp_path / "o", {"kustomization.yaml": {"resources": ["app.yaml"]},
                                      "app.yaml": DEPLOYMENT})
    with pytest.raises(StageError, match="kustomize not found") as caught:
        render_overlay(overlay)
    assert "install kubectl" in str(caught.value)


def test_a_kustomize_binary_on_path_is_preferred(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 no_engine_cache: None) -> None:
    """A standalone kustomize wins over kubectl's: the observation is which binary printed the objects."""
    binary = tmp_path / "bin" / "kustomize"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nif [ \"$1\" = version ]; then echo v5.9.9; exit 0; fi\n"
                      "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-standalone\\n'\n")
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    overlay = _write(tmp_path / "o", {"kustomization.yaml": {"resources": ["app.yaml"]},
                                      "app.yaml": DEPLOYMENT})
    assert kustomize_engine().version == "kustomize v5.9.9"
    assert [d["metadata"]["name"] for d in render_overlay(overlay)] == ["from-standalone"]


def test_load_documents_rejects_non_objects(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: document 1"):
        load_documents(tmp_path / "x.yaml")


def test_the_python_subset_is_gone() -> None:
    k8s = Path(__file__).resolve().parents[2] / "harness" / "k8s"
    assert not (k8s / "patches.py").exists()
    assert len((k8s / "kustomize.py").read_text().splitlines()) < 200
