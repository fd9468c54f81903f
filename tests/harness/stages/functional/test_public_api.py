"""The registry loads the stage; every module's public functions and classes are in its __all__."""

from __future__ import annotations

import importlib
import inspect

import pytest

import harness.stages.functional as functional
from harness.stages import load_stage

MODULES = ["backends", "browser", "client", "context", "payloads", "posture", "runner", "scenario", "stage",
           "steps_data", "steps_env", "steps_http"]


def test_registered_stage_loads() -> None:
    stage = load_stage("functional")
    assert isinstance(stage, functional.FunctionalStage)
    assert stage.NAME == "functional" and stage.NEEDS_ENVIRONMENT is True


def test_package_exports_exist() -> None:
    assert all(hasattr(functional, name) for name in functional.__all__)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(f"harness.stages.functional.{name}")
    public = {
        n for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        and (inspect.isclass(v) or inspect.isfunction(v))
    }
    assert public <= set(module.__all__), sorted(public - set(module.__all__))
