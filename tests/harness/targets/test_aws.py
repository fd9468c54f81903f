"""The aws target: its guards, and its Terraform lifecycle applied and destroyed for real against moto
(the provider mirror, a run-unique workspace, the run tag, outputs, destroy, 0 leaked resources)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest

from harness.app_profile import AppProfile
from harness.errors import ConfigError, TargetError
from harness.services import MotoService
from harness.targets import TargetSettings, parse_spec
from harness.targets.aws import AwsLifecycle, AwsTarget, confirmed
from harness.targets.awsapi import AwsAccess, tagged_resources
from harness.targets.cluster.eks import EksCluster
from tests.harness.targets.conftest import SMALL_ENV

ROOT = Path(__file__).resolve().parents[3]


def _settings(tmp_path: Path) -> TargetSettings:
    """Envs next to the small one: tests/fixtures/terraform/envs/{small,demo}."""
    return TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", terraform_dir=SMALL_ENV)


def test_production_is_refused_whatever_the_confirmation(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_AWS_CONFIRM", "production")
    with pytest.raises(ConfigError, match="never applies production"):
        AwsTarget(parse_spec("aws:production?yes-real-cloud=1"), TargetSettings.for_root(ROOT))


def test_a_real_cloud_run_needs_an_explicit_confirmation(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_AWS_CONFIRM", raising=False)
    with pytest.raises(ConfigError, match=r"confirm with --yes-real-cloud or HARNESS_AWS_CONFIRM=demo"):
        AwsTarget(parse_spec("aws:demo"), _settings(tmp_path))
    assert confirmed(parse_spec("aws:demo?yes-real-cloud=1"), {})
    assert confirmed(parse_spec("aws:demo"), {"HARNESS_AWS_CONFIRM": "demo"})
    assert not confirmed(parse_spec("aws:demo"), {"HARNESS_AWS_CONFIRM": "staging"})


def test_an_unknown_env_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no Terraform env at .*envs/nowhere"):
        AwsTarget(parse_spec("aws:nowhere?yes-real-cloud=1"), _settings(tmp_path))


def test_preflight_names_every_missing_tool_before_anything_is_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    target = AwsTarget(parse_spec("aws:demo?yes-real-cloud=1"), _settings(tmp_path))
    with pytest.raises(TargetError) as caught:
        target.preflight()
    assert str(caught.value).startswith("target aws:demo cannot run here: aws not found")
    for tool in ("kubectl", "helm", "docker"):
        assert f"{tool} not found" in str(caught.value)
    assert not target.lifecycle.terraform.applied and not (tmp_path / "run" / "terraform").exists()
    target.down()  # nothing to destroy


class _Recorder:
    """Stands in for the command runner: records argv, answers ECR's password, fails on request."""

    def __init__(self, fail_on: str = "") -> None:
        self.argv: list[list[str]] = []
        self.fail_on = fail_on

    def __call__(self, argv: list[str], **kwargs: object) -> str:
        self.argv.append(list(argv))
        if self.fail_on and self.fail_on in " ".join(argv):
            raise TargetError(f"{argv[0]} failed")
        return "ecr-password" if argv[1:3] == ["ecr", "get-login-password"] else ""


def test_the_cluster_half_gets_a_kubeconfig_and_pushes_run_tagged_images(tmp_path: Path) -> None:
    recorder = _Recorder(fail_on="kubectl apply")  # stop once the platform install begins
    cluster = EksCluster("staging", tmp_path, TargetSettings.for_root(ROOT), region="eu-west-1", run_id="r1",
                         runner=recorder)
    repos = {"easy-upload-api": "111.dkr.ecr.eu-west-1.amazonaws.com/easy-upload-api",
             "easy-upload-worker": "111.dkr.ecr.eu-west-1.amazonaws.com/easy-upload-worker"}
    with pytest.raises(TargetError, match="kubectl failed"):
        cluster.deploy({"cluster_name": "eks-1", "ecr_repositories": repos})
    commands = [" ".join(a) for a in recorder.argv]
    assert commands[0] == (f"aws eks update-kubeconfig --name eks-1 --region eu-west-1 "
                           f"--kubeconfig {tmp_path / 'kubeconfig'}")
    assert "docker login --username AWS --password-stdin 111.dkr.ecr.eu-west-1.amazonaws.com" in commands
    assert f"docker push {repos['easy-upload-api']}:r1" in commands
    assert f"docker push {repos['easy-upload-worker']}:r1" in commands
    with pytest.raises(TargetError, match="output cluster_name is missing"):
        cluster.deploy({})


def test_the_images_built_and_pushed_are_the_app_profiles(tmp_path: Path) -> None:
    app = AppProfile(images={"shop-web": "shop/docker/Dockerfile"})
    settings = TargetSettings.for_root(ROOT, app=app)
    recorder = _Recorder(fail_on="kubectl apply")
    cluster = EksCluster("staging", tmp_path, settings, region="eu-west-1", run_id="r1", runner=recorder)
    with pytest.raises(TargetError, match="output ecr_repositories lacks shop-web"):
        cluster.deploy({"cluster_name": "eks-1", "ecr_repositories": {"easy-upload-api": "111.dkr.ecr/x"}})
    with pytest.raises(TargetError, match="kubectl failed"):
        cluster.deploy({"cluster_name": "eks-1", "ecr_repositories": {"shop-web": "111.dkr.ecr/shop-web"}})
    commands = [" ".join(a) for a in recorder.argv]
    docker = ROOT / "shop" / "docker"
    assert f"docker build -t 111.dkr.ecr/shop-web:r1 -f {docker / 'Dockerfile'} {docker}" in commands
    assert "docker push 111.dkr.ecr/shop-web:r1" in commands
    assert not [c for c in commands if "easy-upload" in c]


def test_a_profile_without_images_names_the_key(tmp_path: Path) -> None:
    settings = TargetSettings.for_root(ROOT, app=AppProfile(source="scenarios/app.yaml"))
    cluster = EksCluster("staging", tmp_path, settings, region="eu-west-1", run_id="r1", runner=_Recorder())
    with pytest.raises(ConfigError, match=r"^scenarios/app.yaml: images: not set"):
        cluster.deploy({"cluster_name": "eks-1", "ecr_repositories": {"easy-upload-api": "111.dkr.ecr/x"}})


def test_a_failed_cluster_half_still_destroys_and_writes_the_leak_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = AwsTarget(parse_spec("aws:demo?yes-real-cloud=1"), _settings(tmp_path))
    destroyed: list[bool] = []

    def apply() -> dict[str, object]:
        target.lifecycle.terraform.applied = True
        return {"cluster_name": ""}  # the cluster half refuses this

    def destroy() -> object:
        destroyed.append(True)
        target.lifecycle.terraform.applied = False
        target.lifecycle.report.leaked = ["arn:aws:s3:::left-behind"]
        raise TargetError("leak check: 1 resource(s) still tagged")

    monkeypatch.setattr(target.lifecycle, "apply", apply)
    monkeypatch.setattr(target.lifecycle, "destroy", destroy)
    with pytest.raises(TargetError, match=r"cluster_name is missing.*; and cleaning up: leak check: 1"):
        target.up()
    assert destroyed == [True]
    leak = json.loads((tmp_path / "run" / "leak-check.json").read_text())
    assert leak["leaked"] == ["arn:aws:s3:::left-behind"] and leak["run_tag"] == {"HarnessRun": target.run_id}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")
@pytest.mark.services
@pytest.mark.slow
def test_lifecycle_applies_and_destroys_against_the_emulator_with_no_leaks(
    tmp_path: Path, moto_service: MotoService
) -> None:
    access = AwsAccess(moto_service.endpoint_url, "us-east-1", "test", "test")
    run_id = f"t{tmp_path.name[-8:].lower()}"
    lifecycle = AwsLifecycle(_settings(tmp_path), "demo", run_id=run_id, access=access,
                             endpoint=moto_service.endpoint_url)
    try:
        outputs = lifecycle.apply()
        assert outputs["bucket"] == f"easy-upload-demo-harness-{run_id}"  # the run-unique workspace
        found = tagged_resources(access, run_id)  # the leak check sees what the run made...
        assert f"arn:aws:s3:::{outputs['bucket']}" in found and any(":secret:" in a for a in found)
        state = lifecycle.terraform.dir / "terraform.tfstate.d" / f"harness-{run_id}" / "terraform.tfstate"
        assert state.is_file()  # local backend in the run dir instead of the env's S3 backend
    finally:
        report = lifecycle.destroy()
    assert report.leaked == []  # ...and nothing after destroy
    assert report.proven_on is not None and report.proven_on.startswith("terraform 1.")
    s3 = boto3.client("s3", endpoint_url=access.endpoint_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    assert outputs["bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    print(f"aws lifecycle against moto: apply {report.timings_s['apply']}s, destroy "
          f"{report.timings_s['destroy']}s, {len(report.leaked)} leaked")


def test_an_env_without_run_tags_cannot_be_run(tmp_path: Path) -> None:
    envs = tmp_path / "terraform" / "envs"
    (envs / "bare").mkdir(parents=True)
    (envs / "bare" / "main.tf").write_text('provider "aws" {\n  region = "us-east-1"\n}\n')
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", terraform_dir=envs / "small")
    with pytest.raises(TargetError, match="declares no variable 'run_tags'"):
        AwsLifecycle(settings, "bare", run_id="x", access=AwsAccess(None, "us-east-1"))
