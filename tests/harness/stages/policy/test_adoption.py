"""Issue 16, adopting the policy stage on someone else's repo: each reproduction of the issue runs
against a small fixture repo under tests/fixtures/ (adopt/, conventional/, outside/)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.k8s.helm import helm_engine
from harness.results import Result, Status
from harness.stages.policy import PolicyOptions, run_policy
from harness.stages.policy.__main__ import main as policy_main
from harness.stages.policy.engine import Collected
from tests.harness.stages.policy.conftest import ADOPT, CONVENTIONAL, OUTSIDE, marker_line

Run = tuple[list[Result], Collected]


def _options(root: Path) -> PolicyOptions:
    return PolicyOptions.from_config(HarnessConfig.discover(root))


def _by(results: list[Result], result_id: str, status: Status | None = None) -> list[Result]:
    return [r for r in results if r.id == result_id and (status is None or r.status is status)]


# --- Terraform outside the root, or behind a symlink (SameFileError) ------------------------------


def test_terraform_outside_the_root_is_checked_and_shown_relative() -> None:
    results, _ = run_policy(_options(OUTSIDE / "repo"))
    assert not [r for r in results if r.status is Status.ERROR]
    (tags,) = _by(results, "EU-AWS-010")
    line = marker_line(OUTSIDE / "elsewhere/terraform/aws/main.tf", "EU-AWS-010 failed")
    assert (tags.status, tags.location) == (Status.FAILED, f"../elsewhere/terraform/aws/main.tf:{line}")
    assert any(r.id.startswith("CKV_AWS") and (r.location or "").startswith("../elsewhere/") for r in results)


def test_symlinked_terraform_folder_keeps_its_name(tmp_path: Path) -> None:
    (tmp_path / "terraform").symlink_to(OUTSIDE / "elsewhere/terraform/aws", target_is_directory=True)
    results, _ = run_policy(PolicyOptions.for_root(tmp_path))
    assert not [r for r in results if r.status is Status.ERROR]
    (tags,) = _by(results, "EU-AWS-010")
    assert tags.location == f"terraform/main.tf:{marker_line(tmp_path / 'terraform/main.tf', 'EU-AWS-010')}"


# --- the baseline recipe honours harness.toml and refuses an empty scan ---------------------------


def test_baseline_honours_paths_of_harness_toml(tmp_path: Path, adopt_run: Run) -> None:
    out = tmp_path / "baseline.json"
    assert policy_main(["baseline", "--root", str(ADOPT), "--out", str(out)]) == 0
    recorded = json.loads(out.read_text())["fingerprints"]
    failed = {r.id for r in adopt_run[0] if r.status is Status.FAILED}
    assert len(recorded) >= len(failed) > 0
    assert any(p.startswith("CKV") and p.endswith("|iac/main.tf") for p in recorded)


def test_baseline_with_config_option(tmp_path: Path) -> None:
    out = tmp_path / "baseline.json"
    args = ["baseline", "--root", str(ADOPT), "--config", str(ADOPT / "harness.toml"), "--out", str(out)]
    assert policy_main(args) == 0
    assert json.loads(out.read_text())["fingerprints"]


def test_baseline_refuses_when_nothing_was_scanned(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "iac").mkdir()
    (tmp_path / "harness.toml").write_text('[paths]\nterraform = "infra"\n')
    out = tmp_path / "baseline.json"
    assert policy_main(["baseline", "--root", str(tmp_path), "--out", str(out)]) == 2
    assert not out.exists()
    assert "nothing to scan" in capsys.readouterr().err


# --- Helm charts and [policy] exclude -------------------------------------------------------------


def test_helm_chart_without_helm_is_one_skipped_result(adopt_run: Run) -> None:
    results, _ = adopt_run
    assert not [r for r in results if r.status is Status.ERROR]  # neither chart templates nor k8s/vendor
    skipped = [r for r in _by(results, "EU-POLICY-SKIPPED") if "Helm" in r.message]
    assert len(skipped) == 1
    assert "k8s/chart" in skipped[0].message and "helm is not on PATH" in skipped[0].message


def test_helm_chart_is_rendered_when_helm_is_on_path(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The objects come from helm's output (a stand-in helm here, as no helm is installed): located
    in the template helm names in its ``# Source:`` line."""
    helm = tmp_path / "bin" / "helm"
    helm.parent.mkdir()
    helm.write_text("#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.99.0+g0; exit 0; fi\n"
                    "cat <<'EOF'\n---\n# Source: chart/templates/deployment.yaml\napiVersion: apps/v1\n"
                    "kind: Deployment\nmetadata:\n  name: web-chart-web\nspec:\n  selector:\n"
                    "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n"
                    "    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\nEOF\n")
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{helm.parent}:{Path('/usr/bin')}:{Path('/bin')}")
    helm_engine.cache_clear()
    try:
        results, collected = run_policy(_options(ADOPT))
    finally:
        helm_engine.cache_clear()
    chart = [r for r in results if "chart:Deployment" in r.message]
    line = marker_line(ADOPT / "k8s/chart/templates/deployment.yaml", "kind: Deployment")
    assert chart and {r.location for r in chart if r.id == "CKV_K8S_8"} == {
        f"k8s/chart/templates/deployment.yaml:{line}"}
    assert "helm v3.99.0" in collected.renderers
    assert not [r for r in _by(results, "EU-POLICY-SKIPPED") if "Helm" in r.message]


# --- findings at their line; none merged ----------------------------------------------------------


def test_two_secrets_in_one_document_are_two_results(adopt_run: Run) -> None:
    secrets = _by(adopt_run[0], "CKV_SECRET_2", Status.FAILED)
    lines = [marker_line(ADOPT / "k8s/app.yaml", "CKV_SECRET_2 failed", nth) for nth in (0, 1)]
    assert sorted(r.location or "" for r in secrets) == [f"k8s/app.yaml:{n}" for n in lines]


def test_field_findings_point_at_the_field(adopt_run: Run) -> None:
    (privileged,) = _by(adopt_run[0], "CKV_K8S_16", Status.FAILED)
    assert privileged.location == f"k8s/app.yaml:{marker_line(ADOPT / 'k8s/app.yaml', 'CKV_K8S_16')}"


def test_base_and_patch_findings_point_at_the_file_that_wrote_the_field(
        conventional_run: Run) -> None:
    results, _ = conventional_run
    overlay = CONVENTIONAL / "deploy/overlays/prod"
    expected = {
        "CKV_K8S_16": f"deploy/overlays/prod/privileged-patch.yaml:"
                      f"{marker_line(overlay / 'privileged-patch.yaml', 'CKV_K8S_16')}",
        "CKV_K8S_43": f"deploy/overlays/prod/kustomization.yaml:"
                      f"{marker_line(overlay / 'kustomization.yaml', 'K8S_43')}",
        "CKV_K8S_8": f"deploy/base/api.yaml:{marker_line(CONVENTIONAL / 'deploy/base/api.yaml', 'K8S_8')}",
        # checkov names no field for CKV_K8S_19: the field it read, set by the inline patch
        "CKV_K8S_19": f"deploy/overlays/prod/kustomization.yaml:"
                      f"{marker_line(overlay / 'kustomization.yaml', 'CKV_K8S_19')}",
    }
    found = {r.id: r.location for r in results if r.id in expected and r.status is Status.FAILED}
    assert found == expected


# --- tags computed by expressions -----------------------------------------------------------------


def test_computed_tags_are_evaluated_or_skipped_never_passed(adopt_run: Run) -> None:
    tags = {r.location: r.status for r in _by(adopt_run[0], "EU-AWS-010")}
    main_tf = ADOPT / "iac/main.tf"
    assert tags.pop(f"iac/main.tf:{marker_line(main_tf, 'EU-AWS-010 failed')}") is Status.FAILED
    assert tags.pop(f"iac/main.tf:{marker_line(main_tf, 'EU-AWS-010 skipped')}") is Status.SKIPPED
    assert set(tags.values()) == {Status.PASSED} and len(tags) == 2  # merge of known maps; tfvars


# --- a repo without harness.toml ------------------------------------------------------------------


def test_conventional_layout_is_found_and_what_was_skipped_is_said(
        conventional_run: Run) -> None:
    results, _ = conventional_run
    (found,) = _by(results, "EU-POLICY-INPUTS")
    assert "deploy/overlays/prod" in found.message and "1 plain manifest file" in found.message
    assert "1 Terraform folder" in found.message
    skipped = {r.location: r.message for r in _by(results, "EU-POLICY-SKIPPED")}
    assert set(skipped) == {"charts/web", "deploy/base/unused.yaml", "infra/legacy"}
    assert not [r for r in results if r.status is Status.ERROR]


def test_verify_runs_on_a_repo_without_harness_toml(tmp_path: Path) -> None:
    from harness.cli import main as harness_main

    assert not (CONVENTIONAL / "harness.toml").exists()
    code = harness_main(["verify", "--stages", "policy", "--root", str(CONVENTIONAL), "--reports",
                         str(tmp_path), "--plain", "--no-bundle"])
    assert code == 1  # the fixture's planted failures, not a usage error or a crash
    record = json.loads(next(tmp_path.glob("*/results.json")).read_text())
    ids = {r["id"] for r in record["results"]}
    assert {"EU-POLICY-INPUTS", "EU-POLICY-SKIPPED", "CKV_K8S_16"} <= ids
    assert all(r["proven_on"] for r in record["results"])
