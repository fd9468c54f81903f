"""Targets: how to stand an environment up and poke it, behind one interface and one registry.

``get_target("local", config)``, ``get_target("existing:env.json", config)``, ``get_target("kind")``,
``get_target("aws:staging")``; a name registered with ``None`` raises
:class:`~harness.errors.NotBuiltError` (with what to use meanwhile). Implementations
are imported lazily, so asking for ``existing`` never imports the local target's dependencies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import NotBuiltError
from harness.redact import Redactor
from harness.registry import lazy_import, unknown_name
from harness.targets.base import AwsEndpoint, Control, Environment, Target, TestUser
from harness.targets.lifecycle import running
from harness.targets.settings import TargetSettings
from harness.targets.spec import TargetSpec, parse_spec

TargetFactory = Callable[[TargetSpec, TargetSettings], Target]

# name -> "module:factory"; None = registered, not built yet (the issue that builds it).
TARGETS: dict[str, str | None] = {
    "local": "harness.targets.local:from_spec",
    "existing": "harness.targets.existing:from_spec",
    "kind": "harness.targets.kind:from_spec",
    "aws": "harness.targets.aws:from_spec",
}
_NOT_BUILT_HINTS: dict[str, str] = {}
_extra: dict[str, TargetFactory] = {}


def register_target(name: str, factory: TargetFactory) -> None:
    """Add (or replace) a target without editing this module, e.g. from a plugin."""
    _extra[name.lower()] = factory


def target_names() -> list[str]:
    return sorted({*TARGETS, *_extra})


def not_built_targets() -> dict[str, str]:
    """Registered targets that are not built yet -> what to use meanwhile."""
    return {name: _NOT_BUILT_HINTS.get(name, "") for name, path in TARGETS.items()
            if path is None and name not in _extra}


def get_target(spec: str | TargetSpec, config: Any = None, *, evidence_dir: Path | None = None,
               redactor: Redactor | None = None) -> Target:
    """The target ``spec`` names, configured from ``config`` (a HarnessConfig or TargetSettings).

    ``evidence_dir``: where the target keeps its evidence (process logs), e.g. the run's
    ``evidence/target``; default: ``.harness/runs/<run-id>`` under the root. ``redactor``: the
    run's, which learns every secret the target creates.
    """
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    settings = config if isinstance(config, TargetSettings) else TargetSettings.from_config(config)
    if evidence_dir is not None:
        settings = dataclasses.replace(settings, run_dir=evidence_dir)
    if redactor is not None:
        settings = dataclasses.replace(settings, redactor=redactor)
    return resolve_factory(parsed.name)(parsed, settings)


def resolve_factory(name: str) -> TargetFactory:
    if name in _extra:
        return _extra[name]
    if name not in TARGETS:
        raise unknown_name("--target", "target", name, target_names())
    path = TARGETS[name]
    if path is None:
        raise NotBuiltError(f"target {name!r} is not built yet", hint=_NOT_BUILT_HINTS.get(name))
    factory: TargetFactory = lazy_import(path, f"target {name!r}")[1]
    return factory


__all__ = ["TARGETS", "AwsEndpoint", "Control", "Environment", "Target", "TargetFactory", "TargetSettings",
           "TargetSpec", "TestUser", "get_target", "not_built_targets", "parse_spec", "register_target",
           "resolve_factory", "running", "target_names"]
