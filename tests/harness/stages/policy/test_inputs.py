"""Input discovery: overlays rendered through harness.k8s keep their source file:line; checkov
records on rendered files map back to it; Terraform blocks carry their file:line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.stages.policy.checkov_run import stage_tree, to_findings
from harness.stages.policy.inputs import discover

DEPLOYMENT = """\
# the worker
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: worker, image: worker:1}]
"""


def make_repo(root: Path) -> None:
    base, overlay = root / "manifests/base", root / "manifests/overlays/prod"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: [worker.yaml]\n")
    (base / "worker.yaml").write_text(DEPLOYMENT)
    (overlay / "kustomization.yaml").write_text("resources: [../../base]\nnamespace: shop\n")
    (root / "terraform").mkdir()
    (root / "terraform/main.tf").write_text('\nresource "aws_sqs_queue" "jobs" {\n  name = "jobs"\n}\n')
    (root / "app").mkdir()
    (root / "app/Dockerfile").write_text("FROM python:3.12\n")
    (root / "tests").mkdir()
    (root / "tests/Dockerfile").write_text("FROM python:3.12\n")


def test_overlays_are_rendered_and_located_in_their_source(tmp_path: Path) -> None:
    make_repo(tmp_path)
    sources = discover(tmp_path, tmp_path / "terraform", tmp_path / "manifests", exclude=("tests",))
    assert not sources.problems
    assert list(sources.inputs.k8s) == ["manifests/overlays/prod"]  # the base is not an overlay
    worker = sources.inputs.k8s["manifests/overlays/prod"][0]
    assert (worker.namespace, worker.location) == ("shop", "manifests/base/worker.yaml:2")
    assert [b.location for b in sources.inputs.resources()] == ["terraform/main.tf:2"]
    assert [sources.rel(p) for p in sources.dockerfiles] == ["app/Dockerfile"]


def test_checkov_records_on_rendered_files_map_to_the_source(tmp_path: Path) -> None:
    make_repo(tmp_path)
    sources = discover(tmp_path, tmp_path / "terraform", tmp_path / "manifests")
    staged = stage_tree(sources, tmp_path / "staged")
    rendered = tmp_path / "staged/__rendered__/manifests/overlays/prod.yaml"
    assert "name: worker" in rendered.read_text()
    assert (tmp_path / "staged/terraform/main.tf").is_file()
    record = SimpleNamespace(check_id="CKV_K8S_8", check_name="Liveness Probe", file_line_range=[1, 12],
                             file_path="/__rendered__/manifests/overlays/prod.yaml",
                             file_abs_path=str(rendered), resource="Deployment.shop.worker")
    report = SimpleNamespace(check_type="kubernetes", parsing_errors=[], passed_checks=[],
                             failed_checks=[record])
    findings, errors = to_findings([report], staged)
    assert not errors
    # the record names no field: the check, run again, read the containers (line 11 of the source)
    assert (findings[0].location, findings[0].resource) == (
        "manifests/base/worker.yaml:11", "manifests/overlays/prod:Deployment/shop/worker")


def test_broken_overlay_is_reported_not_fatal(tmp_path: Path) -> None:
    make_repo(tmp_path)
    (tmp_path / "manifests/overlays/prod/kustomization.yaml").write_text("resources: [../../missing]\n")
    sources = discover(tmp_path, tmp_path / "terraform", tmp_path / "manifests")
    assert [where for where, _ in sources.problems] == ["manifests/overlays/prod"]
    assert sources.inputs.resources()  # Terraform is still checked


def test_field_a_checkov_check_read_when_it_names_none() -> None:
    from harness.stages.policy.checkov_fields import field_read

    def deployment(pod: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app"},
                "spec": {"template": {"spec": pod}}}

    pod: dict[str, Any] = {"containers": [{"name": "app", "image": "app:1"}]}
    doc = deployment({**pod, "hostNetwork": True})
    assert field_read("CKV_K8S_19", doc) == ("spec", "template", "spec", "hostNetwork")
    assert field_read("CKV_K8S_19", deployment(pod)) == ()  # passes on re-run: no field claimed
    assert field_read("CKV_NOT_A_CHECK", doc) == ()
