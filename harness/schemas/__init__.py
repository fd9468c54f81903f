"""JSON Schemas shipped with the harness: ``config.schema.json`` and ``results.schema.json``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).parent


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A shipped schema by file stem, e.g. ``load_schema("results")``."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return schema


def results_errors(data: Any) -> list[str]:
    """Every way ``data`` breaks ``results.schema.json``, as ``path: message`` lines."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("results"),
                                                format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]


__all__ = ["SCHEMA_DIR", "load_schema", "results_errors"]
