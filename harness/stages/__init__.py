"""The stage registry: name -> ``"module:Class"``, imported lazily, run in this order.

A registered stage whose module does not exist yet raises :class:`~harness.errors.NotBuiltError`;
the engine records it as ``skipped`` ("stage 'X' is not built yet"), never as passed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from harness.config import STAGE_NAMES
from harness.errors import ConfigError, NotBuiltError, StageError

if TYPE_CHECKING:
    from harness.stages.base import Stage

STAGES: dict[str, str] = {
    "policy": "harness.stages.policy:PolicyStage",
    "functional": "harness.stages.functional:FunctionalStage",
    "dast": "harness.stages.dast:DastStage",
    "load": "harness.stages.load:LoadStage",
}
assert tuple(STAGES) == STAGE_NAMES, "the registry and the config schema must name the same stages"


def load_stage(name: str) -> Stage:
    """Import and instantiate the stage registered as ``name``."""
    if name not in STAGES:
        raise ConfigError(f"--stages: unknown stage {name!r} (expected one of {', '.join(STAGES)})")
    module_name, _, attribute = STAGES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise NotBuiltError(f"stage {name!r} is not built yet") from None
        raise StageError(f"stage {name!r} cannot be imported: {exc}") from exc
    factory = getattr(module, attribute, None)
    if factory is None:
        raise NotBuiltError(f"stage {name!r} is not built yet ({module_name} has no {attribute})")
    stage: Stage = factory() if isinstance(factory, type) else factory
    return stage


__all__ = ["STAGES", "load_stage"]
