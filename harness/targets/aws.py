"""The ``aws`` target (``--target aws:ENV``): ``terraform/envs/ENV`` applied in a run-unique workspace,
then the app deployed on the cluster it created; always destroyed, with a leak check.

Built here: the Terraform half, :class:`AwsLifecycle` - refuses ``production``, needs an explicit
confirmation (``--yes-real-cloud`` or ``HARNESS_AWS_CONFIRM=ENV``), applies the env in workspace
``harness-<run id>`` with the run tag (``HarnessRun``, through the env's ``run_tags`` variable and
its provider ``default_tags``), reads the outputs, always destroys, and lists what the Resource
Groups Tagging API still finds with the run tag. ``endpoint`` points every provider at an AWS
emulator instead (the test that runs this lifecycle for real against moto; never a user option).

The cluster half (:mod:`harness.targets.cluster.eks`): EKS kubeconfig from the outputs, images
pushed to the env's ECR, the overlay deployed through the cluster driver the kind target uses.
:meth:`AwsTarget.preflight` checks every tool it needs *before* anything is applied, so a real
account is never touched for a run that could not finish; :meth:`AwsTarget.down` always destroys
and writes the leak check's list to ``leak-check.json`` in the run's target evidence.

Where it is verified: the Terraform half here, for real, against the emulator (tests); the shared
cluster half (driver, platform, overlay deploy) in the nightly workflow on kind; the EKS-specific
steps only against a real account, which no CI of this project has (unit-tested with a recorded
command runner).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, TargetError
from harness.targets.awsapi import AwsAccess, tagged_resources
from harness.targets.base import Environment
from harness.targets.cluster.commands import down_after_failed_up
from harness.targets.cluster.eks import EksCluster, missing_tools
from harness.targets.settings import TargetSettings
from harness.targets.spec import TargetSpec
from harness.targets.terraform_env import TerraformEnv, TerraformError

CONFIRM_VAR = "HARNESS_AWS_CONFIRM"
REFUSED = frozenset({"production", "prod"})
DEFAULT_REGION = "eu-west-1"


@dataclass(slots=True)
class LifecycleReport:
    """What one apply/destroy cycle did: outputs, timings, and what the leak check found."""

    outputs: dict[str, Any] = field(default_factory=dict)
    leaked: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    proven_on: str | None = None


class AwsLifecycle:
    """init / workspace / apply / outputs / destroy / leak check of one env, for one run."""

    def __init__(self, settings: TargetSettings, env: str, *, run_id: str, access: AwsAccess,
                 endpoint: str | None = None, regions: tuple[str, ...] = ()) -> None:
        self.env = env
        self.run_id = run_id
        self.access = access
        self.regions = regions or (access.region,)
        source = env_dir(settings, env)
        run_dir = settings.run_dir or settings.root / ".harness" / "runs" / run_id
        self.terraform = TerraformEnv(source, run_dir, settings.terraform, run_id=run_id,
                                      provider_env=access.provider_env(), workspace=f"harness-{run_id}",
                                      emulator=endpoint)
        self.report = LifecycleReport()

    def apply(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self.report.outputs = self.terraform.apply()
        except TerraformError as exc:
            raise TargetError(f"aws:{self.env}: terraform apply failed: {exc}") from exc
        finally:
            self.report.timings_s["apply"] = round(time.monotonic() - started, 3)
            self.report.proven_on = self.terraform.proven_on
        return self.report.outputs

    def destroy(self) -> LifecycleReport:
        """Destroy (always: whatever apply got to), then the leak check; a leak is a TargetError."""
        started = time.monotonic()
        try:
            self.terraform.destroy()
        except TerraformError as exc:
            raise TargetError(f"aws:{self.env}: terraform destroy failed: {exc}") from exc
        finally:
            self.report.timings_s["destroy"] = round(time.monotonic() - started, 3)
            self.report.leaked = tagged_resources(self.access, self.run_id, regions=self.regions)
        if self.report.leaked:
            raise TargetError(f"aws:{self.env}: leak check: {len(self.report.leaked)} resource(s) still "
                              f"tagged HarnessRun={self.run_id}: {', '.join(self.report.leaked)}")
        return self.report


def env_dir(settings: TargetSettings, env: str) -> Path:
    """``terraform/envs/ENV`` next to the local env the settings name; refuses production."""
    if not env:
        raise ConfigError("--target aws:ENV: name the environment, e.g. aws:staging")
    if env.lower() in REFUSED:
        raise ConfigError(f"--target aws:{env}: the harness never applies production")
    source = settings.terraform_dir.parent / env
    if not (source.is_dir() and any(source.glob("*.tf"))):
        raise ConfigError(f"--target aws:{env}: no Terraform env at {source}")
    return source


def confirmed(spec: TargetSpec, environ: dict[str, str] | None = None) -> bool:
    """``--yes-real-cloud`` (spec option ``yes-real-cloud=1``) or ``HARNESS_AWS_CONFIRM=ENV``."""
    env = dict(os.environ if environ is None else environ)
    return spec.flag("yes-real-cloud") or env.get(CONFIRM_VAR, "") == spec.location


class AwsTarget:
    """``aws:ENV``: the Terraform lifecycle above, then the cluster half on the EKS it created."""

    NAME = "aws"

    def __init__(self, spec: TargetSpec, settings: TargetSettings) -> None:
        self.env = spec.location
        env_dir(settings, self.env)  # refuses production and unknown envs before anything else
        if not confirmed(spec):
            raise ConfigError(f"--target aws:{self.env} creates real, billed AWS resources: confirm with "
                              f"--yes-real-cloud or {CONFIRM_VAR}={self.env}")
        self.settings = settings
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.lifecycle = AwsLifecycle(settings, self.env, run_id=self.run_id,
                                      access=AwsAccess(None, region), regions=(region, "us-east-1"))
        run_dir = settings.run_dir or settings.root / ".harness" / "runs" / self.run_id
        self.cluster = EksCluster(self.env, run_dir, settings, region=region, run_id=self.run_id)

    def preflight(self) -> None:
        """Every tool the run needs, before a real account is touched (Terraform's own check runs in
        the engine's policy preflight)."""
        problems = missing_tools()
        if problems:
            raise TargetError(f"target aws:{self.env} cannot run here: {'; '.join(problems)}")

    def up(self) -> Environment:
        try:
            return self.cluster.deploy(self.lifecycle.apply())
        except BaseException as failure:
            down_after_failed_up(self.down, failure)
            raise

    def down(self) -> None:
        """Port-forwards closed, everything destroyed (whatever apply got to), the leak check written."""
        self.cluster.close()
        if not self.lifecycle.terraform.applied:
            return
        try:
            self.lifecycle.destroy()
        finally:
            self._write_leak_check()

    def _write_leak_check(self) -> None:
        report = self.lifecycle.report
        path = self.cluster.run_dir / "leak-check.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"run_tag": {"HarnessRun": self.run_id}, "leaked": report.leaked,
                                    "timings_s": report.timings_s, "proven_on": report.proven_on}, indent=1))


def from_spec(spec: TargetSpec, settings: TargetSettings) -> AwsTarget:
    return AwsTarget(spec, settings)


__all__ = ["CONFIRM_VAR", "AwsLifecycle", "AwsTarget", "LifecycleReport", "confirmed", "env_dir",
           "from_spec"]
