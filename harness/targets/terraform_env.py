"""The Terraform lifecycle of one environment, shared by the local and the aws target.

``TerraformEnv(terraform/envs/X, run_dir, ...)``: the Terraform tree is copied into the run dir
(the checkout is never written to: no ``.terraform/``, lock file or state lands in it), then
``init`` (with the plugin mirror when one is configured), a run-unique workspace when asked,
``apply`` with the run's tags, ``output -json``, and ``destroy``. The state stays in the run dir
(local backend) unless the env's own backend is used (the aws target against real AWS).

Run tags reach every resource through the env's ``run_tags`` variable, which the env merges into
its provider's ``default_tags``; values that must stay out of argv, logs and state (generated
secrets) are passed as ``TF_VAR_*`` to ephemeral variables. An emulator is reached through an
override file that points every ``provider "aws"`` block at it and replaces the backend with a
local one (Terraform's documented ``*_override.tf`` merging).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.iac import attr, load_terraform, providers, variables
from harness.iac.terraform_cli import TerraformError, TerraformRunner, TerraformSettings
from harness.targets.awsapi import RUN_TAG

OVERRIDE_FILE = "zz_harness_override.tf"
RUN_TAGS_VARIABLE = "run_tags"
# Services the harness's environments use; the override points each at the emulator.
EMULATED_SERVICES = ("s3", "secretsmanager", "sts", "iam", "kms", "sqs", "resourcegroupstaggingapi")


def terraform_root(env_dir: Path) -> Path:
    """The tree an env needs: ``terraform/`` for ``terraform/envs/X`` (its ``../../modules``)."""
    return env_dir.parent.parent if env_dir.parent.name == "envs" else env_dir


def ephemeral_variables(env_dir: Path) -> list[str]:
    """Variables the env marks ``ephemeral = true``: the harness generates their values per run."""
    return sorted(name for name, body in variables(load_terraform(env_dir)).items()
                  if attr(body, "ephemeral") is True)


def declares(env_dir: Path, variable: str) -> bool:
    return variable in variables(load_terraform(env_dir))


class TerraformEnv:
    """One env applied for one run: copy, init, (workspace), apply, outputs, destroy."""

    def __init__(self, source: Path, run_dir: Path, settings: TerraformSettings, *, run_id: str,
                 variables: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None,
                 provider_env: Mapping[str, str] | None = None, workspace: str | None = None,
                 emulator: str | None = None) -> None:
        self.source = source.resolve()
        self.run_id = run_id
        root = terraform_root(self.source)
        self.copy_root = run_dir / "terraform"
        self.dir = self.copy_root / self.source.relative_to(root)
        self._root = root
        self.variables = dict(variables or {})
        self.workspace = workspace
        self.emulator = emulator
        env = {**(provider_env or {}), **{f"TF_VAR_{k}": v for k, v in (secrets or {}).items()}}
        if declares(self.source, RUN_TAGS_VARIABLE):
            env[f"TF_VAR_{RUN_TAGS_VARIABLE}"] = json.dumps({RUN_TAG: run_id})
        elif workspace is not None:  # the aws target: an untagged resource would escape the leak check
            raise TargetError(f"{self.source}: declares no variable {RUN_TAGS_VARIABLE!r}; the run tags "
                              "every resource through it (merge it into the provider's default_tags)")
        self.runner = TerraformRunner(settings, self.dir, env=env, log=run_dir / "logs" / "terraform.log")
        self.outputs: dict[str, Any] = {}
        self.proven_on: str | None = None
        self.applied = False  # something may exist: destroy must run

    def apply(self) -> dict[str, Any]:
        """Copy, init, select the workspace, apply; return ``terraform output -json`` values."""
        self._stage()
        self.runner.init()
        self.proven_on = self.runner.version().proven_on()
        if self.workspace is not None:
            self.runner.workspace(self.workspace)
        self.applied = True
        self.runner.apply(self.variables)
        self.outputs = self.runner.output()
        return self.outputs

    def reapply(self) -> dict[str, Any]:
        """Apply again (e.g. the emulator lost its state: Terraform's refresh sees it and recreates)."""
        self.runner.apply(self.variables)
        self.outputs = self.runner.output()
        return self.outputs

    def destroy(self, *, refresh: bool = True) -> None:
        """``terraform destroy`` (when anything may have been created)."""
        if not self.applied:
            return
        self.runner.cancelled.clear()
        self.runner.destroy(self.variables, refresh=refresh)
        self.applied = False

    def cancel(self) -> None:
        """Interrupt a command in flight (Terraform saves its state first)."""
        self.runner.cancel()

    def _stage(self) -> None:
        if self.copy_root.exists():
            shutil.rmtree(self.copy_root)
        ignore = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "terraform.tfstate.d",
                                        "*.tfvars", OVERRIDE_FILE)
        shutil.copytree(self._root, self.copy_root, ignore=ignore)
        if self.emulator is not None:
            override = emulator_override(self.source, self.emulator)
            (self.dir / OVERRIDE_FILE).write_text(override, encoding="utf-8")


def emulator_override(env_dir: Path, endpoint: str) -> str:
    """An override file: every ``provider "aws"`` of the env talks to ``endpoint``; local state."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in EMULATED_SERVICES)
    blocks = ['terraform {\n  backend "local" {}\n}\n']
    for provider in providers(load_terraform(env_dir), "aws") or [{}]:
        alias = attr(provider, "alias")
        blocks.append(
            'provider "aws" {\n' + (f'  alias = "{alias}"\n' if alias else "")
            + '  access_key                  = "test"\n  secret_key                  = "test"\n'
            "  s3_use_path_style           = true\n  skip_credentials_validation = true\n"
            "  skip_metadata_api_check     = true\n  skip_requesting_account_id  = true\n"
            "  skip_region_validation      = true\n"
            f"  endpoints {{\n{endpoints}\n  }}\n}}\n"
        )
    return "\n".join(blocks)


__all__ = ["OVERRIDE_FILE", "RUN_TAGS_VARIABLE", "TerraformEnv", "TerraformError", "declares",
           "emulator_override", "ephemeral_variables", "terraform_root"]
