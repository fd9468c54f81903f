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

Early outputs (the local target): ``start_apply()`` runs ``apply`` in the background and
``wait_usable()`` returns as soon as every output of the env has a value in the run's local state.
Terraform's local backend writes the state after every resource it applies (``StateHook``,
hashicorp/terraform ``internal/backend/local/hook_state.go``), and an output is written once the
resources it references (and its ``depends_on``) are applied: an output is usable when Terraform
says so. What the app never reads may still be in flight: hashicorp/aws 5.100's
``aws_s3_bucket_lifecycle_configuration`` create waits 10 s, then for 10 equal reads 5 s apart
(``waitLifecycleConfigEquals`` in ``internal/service/s3/bucket_lifecycle_configuration.go``),
~55 s against any emulator. ``finish()`` then waits for the apply and raises when it failed or when
``terraform output`` no longer gives what the early outputs said: the caller fails the run.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.iac import attr, init_cache, load_terraform, providers, variables
from harness.iac.terraform_cli import TerraformError, TerraformRunner, TerraformSettings, TerraformTimeout
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


def bucket_names(outputs: Mapping[str, Any]) -> dict[str, str]:
    """Logical name -> bucket, e.g. ``{"raw": "raw-uploads"}`` from output ``raw_bucket``."""
    return {name.removesuffix("_bucket"): str(value) for name, value in outputs.items()
            if name.endswith("_bucket")}


def declares(env_dir: Path, variable: str) -> bool:
    return variable in variables(load_terraform(env_dir))


def declared_outputs(env_dir: Path) -> set[str]:
    """The names of the env's ``output`` blocks."""
    return {name for block in load_terraform(env_dir).get("output", []) for name in block}


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
        self.abandoned = False  # the emulator goes down with everything: no destroy, no state wanted
        self.timings: dict[str, float] = {}  # seconds since start_apply(): init, usable, complete
        self._background: threading.Thread | None = None
        self._apply_error: BaseException | None = None
        self._started = 0.0

    def apply(self) -> dict[str, Any]:
        """Copy, init, select the workspace, apply; return ``terraform output -json`` values.
        In the caller's thread: a Ctrl-C there stops Terraform (see TerraformRunner.run)."""
        self._prepare()
        self.runner.apply(self.variables, on_message=self._on_message)
        self.outputs = self.runner.output()
        self._mark("complete")
        return self.outputs

    def start_apply(self) -> None:
        """Copy, init, select the workspace, then start ``apply`` in a background thread (stopped
        by :meth:`cancel`, waited for by :meth:`finish` or :meth:`settle`)."""
        self._prepare()
        self._apply_error = None
        self._background = threading.Thread(target=self._run_apply, daemon=True,
                                            name=f"terraform-apply-{self.run_id}")
        self._background.start()

    def wait_usable(self) -> dict[str, Any]:
        """Return the outputs as soon as the state has them all (or the apply ended: then its
        outcome decides)."""
        wanted = declared_outputs(self.source)
        while self._background is not None and self._background.is_alive():
            early = self._state_outputs()
            if early is not None and wanted <= early.keys():
                self.outputs = early
                self._mark("usable")
                return early
            self._background.join(timeout=0.1)
        return self.finish()

    def finish(self) -> dict[str, Any]:
        """Wait for the apply; raise :class:`TerraformError` when it failed or when ``terraform
        output`` disagrees with the early outputs; return the outputs."""
        if self._background is not None:
            self._background.join()
        self._background, error, self._apply_error = None, self._apply_error, None
        if error is not None:
            raise error
        final = self.runner.output()
        changed = sorted(k for k in set(final) | set(self.outputs) if self.outputs and final.get(k) !=
                         self.outputs.get(k))
        self.outputs = final
        if changed:
            raise TerraformError(f"terraform output after the apply differs from the state it wrote "
                                 f"meanwhile: {', '.join(changed)}")
        self.timings.setdefault("usable", self._mark("complete"))
        return final

    @property
    def running(self) -> bool:
        """A background apply is still in flight."""
        return self._background is not None and self._background.is_alive()

    def settle(self) -> str | None:
        """Wait for a background apply still running; what went wrong with it, if anything."""
        if self._background is None and self._apply_error is None:
            return None
        try:
            self.finish()
        except TerraformError as exc:
            return None if self.abandoned else f"terraform apply did not complete: {exc}"
        return None

    def _prepare(self) -> None:
        self._started = time.monotonic()
        self._stage()
        self._init()
        self.proven_on = self.runner.version().proven_on()
        self._mark("init")
        if self.workspace is not None:
            self.runner.workspace(self.workspace)
        self.applied = True

    def _init(self) -> None:
        """``terraform init``, or its cached result for this tree (see :mod:`harness.iac.init_cache`;
        not with a workspace: a real backend's init state is not ours to copy around)."""
        root = init_cache.cache_root() if self.workspace is None else None
        entry = None
        if root is not None:
            key = init_cache.cache_key(self.copy_root, self.runner.settings, skip=(OVERRIDE_FILE,))
            entry = root / f"{key}-{'emulator' if self.emulator else 'own'}"
            if init_cache.restore(entry, self.dir):
                return
        self.runner.init()
        if entry is not None:
            init_cache.save(self.dir, entry)

    def _run_apply(self) -> None:
        try:
            self.runner.apply(self.variables, on_message=self._on_message)
        except BaseException as exc:
            self._apply_error = exc

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("type") == "apply_complete":
            self.timings.setdefault("first_resource", round(time.monotonic() - self._started, 3))

    def _mark(self, what: str) -> float:
        self.timings[what] = round(time.monotonic() - self._started, 3)
        return self.timings[what]

    def _state_outputs(self) -> dict[str, Any] | None:
        """Outputs in the state Terraform has written so far (local backend), or None."""
        where = self.dir / "terraform.tfstate"
        if self.workspace is not None:
            where = self.dir / "terraform.tfstate.d" / self.workspace / "terraform.tfstate"
        try:
            state = json.loads(where.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not written yet, or caught mid-write
            return None
        found = state.get("outputs") if isinstance(state, dict) else None
        return {k: v.get("value") for k, v in found.items()} if isinstance(found, dict) else None

    def reapply(self) -> dict[str, Any]:
        """Apply again (e.g. the emulator lost its state: Terraform's refresh sees it and recreates)."""
        if problem := self.settle():
            raise TerraformError(problem)
        self.runner.apply(self.variables)
        self.outputs = self.runner.output()
        return self.outputs

    def destroy(self, *, refresh: bool = True, timeout: float | None = None) -> None:
        """``terraform destroy`` (when anything may have been created), bounded by ``timeout``."""
        if not self.applied or self.abandoned:
            return
        self.settle()  # a cancelled apply: it must have saved its state before destroy reads it
        self.runner.cancelled.clear()
        self.runner.destroy(self.variables, refresh=refresh, timeout=timeout)
        self.applied = False

    def cancel(self) -> None:
        """Interrupt a command in flight (Terraform saves its state first); returns once it ended."""
        self.runner.cancel()
        if self._background is not None:
            self._background.join()

    def abandon(self) -> None:
        """Kill Terraform now, no grace, and never destroy: for an emulator of the run's own that is
        about to stop with everything in it (an interrupted run). Never blocks."""
        self.abandoned = True
        self.runner.kill()

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


__all__ = ["OVERRIDE_FILE", "RUN_TAGS_VARIABLE", "TerraformEnv", "TerraformError", "TerraformTimeout",
           "bucket_names", "declared_outputs", "declares", "emulator_override", "ephemeral_variables",
           "terraform_root"]
