from __future__ import annotations

import importlib
import inspect

import pytest

import harness.stages.dast as dast
from harness.stages import load_stage

MODULES = [
    "attack_access",
    "attack_auth",
    "attack_injection",
    "attack_properties",
    "attack_resources",
    "attack_ssrf",
    "catalog",
    "findings",
    "headers",
    "login",
    "options",
    "probes",
    "reflect",
    "rules",
    "scan_state",
    "schemathesis_run",
    "signatures",
    "slots",
    "spec",
    "sqlmap",
    "stage",
    "tokens",
    "tools",
    "verdicts",
    "wire",
    "zap",
]


def test_registered_stage_loads() -> None:
    stage = load_stage("dast")
    assert isinstance(stage, dast.DastStage)
    assert stage.NAME == "dast" and stage.NEEDS_ENVIRONMENT is True


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(f"harness.stages.dast.{name}")
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_")
        and getattr(v, "__module__", None) == module.__name__
        and (inspect.isclass(v) or inspect.isfunction(v))
    }
    assert public <= set(module.__all__), sorted(public - set(module.__all__))
    assert all(hasattr(module, n) for n in module.__all__)
