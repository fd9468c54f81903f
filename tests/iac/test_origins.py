"""Where a rendered field was written: the declaring file, a patch (file or inline), or the
overlay's transformer fields; a claim a patch cannot back with the rendered value is not made."""

from __future__ import annotations

from pathlib import Path

from harness.k8s import render_with_origins
from harness.k8s.origins import OriginMapper
from harness.k8s.sourcemap import SourceMap, parse_path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "conventional" / "deploy"
OVERLAY = FIXTURE / "overlays" / "prod"


def _api(overlay: Path = OVERLAY) -> SourceMap:
    mapper = OriginMapper(overlay, lambda p: Path(p).resolve().relative_to(FIXTURE).as_posix())
    (rendered,) = [r for r in render_with_origins(overlay) if r.document["kind"] == "Deployment"]
    return mapper.source_map(rendered)


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_fields_map_to_base_patch_file_inline_patch_and_transformers() -> None:
    api = _api()
    container = "spec/template/spec/containers/[0]"
    kustomization = OVERLAY / "kustomization.yaml"
    assert api.locate(f"{container}/securityContext/privileged") == (
        "overlays/prod/privileged-patch.yaml", _line(OVERLAY / "privileged-patch.yaml", "privileged"))
    assert api.locate(f"{container}/resources/limits/memory") == (
        "overlays/prod/kustomization.yaml", _line(kustomization, "value: 4Gi"))
    assert api.locate("spec/template/spec/hostNetwork") == (
        "overlays/prod/kustomization.yaml", _line(kustomization, "value: true"))
    assert api.locate(f"{container}/image") == ("overlays/prod/kustomization.yaml",
                                                 _line(kustomization, "- name: registry.example/api"))
    assert api.locate("metadata/namespace") == ("overlays/prod/kustomization.yaml", 1)
    assert api.locate(f"{container}/resources/limits/cpu") == ("base/api.yaml",
                                                              _line(FIXTURE / "base/api.yaml", "limits:"))
    missing = api.locate(f"{container}/livenessProbe")  # nobody wrote it: the container's line
    assert missing == ("base/api.yaml", _line(FIXTURE / "base/api.yaml", "- name: api"))
    assert api.locate() == ("base/api.yaml", 1)


def test_a_patch_claims_only_values_kustomize_rendered(tmp_path: Path) -> None:
    """A later patch overrides an earlier one: the earlier patch's value is not what was rendered,
    so the field belongs to the later patch."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: {}\n"
    (base / "app.yaml").write_text(config_map.format("base"))
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "first.yaml").write_text(config_map.format("first"))
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n  - path: first.yaml\n  - target: {kind: ConfigMap}\n"
        "    patch: |-\n      - op: replace\n        path: /data/mode\n        value: second\n")
    mapper = OriginMapper(overlay, lambda p: Path(p).relative_to(tmp_path).as_posix())
    (rendered,) = render_with_origins(overlay)
    assert rendered.document["data"]["mode"] == "second"
    assert mapper.source_map(rendered).locate("data/mode") == ("overlay/kustomization.yaml", 8)


def test_paths_read_as_checkov_and_json_pointer_write_them() -> None:
    doc = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "metadata": {"annotations": {"a/b": "x"}}}
    assert parse_path("spec/containers/[1]/name", doc) == ("spec", "containers", 1, "name")
    assert parse_path("/spec/containers/1/name", doc) == ("spec", "containers", 1, "name")
    assert parse_path("/spec/containers/-", doc) == ("spec", "containers", 1)
    assert parse_path("metadata/annotations/a~1b", doc) == ("metadata", "annotations", "a/b")
