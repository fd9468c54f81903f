"""The few paths and knobs targets need, adapted from the harness config (or given directly)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.app_profile import AppProfile, load_app_profile
from harness.iac.terraform_cli import TerraformSettings
from harness.redact import Redactor


@dataclass(frozen=True, slots=True)
class TargetSettings:
    """Where a target finds its inputs and writes its evidence."""

    root: Path
    terraform_dir: Path
    manifests_dir: Path
    run_dir: Path | None = None  # per-run evidence dir (process logs); None = a fresh one under root
    ready_timeout_s: float = 60.0
    env: dict[str, str] = field(default_factory=dict)  # extra settings passed to the app processes
    app: AppProfile = field(default_factory=AppProfile)  # the app to deploy: scenarios/app.yaml
    app_path: Path | None = None  # a folder holding the app's package, put on PYTHONPATH
    aws_emulator: str = "moto"  # [targets.local] aws_emulator: moto | localstack
    localstack_python: str | None = None  # the LocalStack venv's python (default: .venv-localstack)
    time_scale: float | None = None  # [targets.local] time_scale; None = the target's default
    terraform: TerraformSettings = field(default_factory=TerraformSettings.from_config)
    # the run's redactor: every secret the target creates is registered here (the engine applies it)
    redactor: Redactor = field(default_factory=Redactor, compare=False)

    def secret(self, *values: str | None) -> None:
        """Register secrets the target created (passwords, tokens) with the run's redactor."""
        self.redactor.register(*values)

    @classmethod
    def for_root(cls, root: Path, **overrides: Any) -> TargetSettings:
        """Defaults for a checkout: ``terraform/envs/local``, ``manifests/overlays/local`` and the app
        of ``scenarios/app.yaml``."""
        root = root.resolve()
        values: dict[str, Any] = {
            "root": root,
            "terraform_dir": root / "terraform" / "envs" / "local",
            "manifests_dir": root / "manifests" / "overlays" / "local",
        }
        values.update(overrides)
        if "app" not in values:
            values["app"] = load_app_profile(root / "scenarios")
        return cls(**values)

    @classmethod
    def from_config(cls, config: Any) -> TargetSettings:
        """Adapt a ``HarnessConfig``: ``root``, ``paths.terraform``/``paths.manifests``, the app of
        ``paths.scenarios`` (its ``app.yaml``) and the
        ``[targets.local]`` options ``ready_timeout_s``, ``env`` (extra app settings),
        ``aws_emulator``, ``localstack_python`` and ``time_scale`` (checked by the config schema);
        ``[terraform]`` for the terraform runner."""
        if config is None:
            return cls.for_root(Path(os.environ.get("HARNESS_ROOT", Path.cwd())))
        root = Path(config.root)
        paths = getattr(config, "paths", None)
        overrides: dict[str, Any] = {}
        terraform = getattr(paths, "terraform", None)
        manifests = getattr(paths, "manifests", None)
        scenarios = getattr(paths, "scenarios", None)
        if terraform is not None:
            overrides["terraform_dir"] = _local_env(root, Path(terraform), "envs")
        if manifests is not None:
            overrides["manifests_dir"] = _local_env(root, Path(manifests), "overlays")
        if scenarios is not None:
            overrides["app"] = load_app_profile(Path(scenarios))
        run_dir = getattr(config, "run_dir", None)
        if run_dir is not None:
            overrides["run_dir"] = Path(run_dir)
        options = config.target_options("local") if hasattr(config, "target_options") else {}
        for key in ("ready_timeout_s", "time_scale"):
            if key in options:
                overrides[key] = float(options[key])
        if isinstance(options.get("env"), dict):
            overrides["env"] = {str(k): str(v) for k, v in options["env"].items()}
        for key in ("aws_emulator", "localstack_python"):
            if key in options:
                overrides[key] = str(options[key])
        if "aws_emulator" not in options and getattr(config, "profile", None) == "nightly":
            overrides["aws_emulator"] = "localstack"  # the mission's emulator; moto is the fast default
        overrides["terraform"] = TerraformSettings.from_config(config)
        return cls.for_root(root, **overrides)


def _local_env(root: Path, base: Path, layer: str) -> Path:
    """``terraform`` -> ``terraform/envs/local``; a path that already names an env is kept."""
    base = base if base.is_absolute() else root / base
    for candidate in (base / layer / "local", base / "local"):
        if candidate.is_dir():
            return candidate
    return base


__all__ = ["TargetSettings"]
