"""terraform/envs/local (what the local target provisions) must agree with production's modules."""

from __future__ import annotations

from typing import Any

from harness.iac import attr, blocks, load_terraform, modules, resources, variable_default
from harness.k8s import render_overlay
from tests.iac.conftest import MANIFESTS, TERRAFORM


def _raw_rule(tf: dict[str, list[dict[str, Any]]], name: str) -> dict[str, Any]:
    lifecycle = resources(tf, "aws_s3_bucket_lifecycle_configuration")[name]
    return blocks(lifecycle, "rule")[0]


def test_local_raw_expiration_equals_the_module_default() -> None:
    local = _raw_rule(load_terraform(TERRAFORM / "envs" / "local"), "raw_uploads")
    module = load_terraform(TERRAFORM / "modules" / "uploads-storage")
    assert attr(blocks(local, "expiration")[0], "days") == variable_default(module, "raw_expiration_days")


def test_local_multipart_abort_equals_the_module_default() -> None:
    local = _raw_rule(load_terraform(TERRAFORM / "envs" / "local"), "raw_uploads")
    module = load_terraform(TERRAFORM / "modules" / "uploads-storage")
    abort = blocks(local, "abort_incomplete_multipart_upload")[0]
    expected = variable_default(module, "abort_incomplete_multipart_days")
    assert attr(abort, "days_after_initiation") == expected


def test_module_lifecycle_uses_its_variables() -> None:
    module = load_terraform(TERRAFORM / "modules" / "uploads-storage")
    rule = _raw_rule(module, "raw")
    assert attr(blocks(rule, "expiration")[0], "days") == "${var.raw_expiration_days}"
    abort = blocks(rule, "abort_incomplete_multipart_upload")[0]
    assert attr(abort, "days_after_initiation") == "${var.abort_incomplete_multipart_days}"


def test_deployed_environments_keep_the_lifecycle_defaults() -> None:
    for env in ("production", "staging", "preview"):
        uploads = modules(load_terraform(TERRAFORM / "envs" / env))["uploads"]
        assert attr(uploads, "source") == "../../modules/uploads-storage"
        assert "raw_expiration_days" not in uploads, f"{env} overrides the lifecycle the local target tests"
        assert "abort_incomplete_multipart_days" not in uploads


def test_local_buckets_and_secret_are_literal() -> None:
    """The overlay's names, plus a suffix that is empty unless runs share one emulator."""
    tf = load_terraform(TERRAFORM / "envs" / "local")
    names = {attr(body, "bucket") for body in resources(tf, "aws_s3_bucket").values()}
    assert names == {"raw-uploads${var.name_suffix}", "processed-uploads${var.name_suffix}"}
    secret = resources(tf, "aws_secretsmanager_secret")["token_signing_key"]
    assert attr(secret, "name") == "easy-upload/local/token-signing-key${var.name_suffix}"
    assert variable_default(tf, "name_suffix") == ""


def test_local_overlay_points_at_the_local_buckets_and_secret() -> None:
    docs = render_overlay(MANIFESTS / "overlays" / "local")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "app-config")
    assert (config["data"]["RAW_BUCKET"], config["data"]["PROCESSED_BUCKET"]) == (
        "raw-uploads",
        "processed-uploads",
    )
    secret = next(d for d in docs if d["kind"] == "ExternalSecret" and d["metadata"]["name"] == "app-secrets")
    assert secret["spec"]["data"][0]["remoteRef"]["key"] == "easy-upload/local/token-signing-key"
