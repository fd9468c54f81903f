"""The pure-Python kustomize subset: renders every kustomization, agrees with `kubectl kustomize`
where kubectl exists, and refuses what it does not support."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import ConfigError
from harness.k8s import load_documents, render_overlay, resource_id, split_image
from harness.k8s.patches import json6902, strategic_merge
from tests.iac.conftest import KUSTOMIZATIONS, MANIFESTS, OVERLAYS


def _rel(path: Path) -> str:
    return str(path.relative_to(MANIFESTS))


def _write(folder: Path, files: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump_all(content if isinstance(content, list) else [content])
        )
        (folder / name).write_text(text)
    return folder


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "registry.example/app:1.0",
                        "env": [{"name": "A", "value": "1"}],
                    },
                    {"name": "sidecar", "image": "proxy"},
                ]
            }
        }
    },
}


def test_every_overlay_exists() -> None:
    assert {p.name for p in OVERLAYS} == {"local", "preview", "staging", "production"}


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_rel)
def test_every_kustomization_renders(folder: Path) -> None:
    docs = render_overlay(folder)
    assert docs and all("kind" in doc and doc["metadata"]["name"] for doc in docs)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not on PATH (CI machines lack it)")
@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=_rel)
def test_rendering_equals_kubectl_kustomize(folder: Path) -> None:
    output = subprocess.run(
        ["kubectl", "kustomize", str(folder)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    expected = [doc for doc in yaml.safe_load_all(output) if doc]
    assert render_overlay(folder) == expected


def test_overlays_set_their_namespace_everywhere() -> None:
    for overlay in OVERLAYS:
        for doc in render_overlay(overlay):
            if doc["kind"] == "Namespace":
                assert doc["metadata"]["name"].startswith("easy-upload")
            else:
                assert doc["metadata"]["namespace"].startswith("easy-upload"), resource_id(doc)


def test_strategic_merge_merges_containers_by_name_and_null_deletes() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "2"}]}]}}
        },
        "metadata": {"labels": None},
    }
    merged = strategic_merge(DEPLOYMENT | {"metadata": {"name": "web", "labels": {"x": "y"}}}, patch, "t")
    app, sidecar = merged["spec"]["template"]["spec"]["containers"]
    assert [e["name"] for e in app["env"]] == ["A", "B"] and app["image"] == "registry.example/app:1.0"
    assert sidecar["name"] == "sidecar" and "labels" not in merged["metadata"]


def test_strategic_merge_replaces_lists_of_custom_resources() -> None:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "api"},
        "spec": {"strategy": {"canary": {"steps": [{"setWeight": 5}, {"setWeight": 50}]}}},
    }
    merged = strategic_merge(rollout, {"spec": {"strategy": {"canary": {"steps": [{"setWeight": 10}]}}}}, "t")
    assert merged["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 10}]


def test_strategic_merge_directives_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"\$patch"):
        strategic_merge(DEPLOYMENT, {"spec": {"$patch": "replace"}}, "p.yaml")


@pytest.mark.parametrize(
    ("operations", "check"),
    [
        (
            [{"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "p2"}],
            lambda d: d["spec"]["template"]["spec"]["containers"][1]["image"] == "p2",
        ),
        (
            [{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "C"}}],
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["env"][-1] == {"name": "C"},
        ),
        (
            [{"op": "remove", "path": "/spec/template/spec/containers/1"}],
            lambda d: len(d["spec"]["template"]["spec"]["containers"]) == 1,
        ),
        (
            [{"op": "copy", "from": "/metadata/name", "path": "/metadata/labels"}],
            lambda d: d["metadata"]["labels"] == "web",
        ),
        (
            [{"op": "move", "from": "/metadata/name", "path": "/metadata/generateName"}],
            lambda d: d["metadata"] == {"generateName": "web"},
        ),
        ([{"op": "test", "path": "/kind", "value": "Deployment"}], lambda d: d["kind"] == "Deployment"),
    ],
    ids=["replace", "add-append", "remove", "copy", "move", "test"],
)
def test_json6902_operations(operations: list[dict[str, Any]], check: Any) -> None:
    assert check(json6902(DEPLOYMENT, operations, "t"))


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "/spec/nothing/here", "value": 1}],
        [{"op": "test", "path": "/kind", "value": "X"}],
        [{"op": "jump", "path": "/kind"}],
        [{"path": "/kind"}],
        [{"op": "add", "path": "kind", "value": 1}],
    ],
    ids=["missing-path", "failed-test", "unknown-op", "no-op", "relative-pointer"],
)
def test_json6902_errors_are_config_errors(operations: list[dict[str, Any]]) -> None:
    with pytest.raises(ConfigError):
        json6902(DEPLOYMENT, operations, "t")


def test_overlay_features_end_to_end(tmp_path: Path) -> None:
    _write(tmp_path / "base", {"kustomization.yaml": {"resources": ["app.yaml"]}, "app.yaml": DEPLOYMENT})
    overlay = _write(
        tmp_path / "overlay",
        {
            "kustomization.yaml": {
                "resources": ["../base"],
                "namespace": "team",
                "labels": [{"pairs": {"env": "test"}}],
                "images": [
                    {
                        "name": "registry.example/app",
                        "newName": "ecr.example/app",
                        "digest": "sha256:" + "a" * 64,
                    },
                    {"name": "proxy", "newTag": "2.0"},
                ],
                "patches": [
                    {"path": "patch.yaml"},
                    {
                        "target": {"kind": "Deployment", "name": "w.*"},
                        "patch": "- op: add\n  path: /spec/replicas\n  value: 3\n",
                    },
                ],
            },
            "patch.yaml": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {"minReadySeconds": 5},
            },
        },
    )
    (doc,) = render_overlay(overlay)
    containers = doc["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "ecr.example/app@sha256:" + "a" * 64
    assert containers[1]["image"] == "proxy:2.0"
    assert (doc["metadata"]["namespace"], doc["metadata"]["labels"]) == ("team", {"env": "test"})
    assert (doc["spec"]["replicas"], doc["spec"]["minReadySeconds"]) == (3, 5)


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ({"resources": ["app.yaml"], "namePrefix": "x-"}, "unsupported kustomize field.*namePrefix"),
        ({"resources": ["app.yaml"], "configMapGenerator": [{"name": "c"}]}, "configMapGenerator"),
        ({"resources": ["https://github.com/example/repo//base"]}, "remote resource"),
        (
            {"resources": ["app.yaml"], "labels": [{"pairs": {"a": "b"}, "includeSelectors": True}]},
            "includeSelectors",
        ),
        (
            {"resources": ["app.yaml"], "patches": [{"path": "p.yaml", "target": {"labelSelector": "a=b"}}]},
            "labelSelector",
        ),
        (
            {
                "resources": ["app.yaml"],
                "patches": [{"patch": "- op: remove\n  path: /spec", "target": {"kind": "Service"}}],
            },
            "matches no resource",
        ),
        (
            {"resources": ["app.yaml"], "images": [{"name": "proxy", "newTag": "1", "digest": "sha256:1"}]},
            "both newTag and digest",
        ),
        ({"resources": ["app.yaml", "app.yaml"]}, "duplicate resource"),
        ({"resources": ["missing.yaml"]}, "not found"),
    ],
    ids=[
        "namePrefix",
        "generator",
        "remote",
        "selectors",
        "label-target",
        "no-match",
        "tag-and-digest",
        "duplicate",
        "missing",
    ],
)
def test_unsupported_or_wrong_input_raises_config_error_naming_the_file(
    tmp_path: Path, kustomization: dict[str, Any], message: str
) -> None:
    folder = _write(
        tmp_path, {"kustomization.yaml": kustomization, "app.yaml": DEPLOYMENT, "p.yaml": DEPLOYMENT}
    )
    with pytest.raises(ConfigError, match=message) as caught:
        render_overlay(folder)
    assert str(tmp_path) in str(caught.value)


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    _write(tmp_path / "a", {"kustomization.yaml": {"resources": ["../b"]}})
    _write(tmp_path / "b", {"kustomization.yaml": {"resources": ["../a"]}})
    with pytest.raises(ConfigError, match="cycle"):
        render_overlay(tmp_path / "a")


def test_load_documents_rejects_non_objects(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"x\.yaml: document 1"):
        load_documents(tmp_path / "x.yaml")


@pytest.mark.parametrize(
    ("reference", "parts"),
    [
        ("nginx", ("nginx", "", "")),
        ("nginx:1.27", ("nginx", "1.27", "")),
        ("reg:5000/app", ("reg:5000/app", "", "")),
        ("reg:5000/app:v1", ("reg:5000/app", "v1", "")),
        ("app@sha256:ab", ("app", "", "sha256:ab")),
    ],
)
def test_split_image(reference: str, parts: tuple[str, str, str]) -> None:
    assert split_image(reference) == parts
