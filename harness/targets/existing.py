"""The ``existing`` target: an environment that already runs (staging, a preview, another ``harness up``).

It reads the JSON that ``harness up --json`` writes (:meth:`Environment.to_dict`); nothing is started
or stopped, and there is no control handle, so stages record the steps that need one as skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, TargetError
from harness.redact import Redactor
from harness.targets.base import Environment
from harness.targets.probe import probe
from harness.targets.settings import TargetSettings
from harness.targets.spec import TargetSpec


def load_environment(path: Path) -> Environment:
    """The Environment described in ``path``; errors name the file and the bad key."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = "write one with `harness up --json`"
        raise ConfigError(f"{path}: environment file not found", hint=hint) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read environment file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
    try:
        env = Environment.from_dict(data, target="existing")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    env.extra.update(source=str(path), origin_target=str(data.get("target", "unknown")))
    return env


def write_environment(env: Environment, path: Path) -> None:
    """Write ``env`` as JSON (mode 0600: it holds user tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(env.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


class ExistingTarget:
    """Reads an already running environment from ``path``; ``up``/``down`` start and stop nothing."""

    NAME = "existing"

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        self.environment: Environment | None = None

    def preflight(self) -> None:
        """The environment file is there, readable and valid, and its ``api_url`` answers."""
        try:
            env = load_environment(self.path)
        except ConfigError as exc:
            raise TargetError(f"target existing: {exc}") from None
        try:
            probe(env.api_url)
        except TargetError as exc:
            raise TargetError(f"target existing ({self.path}): api_url {exc}") from None

    def up(self) -> Environment:
        env = load_environment(self.path)
        env.control = None  # never ours to scale, kill or deploy
        self.redactor.register(*(u.token for u in env.users), env.aws.secret_access_key)
        self.environment = env
        return env

    def down(self) -> None:
        self.environment = None


def from_spec(spec: TargetSpec, settings: TargetSettings) -> ExistingTarget:
    """``existing:PATH`` (relative paths are taken from the project root)."""
    if not spec.location:
        raise ConfigError("--target existing needs a file: --target existing:PATH")
    path = Path(spec.location).expanduser()
    return ExistingTarget(path if path.is_absolute() else settings.root / path, settings.redactor)


__all__ = ["ExistingTarget", "from_spec", "load_environment", "probe", "write_environment"]
