"""The planted app variants are listed in one place and kept honest: the registry, EXPECTED.yaml and
the README agree, each names a test that exercises it, and a typo stops the app."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.reference_app.app import PLANTED_APP, planted_env

ROOT = Path(__file__).resolve().parents[2]


def registry() -> dict[str, Any]:
    sys.path.insert(0, str(PLANTED_APP))
    try:
        found: dict[str, Any] = importlib.import_module("planted_variants").REGISTRY
        return found
    finally:
        sys.path.remove(str(PLANTED_APP))


def expected() -> list[dict[str, str]]:
    doc = yaml.safe_load((PLANTED_APP.parent / "EXPECTED.yaml").read_text())
    variants: list[dict[str, str]] = doc["app_variants"]
    return variants


def test_registry_expected_and_readme_agree() -> None:
    names = set(registry())
    assert {v["variant"] for v in expected()} == names
    table = re.findall(r"^\| `(\w+)` \|", (PLANTED_APP / "README.md").read_text(), re.MULTILINE)
    assert set(table) == names and len(table) == len(names)


def test_each_variant_is_exercised_by_the_test_it_names() -> None:
    for entry in expected():
        path, _, name = entry["shown_by"].partition("::")
        source = (ROOT / path).read_text()
        assert f"def {name}(" in source, entry
        assert re.search(rf'"[^"]*\b{entry["variant"]}\b[^"]*"', source), entry


def test_an_unknown_variant_stops_the_process() -> None:
    env = {**os.environ, **planted_env("no_such_variant")}
    done = subprocess.run([sys.executable, "-c", "print('ran')"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "ran" not in done.stdout
    assert "unknown variant(s) no_such_variant" in done.stderr and "no_memory_budget" in done.stderr
