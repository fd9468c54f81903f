"""The local target with real PostgreSQL, Redis and moto, and a stand-in app (fake_app.py)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import httpx
import psutil
import pytest

from harness.app_profile import AppProfile
from harness.errors import TargetError
from harness.services import MotoService, wait_until
from harness.targets import TargetSettings, running
from harness.targets.base import Control
from harness.targets.local import LocalTarget
from tests.fixtures.processes import spawned
from tests.harness.targets.conftest import (
    CLEAN,
    ROOT,
    SMALL_ENV,
    Footprint,
    current_children,
    listening,
    listening_addresses,
    run_leftovers,
    small_settings,
    temp_dirs_left,
)

pytestmark = pytest.mark.services


def _footprint_clean(target: LocalTarget, marker: str, ports: set[int]) -> None:
    assert run_leftovers(marker, target.run_id, ports) == CLEAN
    assert [d for d in target.temp_dirs if d.exists()] == []


def test_up_serves_the_app_on_loopback_and_down_leaves_nothing(local_settings: TargetSettings,
                                                             marker: str) -> None:
    target = LocalTarget(local_settings)
    handler_before = signal.getsignal(signal.SIGTERM)
    # Session fixtures' servers from earlier tests are not the target's.
    preexisting, preexisting_ports = current_children(), {port for port, _ in listening()}
    with running(target) as env:
        footprint = Footprint.of(target, preexisting, preexisting_ports)
        assert listening_addresses(footprint.pids | {os.getpid()}) == {"127.0.0.1"}
        assert [u.name for u in env.users] == ["alice", "bob"] and all(u.token for u in env.users)
        assert httpx.get(f"{env.api_url}/readyz", timeout=5).status_code == 200
        assert env.control is not None
        replicas = (len(env.control.replicas("api")), len(env.control.replicas("worker")))
        assert replicas == (2, 2)  # HPA minReplicas
        assert set(env.aws.buckets) == {"raw", "processed"}
        s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name=env.aws.region,
                          aws_access_key_id=env.aws.access_key_id,
                          aws_secret_access_key=env.aws.secret_access_key)
        # Terraform applied the env: its default_tags carry the run id, its secret the run's value.
        tag_set = s3.get_bucket_tagging(Bucket=env.aws.buckets["raw"])["TagSet"]
        tags = {t["Key"]: t["Value"] for t in tag_set}
        assert tags["HarnessRun"] == target.run_id
        secrets = boto3.client("secretsmanager", endpoint_url=env.aws.endpoint_url,
                               region_name=env.aws.region, aws_access_key_id="x", aws_secret_access_key="y")
        value = secrets.get_secret_value(SecretId=env.extra["secrets"]["TOKEN_SIGNING_KEY"])["SecretString"]
        assert target._launcher is not None and value == target._launcher.base_env["TOKEN_SIGNING_KEY"]
        state = (Path(env.extra["terraform"]["state_dir"]) / "terraform.tfstate").read_text()
        assert value not in state  # write-only: the generated secret never reaches Terraform's state
        assert env.extra["terraform"]["proven_on"].startswith("terraform 1.")
        assert json.loads(json.dumps(env.to_dict()))["users"][0]["name"] == "alice"
        assert len(footprint.pids) >= 7 and footprint.dirs
        assert any(d.name.startswith("harness-pg-") for d in target.temp_dirs) == (os.geteuid() == 0)
        assert env.extra["router"] == "Router"  # the control plane's per-request HTTP router
        stray = subprocess.Popen(  # an app process no handle knows of (a Popen cut short by a signal)
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True,
            env={**os.environ, "HARNESS_RUN_ID": target.run_id},
        )
    assert footprint.leftovers() == CLEAN
    assert stray.poll() is not None
    _footprint_clean(target, marker, footprint.ports)
    logs = {p.name for p in (local_settings.run_dir or ROOT).joinpath("logs").iterdir()}
    assert {"postgres.log", "redis.log", "s3.log", "migrate.log", "api-0.log", "worker-1.log",
            "terraform.log", "leaks.json"} <= logs
    assert target.leaks == []  # destroyed: the tagging API finds nothing with the run's tag
    target.down()  # twice is fine
    assert signal.getsignal(signal.SIGTERM) == handler_before


def test_failed_migration_leaves_nothing(local_settings: TargetSettings, marker: str) -> None:
    settings = dataclasses.replace(local_settings, env={"FAKE_MIGRATE_FAIL": "1"})
    target = LocalTarget(settings)
    with pytest.raises(TargetError) as info:
        target.up()
    assert "migrate failed with exit code 3" in str(info.value)
    assert "syntax error at or near 'TABEL'" in str(info.value)  # the log tail is in the message
    _footprint_clean(target, marker, set())


def test_readiness_timeout_names_the_replicas(local_settings: TargetSettings, marker: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the replicas' probes get 3 s; the services keep the fixture's 30 s (moto alone takes
    more than 3 s to start on a loaded machine, and its timeout would fire instead)."""
    settings = dataclasses.replace(local_settings, env={"FAKE_API_NEVER_READY": "1"})
    build_control = LocalTarget._control
    monkeypatch.setattr(LocalTarget, "_control",
                        lambda self, manifests, _timeout: build_control(self, manifests, 3.0))
    target = LocalTarget(settings)
    with pytest.raises(TargetError, match=r"not ready after 3s: api-0, api-1 \(probe http://127\.0\.0\.1:"):
        target.up()
    _footprint_clean(target, marker, set())


def test_a_replica_that_lost_its_port_is_started_on_another(local_settings: TargetSettings, tmp_path: Path,
                                                            marker: str) -> None:
    settings = dataclasses.replace(local_settings, env={"FAKE_PORT_TAKEN_ONCE": str(tmp_path / "taken")})
    target = LocalTarget(settings)
    with running(target) as env:
        assert env.control is not None and len(env.control.replicas("api")) == 2
        logs = "".join(p.read_text() for p in target.logs_dir.glob("api-*.log"))
        assert "address already in use" in logs
    _footprint_clean(target, marker, set())


def test_missing_app_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    app = AppProfile(source="scenarios/app.yaml", process_module="shop_app", process_source="shop")
    target = LocalTarget(TargetSettings.for_root(tmp_path, run_dir=tmp_path / "run", app=app))
    with pytest.raises(TargetError, match=r"app module shop_app not installed: pip install -e shop "
                                          r"\(scenarios/app.yaml: processes\)"):
        target.up()
    _footprint_clean(target, marker, set())


def test_control_faults_scaling_and_canary(local_settings: TargetSettings, marker: str) -> None:
    target = LocalTarget(local_settings)
    with running(target) as env:
        control = env.require_control("drill")
        assert isinstance(control, Control) and control.time_scale == 20.0
        assert control.platform.startswith("local model of Kubernetes (HPA v2, Argo Rollouts)")
        first = control.replicas("api")[0]
        assert first.pid and first.listening == (str(first.metrics_url).removeprefix("http://").removesuffix("/metrics"),)
        assert first.ready and first.memory_bytes and first.requests == {"cpu": 0.25, "memory": 2.0**28}
        control.kill("api", 0)
        assert first.pid not in {r.pid for r in control.replicas("api")}
        assert httpx.get(env.api_url, timeout=5).status_code == 200  # the front door skips the dead one
        _until(lambda: len(control.replicas("api")) == 2)  # the model's HPA restores minReplicas
        autoscaler = control.autoscaler("api")
        assert autoscaler is not None and (autoscaler.min_replicas, autoscaler.max_replicas) == (2, 10)
        assert [(e.from_replicas, e.to_replicas) for e in autoscaler.events][-1] == (1, 2)
        control.scale("api", 3)
        assert len(env.metrics_urls["api"]) == 3  # the Environment follows scaling
        # the model's HPA may already be taking the manual third replica back (a real HPA does the
        # same): crash one that is running now, and follow that one's address
        crashed = next(r for r in control.replicas("api") if r.pid is not None and r.listening)
        assert crashed.pid is not None
        gone = crashed.listening[0]
        os.kill(crashed.pid, signal.SIGKILL)  # a crash the control handle did not cause
        assert target._frontdoor is not None
        door = target._frontdoor
        _until(lambda: all(f"{h}:{p}" != gone for h, p in door.backends()["stable"]))
        control.scale("api", 3)
        control.kill("worker", 1)
        control.start("worker")
        assert (len(control.replicas("api")), len(control.replicas("worker"))) == (3, 2)
        control.deploy("v2", canary=True, settings={"FAULT_ERROR_RATE": "0.5"})
        status = control.rollout()
        assert (status.canary_version, status.weight, status.step_index, status.steps) == ("v2", 5, 1, 7)
        assert [r.track for r in control.replicas("api")].count("canary") == 1
        control.promote(full=True)
        assert control.rollout().stable_version == "v2" and control.rollout().phase == "Healthy"
        assert "version v2" in httpx.get(env.api_url, timeout=5).text
        with pytest.raises(TargetError, match="no canary rollout"):
            control.promote()
        control.restart("redis")
        control.kill("s3", 0)
        control.start("s3")  # the emulator came back empty: provisioned again
        s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name=env.aws.region,
                          aws_access_key_id="x", aws_secret_access_key="y")
        assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == set(env.aws.buckets.values())
    assert (target.run_dir / "controlplane.json").is_file()  # the model's decisions, as evidence
    _footprint_clean(target, marker, set())


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _hold(fake_app: Path, tmp_path: Path, run_id: str,
          private_tmp: Path) -> AbstractContextManager[subprocess.Popen[str]]:
    """A child process holding a LocalTarget (see hold_local.py), killed with its group on failure."""
    argv = [sys.executable, "-m", "tests.harness.targets.hold_local",
            str(fake_app), str(tmp_path / "run"), run_id]
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    return spawned(argv, cwd=ROOT, stdout=subprocess.PIPE, env=env)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_a_process_holding_a_local_target(
    signum: signal.Signals, fake_app: Path, tmp_path: Path, marker: str, private_tmp: Path
) -> None:
    run_id = f"sig-{marker[:8]}"
    with _hold(fake_app, tmp_path, run_id, private_tmp) as holder:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line.startswith("ready"), line
        ports = set(json.loads(line.split(" ", 1)[1]))
        assert run_leftovers(marker, run_id, ports)["processes"]
        holder.send_signal(signum)
        assert holder.wait(timeout=240) != 0  # down() includes terraform destroy
    assert run_leftovers(marker, run_id, ports) == CLEAN
    assert temp_dirs_left(private_tmp) == []


@pytest.mark.parametrize("delay", [0.8, 1.6])
def test_sigterm_while_coming_up(
    delay: float, fake_app: Path, tmp_path: Path, marker: str, private_tmp: Path
) -> None:
    run_id = f"mid-{marker[:8]}"
    with _hold(fake_app, tmp_path, run_id, private_tmp) as holder:
        time.sleep(delay)
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=240)
    assert run_leftovers(marker, run_id) == CLEAN
    assert temp_dirs_left(private_tmp) == []


@pytest.mark.skipif(importlib.util.find_spec("easy_upload") is None, reason="reference app not installed")
def test_the_real_reference_app(tmp_path: Path, marker: str) -> None:
    settings = TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", ready_timeout_s=60)
    target = LocalTarget(settings)
    with running(target) as env:
        assert httpx.get(f"{env.api_url}/readyz", timeout=5).status_code == 200
        token = env.users[0].token
        assert httpx.get(f"{env.api_url}/api/uploads", headers={"Authorization": f"Bearer {token}"},
                         timeout=5).status_code == 200
        assert psutil.Process().children(recursive=True)
        s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name=env.aws.region,
                          aws_access_key_id="x", aws_secret_access_key="y")
        # The lifecycle configuration is created in the background (up() returns on the outputs):
        # Terraform puts it at the start of its ~55 s consistency wait.
        wait_until(lambda: _lifecycle_rules(s3, env.aws.buckets["raw"]) is not None, timeout=120,
                   what="lifecycle configuration of the raw bucket", interval=0.5)
        rules = _lifecycle_rules(s3, env.aws.buckets["raw"]) or []
        assert rules[0]["Expiration"]["Days"] == 7  # terraform/envs/local, applied by Terraform
    _footprint_clean(target, marker, set())
    assert target.leaks == []


def _lifecycle_rules(s3: Any, bucket: str) -> list[dict[str, Any]] | None:
    try:
        return list(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return None
        raise


def test_two_environments_side_by_side_share_nothing(tmp_path: Path, marker: str) -> None:
    """What each pytest-xdist worker relies on: free ports, own temp dirs and names, own emulator."""
    settings = [small_settings(tmp_path / name) for name in ("a", "b")]
    first, second = (LocalTarget(s, with_app=False) for s in settings)
    with running(first) as env_a, running(second) as env_b:
        urls_a = {env_a.database_url, env_a.redis_url, env_a.aws.endpoint_url}
        urls_b = {env_b.database_url, env_b.redis_url, env_b.aws.endpoint_url}
        assert not urls_a & urls_b
        assert first.run_id != second.run_id and first._tmp != second._tmp
        assert env_a.aws.buckets == env_b.aws.buckets  # same names, different emulators: no collision
        assert env_a.control is not None
        env_a.control.stop("postgres")  # a fault in one leaves the other alone
        assert psycopg_ok(env_b.database_url or "") and not psycopg_ok(env_a.database_url or "")
        env_a.control.start("postgres")
        assert psycopg_ok(env_a.database_url or "")
    for target in (first, second):
        _footprint_clean(target, marker, set())


def psycopg_ok(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def test_tcp_front_door_fallback(local_settings: TargetSettings, marker: str) -> None:
    target = LocalTarget(local_settings, router="tcp")
    with running(target) as env:
        assert env.extra["router"] == "FrontDoor"
        pids = {httpx.get(env.api_url, timeout=5).text.split()[-1] for _ in range(4)}
        assert len(pids) == 2  # new connections alternate between the two replicas
    _footprint_clean(target, marker, set())


def test_external_emulator_gets_unique_names_and_is_cleaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_service: MotoService, marker: str
) -> None:
    """LOCALSTACK_ENDPOINT set: no emulator is started; this run's buckets/secrets are its own."""
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", moto_service.endpoint_url)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    target = LocalTarget(small_settings(tmp_path / "run"), with_app=False)
    with running(target) as env:
        assert env.aws.endpoint_url == moto_service.endpoint_url
        suffix = target.run_id.rsplit("-", 1)[-1]
        assert env.aws.buckets == {"raw": f"raw-uploads-{suffix}", "processed": f"processed-uploads-{suffix}"}
        s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        assert set(env.aws.buckets.values()) <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert env.control is not None
        with pytest.raises(TargetError, match="not controlled by this run"):
            env.control.stop("s3")
    assert not set(env.aws.buckets.values()) & {b["Name"] for b in s3.list_buckets()["Buckets"]}
    _footprint_clean(target, marker, set())


def test_leak_check_reports_what_destroy_left_behind(tmp_path: Path, marker: str) -> None:
    """A bucket carrying the run's tag that Terraform does not know of survives destroy: down() says so."""
    target = LocalTarget(small_settings(tmp_path / "run"), with_app=False)
    leak = r"leak check: 1 resource\(s\) still tagged HarnessRun=.*stray-bucket"
    with pytest.raises(TargetError, match=leak), running(target) as env:
        s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name=env.aws.region,
                          aws_access_key_id="x", aws_secret_access_key="y")
        s3.create_bucket(Bucket="stray-bucket")
        s3.put_bucket_tagging(Bucket="stray-bucket",
                              Tagging={"TagSet": [{"Key": "HarnessRun", "Value": target.run_id}]})
    assert target.leaks == ["arn:aws:s3:::stray-bucket"]
    _footprint_clean(target, marker, set())


def test_a_broken_terraform_env_is_a_clear_error(tmp_path: Path, marker: str) -> None:
    env_dir = tmp_path / "terraform" / "envs" / "broken"
    shutil.copytree(SMALL_ENV, env_dir)
    main = env_dir / "main.tf"
    main.write_text(main.read_text().replace('"raw-uploads${var.name_suffix}"', "var.no_such_variable"))
    target = LocalTarget(TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", terraform_dir=env_dir),
                         with_app=False)
    undeclared = r"terraform apply of .*broken.*Reference to undeclared input variable"
    with pytest.raises(TargetError, match=undeclared):
        target.up()
    _footprint_clean(target, marker, set())


def test_a_background_apply_that_fails_after_up_fails_the_teardown(tmp_path: Path, marker: str) -> None:
    """up() returns once Terraform has written the outputs; a resource that fails later (as a
    lifecycle configuration could, 55 s in) makes down() raise, which the engine turns into a
    teardown error in the verdict. Observed: terraform's own exit status and the emulator's
    bucket list after destroy."""
    env_dir = tmp_path / "terraform" / "envs" / "late"
    shutil.copytree(SMALL_ENV, env_dir)
    needs = "aws_s3_bucket.raw, aws_s3_bucket.processed, aws_secretsmanager_secret_version.token_signing_key"
    (env_dir / "late.tf").write_text(
        f'resource "terraform_data" "after_outputs" {{\n  depends_on = [{needs}]\n'
        '  provisioner "local-exec" {\n    command = "sleep 1"\n  }\n}\n\n'
        f'resource "terraform_data" "slow" {{\n  depends_on = [{needs}]\n'
        '  provisioner "local-exec" {\n    command = "sleep 5; exit 3"\n  }\n}\n')
    target = LocalTarget(TargetSettings.for_root(ROOT, run_dir=tmp_path / "run", terraform_dir=env_dir),
                         with_app=False)
    env = target.up()
    buckets = set(env.aws.buckets.values())
    s3 = boto3.client("s3", endpoint_url=env.aws.endpoint_url, region_name=env.aws.region,
                      aws_access_key_id="x", aws_secret_access_key="y")
    assert buckets <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert env.control is not None
    env.control.stop("s3")  # a drill on the emulator waits until Terraform is done with it
    assert "terraform_apply_before_drill" in target.timings and "terraform_complete" not in target.timings
    env.control.start("s3")
    failed = r"terraform apply did not complete: .*local-exec provisioner error"
    with pytest.raises(TargetError, match=failed):
        target.down()
    assert target.leaks == []
    _footprint_clean(target, marker, set())
