"""The policy stage's engine checks: Terraform (fmt, validate, test) and promtool (check, test), run
for real on small trees that pass, and on copies broken on purpose that must fail."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.iac.terraform_cli import TerraformSettings
from harness.results import Result, Status
from harness.stages.policy.promtool_checks import PromtoolChecks, find_rule_sets, rule_test_files
from harness.stages.policy.terraform_checks import TerraformChecks

ROOT = Path(__file__).resolve().parents[4]
pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH"),
    pytest.mark.slow,
]
PROVIDER = """terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "= 5.100.0"
    }
  }
}
"""


def _checks(tree: Path, tmp_path: Path) -> TerraformChecks:
    return TerraformChecks(tree, "terraform", TerraformSettings.from_config(None), tmp_path / "tf.log")


def _by_id(results: list[Result], result_id: str) -> list[Result]:
    return [r for r in results if r.id == result_id]


def _tree(tmp_path: Path) -> Path:
    """terraform/envs/app (valid) and terraform/modules/bucket with a test that passes."""
    tree = tmp_path / "terraform"
    module = tree / "modules" / "bucket"
    (module / "tests").mkdir(parents=True)
    (module / "main.tf").write_text(PROVIDER + '\nvariable "days" {\n  type    = number\n'
                                    '  default = 7\n}\n\n'
                                    'resource "aws_s3_bucket" "raw" {\n  bucket = "raw"\n}\n\n'
                                    'output "days" {\n  value = var.days\n}\n')
    (module / "tests" / "bucket.tftest.hcl").write_text(
        'mock_provider "aws" {}\n\nrun "expires_in_a_week" {\n  command = plan\n\n  assert {\n'
        '    condition     = output.days == 7\n'
        '    error_message = "raw uploads expire after 7 days"\n  }\n}\n')
    env = tree / "envs" / "app"
    env.mkdir(parents=True)
    (env / "main.tf").write_text(PROVIDER + '\nprovider "aws" {\n  region = "eu-west-1"\n}\n\n'
                                 'module "bucket" {\n  source = "../../modules/bucket"\n}\n')
    return tree


def test_a_valid_tree_passes_with_terraforms_versions(tmp_path: Path) -> None:
    results = _checks(_tree(tmp_path), tmp_path).run()
    assert [(r.id, r.status, r.location) for r in results] == [
        ("TF-FMT", Status.PASSED, "terraform"),
        ("TF-VALIDATE", Status.PASSED, "terraform/envs/app"),
        ("TF-TEST", Status.PASSED, "terraform/modules/bucket/tests/bucket.tftest.hcl"),
    ]
    assert results[1].proven_on is not None and results[1].proven_on.endswith("/ hashicorp/aws 5.100.0")
    assert all(r.controls == ["EU-C-IAC-01"] for r in results)


def test_broken_copies_fail_with_terraforms_file_and_line(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    env = tree / "envs" / "app" / "main.tf"
    env.write_text(env.read_text() + '\noutput "x" {\n  value = var.nope\n}\n')
    module = tree / "modules" / "bucket" / "main.tf"
    module.write_text(module.read_text().replace("default = 7", "default = 30"))
    (tree / "envs" / "app" / "ugly.tf").write_text('locals {\nx=1\n}\n')
    results = _checks(tree, tmp_path).run()
    fmt, validate, test = (_by_id(results, i)[0] for i in ("TF-FMT", "TF-VALIDATE", "TF-TEST"))
    assert (fmt.status, fmt.location) == (Status.FAILED, "terraform/envs/app/ugly.tf")
    assert validate.status is Status.FAILED and validate.location == "terraform/envs/app/main.tf:19"
    assert "Reference to undeclared input variable" in validate.message
    assert test.status is Status.FAILED and "raw uploads expire after 7 days" in test.message
    assert test.location == "terraform/modules/bucket/tests/bucket.tftest.hcl:7"


@pytest.mark.skipif(not os.environ.get("TF_PLUGIN_DIR"), reason="needs a plugin mirror (TF_PLUGIN_DIR)")
def test_a_provider_the_mirror_lacks_is_skipped_with_its_name(tmp_path: Path) -> None:
    tree = tmp_path / "terraform"
    (tree / "envs" / "x").mkdir(parents=True)
    (tree / "envs" / "x" / "main.tf").write_text(
        'terraform {\n  required_providers {\n    nothere = {\n      source = "example/nothere"\n'
        '    }\n  }\n}\n')
    [_, validate] = _checks(tree, tmp_path).run()
    assert validate.status is Status.SKIPPED and "has no example/nothere" in validate.message


def test_the_repos_terraform_is_formatted_and_its_tests_pass(tmp_path: Path) -> None:
    results = _checks(ROOT / "terraform", tmp_path).run()
    assert _by_id(results, "TF-FMT")[0].status is Status.PASSED
    tests = _by_id(results, "TF-TEST")
    assert tests and all(r.status is Status.PASSED for r in tests), [r.message for r in tests]
    assert {r.location for r in tests} >= {
        "terraform/modules/uploads-storage/tests/uploads_storage.tftest.hcl",
        "terraform/modules/rds/tests/rds.tftest.hcl", "terraform/envs/local/tests/local.tftest.hcl"}
    local = [r for r in _by_id(results, "TF-VALIDATE") if r.location == "terraform/envs/local"]
    assert local[0].status is Status.PASSED


def test_the_repo_s_terraform_tests_catch_a_longer_raw_expiry(tmp_path: Path) -> None:
    tree = tmp_path / "terraform"
    shutil.copytree(ROOT / "terraform", tree, ignore=shutil.ignore_patterns(".terraform"))
    variables = tree / "modules" / "uploads-storage" / "variables.tf"
    variables.write_text(variables.read_text().replace("default     = 7", "default     = 30", 1))
    shutil.rmtree(tree / "envs")
    for module in (tree / "modules").iterdir():
        if module.name != "uploads-storage":
            shutil.rmtree(module / "tests", ignore_errors=True)
    failed = [r for r in _checks(tree, tmp_path).run() if r.status is Status.FAILED]
    assert [r.title for r in failed] == ["terraform test: uploads_storage / raw_uploads_expire"]


needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not on PATH")


@needs_promtool
def test_the_alerts_pass_promtool_check_and_their_unit_tests() -> None:
    checks = PromtoolChecks(ROOT / "manifests", rule_test_files([ROOT / "policies"]), ROOT)
    results = checks.run()
    assert [(r.id, r.status, r.location) for r in results] == [
        ("PROM-RULES-CHECK", Status.PASSED, "manifests/base/monitoring.yaml"),
        ("PROM-RULES-TEST", Status.PASSED, "policies/prometheus-tests/easy-upload.yaml"),
    ]
    assert results[0].proven_on is not None and results[0].proven_on.startswith("promtool 2.")


def _manifests_with(tmp_path: Path, old: str, new: str) -> Path:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    text = (ROOT / "manifests" / "base" / "monitoring.yaml").read_text()
    assert old in text
    (manifests / "monitoring.yaml").write_text(text.replace(old, new))
    return manifests


@needs_promtool
def test_a_threshold_that_no_longer_pages_fails_the_unit_tests(tmp_path: Path) -> None:
    manifests = _manifests_with(tmp_path, "error_ratio_5m > 0.02", "error_ratio_5m > 0.05")
    results = PromtoolChecks(manifests, rule_test_files([ROOT / "policies"]), tmp_path).run()
    test = _by_id(results, "PROM-RULES-TEST")[0]
    assert test.status is Status.FAILED and "EasyUploadApiHighErrorRate" in test.message


@needs_promtool
def test_a_rule_prometheus_cannot_load_fails_the_check(tmp_path: Path) -> None:
    manifests = _manifests_with(tmp_path, "max(queue_depth{", "max(queue_depth{{")
    [check] = PromtoolChecks(manifests, [], tmp_path).run()
    assert check.status is Status.FAILED and "monitoring.yaml" in str(check.location)


def test_rule_sets_come_from_prometheusrule_objects_only() -> None:
    sets = find_rule_sets(ROOT / "manifests", ROOT)
    assert [(s.name, s.source) for s in sets] == [("easy-upload", "manifests/base/monitoring.yaml")]
    assert {g["name"] for g in sets[0].groups} == {"easy-upload.api", "easy-upload.worker"}
