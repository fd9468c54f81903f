"""Read Terraform configurations with python-hcl2, offline and without the terraform binary.

The shape is the one checkov's HCL parser (``bc-python-hcl2``, imported as ``hcl2``) produces,
because the policy stage and the local target must read the same thing checkov reads::

    {"resource": [{"aws_s3_bucket": {"raw": {"bucket": ["raw-uploads"], "__file__": "main.tf",
                                             "__start_line__": 7, "__end_line__": 10}}}],
     "variable": [{"aws_endpoint": {"default": ["http://..."], ...}}], "provider": [...], ...}

Every attribute value is wrapped in a one-element list (repeated blocks are lists of dicts); use
:func:`attr` to unwrap it. Each labelled block carries ``__file__`` (path relative to the folder it
was loaded from) next to the parser's ``__start_line__``/``__end_line__``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import hcl2.api

from harness.errors import ConfigError

FILE_KEY = "__file__"
START_LINE = "__start_line__"
END_LINE = "__end_line__"
_META_KEYS = frozenset({FILE_KEY, START_LINE, END_LINE})

# python-hcl2 >= 5 (the upstream project) and bc-python-hcl2 (checkov's fork) share the import name
# `hcl2`; only the fork wraps attribute values in lists. Whichever is installed, callers see one shape.
_LOADS: Callable[..., dict[str, Any]] = hcl2.api.loads
_UPSTREAM = "with_meta" in inspect.signature(_LOADS).parameters


def parse_file(path: Path) -> dict[str, Any]:
    """Parse one .tf file; a syntax error becomes a ConfigError naming the file."""
    text = path.read_text(encoding="utf-8")
    try:
        if _UPSTREAM:
            data = _LOADS(text, with_meta=True)
            return _wrap_upstream(data)
        return _LOADS(text)
    except Exception as exc:  # the parser raises lark errors and ValueError alike
        raise ConfigError(f"{path}: cannot parse HCL: {exc}") from exc


def load_terraform(directory: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Parse every ``*.tf`` file of one folder (not recursive) into one merged document."""
    root = Path(directory)
    files = sorted(root.glob("*.tf"))
    if not files:
        raise ConfigError(f"{root}: no .tf files")
    merged: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        for block_type, blocks in parse_file(path).items():
            for block in blocks:
                _stamp_file(block, path.name)
            merged.setdefault(block_type, []).extend(blocks)
    return merged


def iter_tf_dirs(root: str | Path) -> Iterator[Path]:
    """Every folder under ``root`` that holds at least one .tf file (skipping .terraform)."""
    yield from sorted({p.parent for p in Path(root).rglob("*.tf") if ".terraform" not in p.parts})


def attr(body: dict[str, Any], key: str, default: Any = None) -> Any:
    """The value of attribute ``key`` of a block body, unwrapped from the parser's list."""
    if key not in body:
        return default
    value = body[key]
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def blocks(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The nested blocks named ``key`` (e.g. ``rule``) of a block body, always a list."""
    value = body.get(key, [])
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def resources(tf: dict[str, list[dict[str, Any]]], resource_type: str) -> dict[str, dict[str, Any]]:
    """All ``resource "<resource_type>" "<name>"`` bodies keyed by name."""
    return _merged(entry.get(resource_type, {}) for entry in tf.get("resource", []))


def variables(tf: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """All ``variable "<name>"`` bodies keyed by name."""
    return _merged(tf.get("variable", []))


def modules(tf: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """All ``module "<name>"`` bodies keyed by name."""
    return _merged(tf.get("module", []))


def providers(tf: dict[str, list[dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    """Every ``provider "<name>"`` body (several when aliases are used)."""
    return [block[name] for block in tf.get("provider", []) if name in block]


def variable_default(tf: dict[str, list[dict[str, Any]]], name: str) -> Any:
    """The default of ``variable "<name>"``; ConfigError when it is missing."""
    found = variables(tf).get(name)
    if found is None or "default" not in found:
        raise ConfigError(f"variable {name!r} has no default")
    return attr(found, "default")


def location(body: dict[str, Any]) -> str:
    """``file:line`` of a labelled block, for results and error messages."""
    return f"{body.get(FILE_KEY, '?')}:{body.get(START_LINE, '?')}"


def _merged(entries: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Blocks by name, from every file's entries (a later name wins, as in one merged config)."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        found.update(entry)
    return found


def _stamp_file(block: dict[str, Any], filename: str) -> None:
    """Add ``__file__`` next to every ``__start_line__`` found in the first two label levels."""
    if START_LINE in block:
        block[FILE_KEY] = filename
        return
    for value in block.values():
        if isinstance(value, dict):
            _stamp_file(value, filename)


def _wrap_upstream(data: dict[str, Any]) -> dict[str, Any]:
    """Bring upstream python-hcl2's unwrapped attributes into the fork's list-wrapped shape."""
    return {key: [_wrap_labels(block) for block in value] for key, value in data.items()}


def _wrap_labels(node: Any) -> Any:
    if isinstance(node, dict) and START_LINE in node:
        return _wrap_body(node)
    if isinstance(node, dict):
        return {key: _wrap_labels(value) for key, value in node.items()}
    return node


def _wrap_body(body: dict[str, Any]) -> dict[str, Any]:
    wrapped: dict[str, Any] = {}
    for key, value in body.items():
        is_blocks = isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        if key in _META_KEYS:
            wrapped[key] = value
        elif is_blocks:  # a list of objects: repeated blocks (attribute lists of objects are rare)
            wrapped[key] = [_wrap_body(v) for v in value]
        else:
            wrapped[key] = [value]
    return wrapped


__all__ = ["attr", "blocks", "iter_tf_dirs", "load_terraform", "location", "modules",
           "parse_file", "providers", "resources", "variable_default", "variables"]
