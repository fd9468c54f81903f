"""The built-in policies, rules, schemas and templates ship in the wheel (issue 18): an installed
harness reads them with :mod:`importlib.resources`, never from a checkout next to it.

The wheel is built by pip and setuptools from a copy of the package and ``pyproject.toml``, and
what it holds is read from the zip: a file that ``[tool.setuptools.package-data]`` misses fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from harness.catalog import BUILTIN_POLICIES

ROOT = Path(__file__).resolve().parents[3]


def test_the_built_in_policies_are_read_from_the_package() -> None:
    assert BUILTIN_POLICIES == ROOT / "harness" / "policies"
    assert (BUILTIN_POLICIES / "controls.yaml").is_file() and list((BUILTIN_POLICIES / "rules").glob("*.py"))
    # the project's policies/ holds only its own: data, and the one rule that knows the reference app
    assert [p.relative_to(ROOT).as_posix() for p in (ROOT / "policies").glob("**/*.py")] == [
        "policies/rules/k8s_budgets.py"]


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_the_package(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, timeout=600, capture_output=True)
    wheel = next((tmp_path / "dist").glob("*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {p.relative_to(source).as_posix() for p in (source / "harness").rglob("*")
              if p.is_file() and p.suffix != ".md"}  # READMEs are for readers of the source
    assert {"harness/policies/controls.yaml", "harness/schemas/app.schema.json"} <= wanted
    assert not wanted - shipped, sorted(wanted - shipped)
