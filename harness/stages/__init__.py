"""The stage registry: name -> ``"module:Class"``, imported lazily, run in this order.

A registered stage whose module does not exist yet raises :class:`~harness.errors.NotBuiltError`;
the engine records it as ``skipped`` ("stage 'X' is not built yet"), never as passed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.config import STAGE_NAMES
from harness.errors import NotBuiltError, StageError
from harness.registry import lazy_import, unknown_name

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
        raise unknown_name("--stages", "stage", name, STAGES)
    try:
        module, factory = lazy_import(STAGES[name], f"stage {name!r}")
    except ImportError as exc:
        raise StageError(f"stage {name!r} cannot be imported: {exc}") from exc
    if factory is None:
        attribute = STAGES[name].partition(":")[2]
        raise NotBuiltError(f"stage {name!r} is not built yet ({module.__name__} has no {attribute})")
    stage: Stage = factory() if isinstance(factory, type) else factory
    return stage


__all__ = ["STAGES", "load_stage"]
