"""Every exception class under ``harness/`` is in the tree ``harness/errors.py`` draws (issue 18 item 4).

The walk reads the source with ``ast`` (importing every module would start gevent's monkey-patching
in the Locust modules), follows base classes by name, and checks each exception class against the
docstring's drawing, so a new ``class Oops(ValueError)`` anywhere fails here."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import harness.errors

PACKAGE = Path(harness.errors.__file__).parent
ROOTS = ("HarnessError", "RunInterrupted")  # RunInterrupted is a KeyboardInterrupt on purpose
BUILTIN = {name for name, value in vars(builtins).items()
           if isinstance(value, type) and issubclass(value, BaseException)}


def exception_classes(package: Path) -> dict[str, tuple[str, list[str]]]:
    """``{name: (file:line, base names)}`` of every class under ``package`` that derives from a
    built-in exception, directly or through other classes of the package."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
                classes[node.name] = (f"{path.relative_to(package.parent)}:{node.lineno}", bases)
    found: dict[str, tuple[str, list[str]]] = {}
    while True:
        more = {name: entry for name, entry in classes.items()
                if name not in found and any(b in BUILTIN or b in found for b in entry[1])}
        if not more:
            return found
        found.update(more)


def outside_the_tree(package: Path, drawing: str) -> list[str]:
    """The exception classes that do not descend from a root, or that the drawing does not name."""
    found = exception_classes(package)
    drawn = set(re.findall(r"^ {4}(?:[│ ]*[├└]── )?(\w+)", drawing, re.MULTILINE))

    def rooted(name: str) -> bool:
        return name in ROOTS or any(rooted(base) for base in found.get(name, ("", []))[1])

    return [f"{where} {name}({', '.join(bases)})" for name, (where, bases) in sorted(found.items())
            if not rooted(name) or name not in drawn]


def test_every_exception_class_of_the_harness_is_in_the_documented_tree() -> None:
    assert outside_the_tree(PACKAGE, harness.errors.__doc__ or "") == []
    assert len(exception_classes(PACKAGE)) > 15  # the walk found the tree itself


def test_a_class_outside_the_tree_is_named(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(
        "class HarnessError(Exception): ...\nclass Drawn(HarnessError): ...\nclass Loose(ValueError): ...\n"
        "class Hidden(Drawn): ...\n", encoding="utf-8")
    drawing = "    HarnessError\n    ├── Drawn   x\n    └── Loose  y\n"
    assert outside_the_tree(tmp_path / "pkg", drawing) == ["pkg/a.py:4 Hidden(Drawn)",
                                                           "pkg/a.py:3 Loose(ValueError)"]
