"""The one lazy-registry helper behind stages, reporters and targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import NotBuiltError
from harness.registry import lazy_import, unknown_name


def test_an_existing_entry_is_imported() -> None:
    module, attribute = lazy_import("harness.results:RunRecord", "reporter 'x'")
    assert module.__name__ == "harness.results" and attribute.__name__ == "RunRecord"
    assert lazy_import("harness.results:Nope", "reporter 'x'")[1] is None


def test_a_registered_module_that_does_not_exist_is_not_built() -> None:
    with pytest.raises(NotBuiltError, match=r"^stage 'chaos' is not built yet$"):
        lazy_import("harness.stages.chaos:ChaosStage", "stage 'chaos'")


def test_a_module_whose_own_import_fails_is_an_error_not_a_gap(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_entry.py").write_text("import no_such_dependency_here\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_here"):
        lazy_import("broken_entry:Thing", "stage 'broken'")
    sys.modules.pop("broken_entry", None)


def test_unknown_names_list_the_valid_ones() -> None:
    error = unknown_name("--stages", "stage", "polcy", ["policy", "load"])
    assert str(error) == "--stages: unknown stage 'polcy' (expected one of policy, load)"
