"""The AWS side of the local target: which emulator serves the run, and how to reach it.

``[targets.local] aws_emulator``: ``moto`` (default, a moto server of our own) or ``localstack``
(LocalStack community in host mode, from its own venv; see :mod:`harness.services.localstack`).
``LOCALSTACK_ENDPOINT`` (or ``AWS_ENDPOINT_URL``) names an emulator that runs elsewhere instead,
reached through ``localstack-client``; it is shared with other runs, so names get a per-run
suffix. What lives in the emulator is whatever ``terraform/envs/local`` declares, applied with
real Terraform (:class:`~harness.targets.terraform_env.TerraformEnv`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import ConfigError, TargetError
from harness.services import MotoService
from harness.targets.awsapi import AwsAccess

REGION = "us-east-1"
EMULATORS = ("moto", "localstack")


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


__all__ = ["EMULATORS", "AwsAccess", "emulator_service", "external_endpoint", "localstack_access",
           "service_access"]
