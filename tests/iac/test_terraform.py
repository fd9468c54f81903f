"""Every Terraform folder parses with python-hcl2 and follows the repository's conventions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.iac import attr, blocks, iter_tf_dirs, load_terraform, location, providers, resources
from harness.iac.terraform import _wrap_upstream
from tests.iac.conftest import TERRAFORM

TF_DIRS = list(iter_tf_dirs(TERRAFORM))
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
DEPLOYED_ENVS = ["production", "staging", "preview"]
REQUIRED_TAGS = {"Environment", "Owner", "CostCenter", "Application"}


def _rel(path: Path) -> str:
    return str(path.relative_to(TERRAFORM))


def test_the_tree_has_the_expected_folders() -> None:
    names = {_rel(p) for p in TF_DIRS}
    expected_modules = {
        "network",
        "eks",
        "rds",
        "elasticache",
        "uploads-storage",
        "frontend",
        "ecr",
        "dns",
        "secrets",
        "workload-iam",
        "kms",
        "log-archive",
    }
    assert {f"modules/{m}" for m in expected_modules} <= names
    assert {f"envs/{e}" for e in [*DEPLOYED_ENVS, "local"]} <= names


@pytest.mark.parametrize("directory", TF_DIRS, ids=_rel)
def test_every_folder_parses(directory: Path) -> None:
    tf = load_terraform(directory)
    assert tf, f"{directory} parsed to nothing"


@pytest.mark.parametrize("module", MODULES, ids=_rel)
def test_modules_have_the_standard_files(module: Path) -> None:
    assert {"variables.tf", "outputs.tf", "versions.tf", "main.tf"} <= {p.name for p in module.glob("*.tf")}


@pytest.mark.parametrize("directory", TF_DIRS, ids=_rel)
def test_provider_versions_are_exact_pins(directory: Path) -> None:
    for block in load_terraform(directory).get("terraform", []):
        for required in blocks(block, "required_providers"):
            for name in required:
                if name.startswith("__"):
                    continue
                version = attr(required, name)["version"]
                assert re.fullmatch(r"= \d+\.\d+\.\d+", version), f"{directory}: {name} {version}"


@pytest.mark.parametrize("env", DEPLOYED_ENVS)
def test_deployed_envs_use_an_encrypted_locked_s3_backend(env: str) -> None:
    terraform_blocks = load_terraform(TERRAFORM / "envs" / env)["terraform"]
    backends = [b for block in terraform_blocks for b in blocks(block, "backend")]
    assert len(backends) == 1 and "s3" in backends[0]
    s3 = backends[0]["s3"]
    assert (attr(s3, "encrypt"), attr(s3, "use_lockfile")) == (True, True)


@pytest.mark.parametrize("env", DEPLOYED_ENVS)
def test_deployed_envs_tag_everything_through_default_tags(env: str) -> None:
    tf = load_terraform(TERRAFORM / "envs" / env)
    for provider in providers(tf, "aws"):
        tags = attr(blocks(provider, "default_tags")[0], "tags")
        if isinstance(tags, str):  # a reference to local.default_tags
            tags = next(attr(block, "default_tags") for block in tf["locals"] if "default_tags" in block)
        assert set(tags) >= REQUIRED_TAGS, f"{env}: {sorted(tags)}"


@pytest.mark.parametrize("env", [*DEPLOYED_ENVS, "local"])
def test_envs_ship_a_tfvars_example_and_no_tfvars(env: str) -> None:
    folder = TERRAFORM / "envs" / env
    assert (folder / "terraform.tfvars.example").is_file()
    assert not list(folder.glob("*.tfvars")), "real tfvars must not be committed"


def test_no_secret_literals_in_terraform() -> None:
    pattern = re.compile(r"(password|secret_key|access_key|token)\s*=\s*\"(?!test\")[^\"$]+\"", re.IGNORECASE)
    offenders = [
        f"{p}: {m.group(0)}" for p in TERRAFORM.rglob("*.tf") for m in pattern.finditer(p.read_text())
    ]
    assert offenders == []


def test_rds_and_cache_are_highly_available_and_encrypted() -> None:
    rds = resources(load_terraform(TERRAFORM / "modules" / "rds"), "aws_db_instance")["this"]
    assert attr(rds, "multi_az") is True and attr(rds, "storage_encrypted") is True
    assert attr(rds, "publicly_accessible") is False and attr(rds, "manage_master_user_password") is True
    assert attr(rds, "deletion_protection") is True
    cache = resources(
        load_terraform(TERRAFORM / "modules" / "elasticache"), "aws_elasticache_replication_group"
    )
    group = cache["this"]
    assert attr(group, "automatic_failover_enabled") is True and attr(group, "multi_az_enabled") is True
    assert (
        attr(group, "transit_encryption_enabled") is True
        and attr(group, "at_rest_encryption_enabled") is True
    )


def test_location_names_file_and_line() -> None:
    tf = load_terraform(TERRAFORM / "envs" / "local")
    assert location(resources(tf, "aws_s3_bucket")["raw_uploads"]).startswith("main.tf:")


def test_a_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = \n')
    with pytest.raises(ConfigError, match=r"broken\.tf"):
        load_terraform(tmp_path)


def test_an_empty_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \.tf files"):
        load_terraform(tmp_path)


def test_upstream_shape_is_brought_to_the_wrapped_shape() -> None:
    upstream = {
        "resource": [
            {
                "aws_s3_bucket": {
                    "raw": {
                        "bucket": "raw-uploads",
                        "tags": {"A": "b"},
                        "default_tags": [{"tags": {"A": "b"}}],
                        "rule": [{"days": 7}],
                        "__start_line__": 1,
                        "__end_line__": 3,
                    }
                }
            }
        ]
    }
    body = _wrap_upstream(upstream)["resource"][0]["aws_s3_bucket"]["raw"]
    assert body["bucket"] == ["raw-uploads"]
    assert body["tags"] == [{"A": "b"}]
    assert body["default_tags"] == [{"tags": [{"A": "b"}]}]
    assert body["rule"] == [{"days": [7]}]
    assert body["__start_line__"] == 1
