"""The AWS side of the local target: which emulator serves the run, and how to reach it.

``[targets.local] aws_emulator``: ``moto`` (default, a moto server of our own) or ``localstack``
(LocalStack community in host mode, from its own venv; see :mod:`harness.services.localstack`).
``LOCALSTACK_ENDPOINT`` (or ``AWS_ENDPOINT_URL``) names an emulator that runs elsewhere instead,
reached through ``localstack-client``; it is shared with other runs, so names get a per-run
suffix. What lives in the emulator is whatever ``terraform/envs/local`` declares, applied with
real Terraform (:class:`~harness.targets.terraform_env.TerraformEnv`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import ConfigError, TargetError
from harness.services import MotoService
from harness.targets.awsapi import AwsAccess, tagged_resources
from harness.targets.settings import TargetSettings
from harness.targets.terraform_env import TerraformEnv, TerraformError, TerraformTimeout, bucket_names

REGION = "us-east-1"
EMULATORS = ("moto", "localstack")
# A destroy of terraform/envs/local takes seconds; one stuck on an emulator that answers 500 (the
# AWS provider retries each call ~25 times with backoff) would take many minutes. Bounded, it
# stops and the leak check names what is left.
DESTROY_TIMEOUT_S = 180.0


def external_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The external LocalStack endpoint the environment names, if any."""
    env = os.environ if environ is None else environ
    return (env.get("LOCALSTACK_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or "").strip() or None


def localstack_access(endpoint: str, *, external: bool = True) -> AwsAccess:
    """Resolve the endpoint through localstack-client (it honours AWS_ENDPOINT_URL, USE_SSL)."""
    from localstack_client import config as localstack_config

    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if not parts.hostname:
        raise TargetError(f"LOCALSTACK_ENDPOINT/AWS_ENDPOINT_URL: cannot parse {endpoint!r}")
    host = f"{parts.hostname}:{parts.port or 4566}"
    resolved = localstack_config.get_service_endpoint("s3", localstack_host=host) or endpoint
    return AwsAccess(str(resolved), os.environ.get("AWS_REGION", REGION), "test", "test", external=external)


def emulator_service(kind: str, workdir: Path, *, localstack_python: str | None = None,
                     root: Path | None = None) -> Any:
    """A not yet started emulator of ``kind`` (``moto`` or ``localstack``)."""
    if kind == "moto":
        return MotoService(workdir / "moto")
    if kind == "localstack":
        from harness.services.localstack import LocalStackService

        return LocalStackService(workdir / "localstack", python=localstack_python, root=root)
    raise ConfigError(f"[targets.local] aws_emulator: {kind!r} is not one of {', '.join(EMULATORS)}")


def service_access(service: Any) -> AwsAccess:
    """How the app and Terraform reach an emulator of ours."""
    endpoint = service.endpoint_url
    if getattr(service, "kind", "moto") == "localstack":
        endpoint = localstack_access(endpoint, external=False).endpoint_url
    return AwsAccess(endpoint, service.region, service.access_key_id, service.secret_access_key)


def local_infra(settings: TargetSettings, run_dir: Path, run_id: str, access: AwsAccess,
                secrets: Mapping[str, str], temp_dir: Path) -> TerraformEnv:
    """``terraform/envs/local`` pointed at ``access``; a shared emulator gets per-run names.
    ``temp_dir`` (created) is Terraform's TMPDIR: a provider killed on interrupt leaves its
    plugin socket dir there, which goes with the run's temp dir."""
    variables = {"aws_endpoint": str(access.endpoint_url), "aws_region": access.region}
    if access.external:
        variables["name_suffix"] = "-" + run_id.rsplit("-", 1)[-1]
    temp_dir.mkdir(parents=True, exist_ok=True)
    return TerraformEnv(settings.terraform_dir, run_dir, settings.terraform, run_id=run_id,
                        variables=variables, secrets=secrets,
                        provider_env={**access.provider_env(), "TMPDIR": str(temp_dir)})


def outputs_env(outputs: Mapping[str, Any]) -> dict[str, str]:
    """App settings from ``terraform output``: ``X_bucket`` -> ``X_BUCKET``, ``Y_secret_id`` ->
    ``Y_SECRET_ID``."""
    return {name.upper(): str(value) for name, value in outputs.items()
            if name.endswith(("_bucket", "_secret_id"))}


def destroy_and_check(infra: TerraformEnv, access: AwsAccess, emulator: Any, *, run_id: str,
                      logs_dir: Path, ready_timeout: float) -> tuple[list[str], list[str]]:
    """``terraform destroy``, then the leak check (the tagging API must find nothing tagged with
    the run id). Returns (leaked ARNs, problems)."""
    if not infra.applied or (emulator is not None and not emulator.process.is_running()):
        return [], []  # nothing applied, or our emulator died with everything in it
    with contextlib.suppress(Exception):
        if emulator is not None:
            emulator.start(ready_timeout)  # reachable again after a `stop s3` drill
    problems = purge_versions(access, bucket_names(infra.outputs).values())
    try:
        infra.destroy(refresh=False, timeout=DESTROY_TIMEOUT_S)
    except TerraformTimeout as exc:
        problems.append(f"terraform destroy stopped: {exc}")
    except TerraformError:
        try:  # the state may be stale (a drill): let Terraform look before it deletes
            infra.destroy(refresh=True, timeout=DESTROY_TIMEOUT_S)
        except TerraformError as exc:
            problems.append(f"terraform destroy failed: {exc}")
    try:
        leaks = tagged_resources(access, run_id)
    except TargetError as exc:
        return [], [*problems, str(exc)]
    (logs_dir / "leaks.json").write_text(json.dumps(leaks, indent=1) + "\n", encoding="utf-8")
    if leaks:
        problems.append(f"leak check: {len(leaks)} resource(s) still tagged HarnessRun={run_id} after "
                        f"destroy: {', '.join(leaks)}")
    return leaks, problems


def purge_versions(access: AwsAccess, buckets: Iterable[str]) -> list[str]:
    """Delete every object version and delete marker of ``buckets`` before ``terraform destroy``;
    returns what went wrong (the destroy still runs, bounded).

    Why: moto 5.2.5 and 5.2.6 (getmoto/moto ``moto/s3/utils.py``, ``_VersionedKeyStore.pop``) call
    ``dispose()`` on every version of a key, and a ``FakeDeleteMarker`` has none. ``destroy``
    first suspends versioning (it deletes ``aws_s3_bucket_versioning``); then ``force_destroy``
    deletes each version by id, which on an unversioned bucket pops the whole key: a key that
    holds a delete marker (the app deleted an object it wrote) answers 500 and the AWS provider
    retries for more than 12 minutes. While versioning is still enabled, moto removes one
    version at a time and never reaches that path. Real S3 and LocalStack need none of this.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped, unused-ignore]

    s3, problems = access.client("s3"), []
    for bucket in buckets:
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]]
                if doomed:  # a page holds at most 1,000 entries: one DeleteObjects call
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
        except (BotoCoreError, ClientError) as exc:
            if "NoSuchBucket" not in str(exc):
                problems.append(f"emptying bucket {bucket} before destroy: {exc}")
    return problems


__all__ = ["DESTROY_TIMEOUT_S", "EMULATORS", "AwsAccess", "destroy_and_check", "emulator_service",
           "external_endpoint", "local_infra", "localstack_access", "outputs_env", "purge_versions",
           "service_access"]
