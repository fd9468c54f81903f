"""ARCHITECTURE.md's import rules, checked over every module of ``harness/`` (and ``reference_app``).

Every ``import`` counts, also inside functions and under ``TYPE_CHECKING``, and so does every
``"harness.module:attribute"`` string (what :mod:`harness.registry` imports lazily): a lazy import
is still an arrow. Layers, lowest first; a module may import its own layer and the ones below::

    errors results schemas  <-  config redact provenance reporters  <-  services k8s iac
        <-  targets  <-  stages  <-  events  <-  output  <-  engine  <-  cli plugin doctor harness

and, within that: reporters import only ``results``, ``errors`` and ``registry``; stages reach a
target only through ``harness.targets.base`` (never a target's internals, nor the registry); a stage does not
import another stage; a target does not import another target's internals; the reference app
never imports the harness.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REGISTERED = re.compile(r"(harness(?:\.\w+)*):\w+")  # a registry's lazy "module:attribute"
LAYERS = [
    ("harness.errors", "harness.registry", "harness.results", "harness.schemas", "harness.verdict",
     "harness.__version__"),
    (
        "harness.app_profile",
        "harness.catalog",
        "harness.waivers",
        "harness.config",
        "harness.redact",
        "harness.provenance",
        "harness.reporters",
    ),
    ("harness.services", "harness.k8s", "harness.iac"),
    ("harness.targets",),
    ("harness.stages", "harness.policies"),  # built-in rules use the policy stage's authoring API
    ("harness.events",),
    ("harness.output",),
    ("harness.engine",),
    ("harness.cli", "harness.plugin", "harness.doctor", "harness"),
]
TARGET_SHARED = (  # what target implementations share (the Terraform lifecycle, AWS access, ...)
    "harness.targets.probe",
    "harness.targets.awsapi",
    "harness.targets.terraform_env",
    "harness.targets.base",
    "harness.targets.lifecycle",
    "harness.targets.settings",
    "harness.targets.spec",
    "harness.targets.cluster",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Absolute names ``path`` imports (relative imports resolved against its package)."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and REGISTERED.fullmatch(str(node.value)):
            yield str(node.value).partition(":")[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                metadata = alias.name == "harness" and alias.asname is None and only_version(tree)
                yield "harness.__version__" if metadata else alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            name = ".".join(p for p in (base, node.module or "") if p)
            # `from harness import __version__` reads package metadata: no arrow to the facade
            modules = [
                f"{name}.{a.name}"
                for a in node.names
                if is_module(f"{name}.{a.name}") or a.name == "__version__"
            ]
            # `from pkg import module` imports that module; `from pkg import name`, the package
            yield from modules if len(modules) == len(node.names) else [name, *modules]


def only_version(tree: ast.AST) -> bool:
    """Whether ``import harness`` is used for ``harness.__version__`` alone (package metadata)."""
    used = {
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "harness"
    }
    return used == {"__version__"}


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer(name: str) -> int:
    """The layer of ``name``; the root package ``harness`` (the public facade) only by its own name,
    so that a new module nobody placed is an error, not silently the top layer."""
    matches = [
        (len(p), i)
        for i, names in enumerate(LAYERS)
        for p in names
        if (name == p if p == "harness" else within(name, p))
    ]
    assert matches, f"{name}: in no layer of ARCHITECTURE.md (add it to LAYERS and to the page)"
    return max(matches)[1]


def part(name: str, package: str) -> str:
    """``harness.stages.load.checks`` -> ``harness.stages.load`` for ``package='harness.stages'``."""
    return ".".join(name.split(".")[: package.count(".") + 2])


def problem(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None."""
    if within(importer, "harness.reporters") and not any(
        within(imported, p)
        for p in ("harness.results", "harness.errors", "harness.registry", "harness.reporters")
    ):
        return "reporters import only harness.results, harness.errors and harness.registry"
    if (
        within(importer, "harness.stages")
        and within(imported, "harness.targets")
        and not within(imported, "harness.targets.base")
    ):
        return "stages reach a target only through harness.targets.base"
    stages = (
        importer.count(".") >= 2
        and within(importer, "harness.stages")
        and within(imported, "harness.stages")
        and imported.count(".") >= 2
    )
    if stages and part(imported, "harness.stages") not in (
        part(importer, "harness.stages"),
        "harness.stages.base",
    ):
        return "a stage does not import another stage"
    own, other = part(importer, "harness.targets"), part(imported, "harness.targets")
    if (
        within(importer, "harness.targets")
        and within(imported, "harness.targets")
        and importer.count(".") >= 2
        and other != own
        and not any(within(imported, s) for s in TARGET_SHARED)
    ):
        return "a target does not import another target's internals"
    if layer(imported) > layer(importer):
        return f"layer {layer(importer)} imports layer {layer(imported)} (imports point down only)"
    return None


def harness_modules() -> list[Path]:
    return sorted((ROOT / "harness").rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    for path in harness_modules():
        layer(module_name(path))


@pytest.mark.parametrize("path", harness_modules(), ids=lambda p: module_name(p))
def test_imports_point_down_only(path: Path) -> None:
    importer = module_name(path)
    found = {
        f"{importer} -> {name}: {why}"
        for name in imports(path)
        if within(name, "harness")
        if (why := problem(importer, name)) is not None
    }
    assert not found, "\n".join(sorted(found))


def test_the_reference_app_never_imports_the_harness() -> None:
    for path in sorted((ROOT / "reference_app").rglob("*.py")):
        assert not [n for n in imports(path) if within(n, "harness")], path


@pytest.mark.parametrize(
    "importer, imported, why",
    [
        (
            "harness.stages.load.session",
            "harness.targets.local.cluster.plane",
            "only through harness.targets.base",
        ),
        ("harness.stages.load.stage", "harness.targets", "only through harness.targets.base"),
        ("harness.stages.load.stage", "harness.stages.functional.context", "another stage"),
        ("harness.reporters.html", "harness.config", "only harness.results"),
        ("harness.targets.local.control", "harness.stages.base", "point down only"),
        (
            "harness.targets.cluster.observer",
            "harness.targets.local.cluster.plane",
            "another target's internals",
        ),
        ("harness.results", "harness.config", "point down only"),
        ("harness.output", "harness.engine", "point down only"),
    ],
)
def test_the_rules_catch_arrows_that_must_never_exist(importer: str, imported: str, why: str) -> None:
    assert why in (problem(importer, imported) or "")


def test_allowed_arrows_pass() -> None:
    for importer, imported in [
        ("harness.stages.load.session", "harness.targets.base"),
        ("harness.stages.load.stage", "harness.stages.base"),
        ("harness.targets.local.cluster.hpa", "harness.k8s.specs"),
        ("harness.targets.local.target", "harness.targets.lifecycle"),
        ("harness.engine", "harness.output"),
        ("harness.cli", "harness.targets.existing"),
    ]:
        assert problem(importer, imported) is None, (importer, imported)


def test_registry_strings_are_arrows() -> None:
    """A registry entry is a lazy import, checked like any other (the stage registry names each stage)."""
    source = ROOT / "harness" / "stages" / "__init__.py"
    assert any(within(n, "harness.stages.load") for n in imports(source))  # the stage registry's entries


def test_a_module_nobody_placed_is_an_error_not_the_top_layer() -> None:
    with pytest.raises(AssertionError, match="in no layer"):
        layer("harness.newthing")
    assert problem("harness.stages.dast.tools", "harness.__version__") is None  # package metadata
    assert "point down only" in (problem("harness.stages.dast.tools", "harness") or "")  # the facade
