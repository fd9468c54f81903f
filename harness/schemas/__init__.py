"""JSON Schemas shipped with the harness (``config``, ``results``, ``app``), the one way a schema
violation becomes a one-line error naming the file and the key (config, scenarios, the app profile),
and the one reader of a YAML or TOML file someone wrote (config, scenarios, app profile, catalog, waivers)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

SCHEMA_DIR = Path(__file__).parent


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A shipped schema by file stem, e.g. ``load_schema("results")``."""
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    return schema


def read_document(path: Path, source: str | None = None) -> Any:
    """The document of the YAML (or, by its suffix, TOML) file ``path``; a file that cannot be read or
    parsed is a one-line :class:`ConfigError` naming it as ``source`` (default: the path)."""
    import tomllib

    import yaml  # imported on use, as jsonschema below

    toml = path.suffix == ".toml"
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{source or path}: invalid {'TOML' if toml else 'YAML'}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{source or path}: cannot read: {exc.strerror or exc}") from None


def results_errors(data: Any) -> list[str]:
    """Every way ``data`` breaks ``results.schema.json``, as ``path: message`` lines."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema("results"),
                                                format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors]


def check(data: Any, schema: dict[str, Any], source: str, *, mapping: str = "a mapping",
          keyed: bool = True) -> None:
    """Raise a one-line :class:`ConfigError` (``source: key.path: problem``) for the shallowest
    violation; ``mapping`` is what an object is called in that file's language (TOML: a table);
    ``keyed=False`` leaves the key out (a command-line option is one value)."""
    import jsonschema  # imported on use: the pytest plugin imports config in every pytest run

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        error = _deepest(errors[0])
        where = key_path(error.absolute_path) if keyed else ""
        raise ConfigError(f"{source}: {where + ': ' if where else ''}{problem(error, mapping)}")


def _deepest(error: Any) -> Any:
    """For oneOf/anyOf, the sub-error that went furthest is the one a human needs (but not of a
    choice between keys, whose own error says which ones)."""
    while error.context and not _choice(error):
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


def key_path(path: Any) -> str:
    """``steps[2].expect.status`` from jsonschema's path parts."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def problem(error: Any, mapping: str = "a mapping") -> str:
    """jsonschema's message in words the author of the file understands."""
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if keys := _choice(error):
        given = [k for k in keys if isinstance(instance, dict) and k in instance]
        return f"expected exactly one of {', '.join(keys)}, got {', '.join(given) or 'none'}"
    if kind == "enum":
        return f"{instance!r} is not one of {', '.join(map(str, expected))}"
    if kind == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(instance) - set(known))
        return f"unknown key {extra[0]!r} (expected one of {', '.join(known)})"
    if kind == "not" and expected == {}:  # a key the schema names only to refuse it
        return "not allowed here"
    if kind == "required":
        return str(error.message).replace("is a required property", "is required")
    if kind == "dependentRequired":  # jsonschema: "'b' is a dependency of 'a'"
        return str(error.message).replace("is a dependency of", "is required with")
    if kind == "type":
        return f"expected {_a(expected, mapping)}, got {instance!r}"
    if kind == "pattern":
        return f"{instance!r} does not match {expected!r}"
    if kind in ("minimum", "maximum", "exclusiveMinimum"):
        return f"{instance!r} is out of range ({kind} {expected})"
    if kind == "uniqueItems":
        return "lists the same item twice"
    if kind in ("minLength", "minItems"):
        return "must not be empty"
    return str(error.message)


def _choice(error: Any) -> list[str]:
    """The keys of a ``oneOf`` that only says "exactly one of these keys" (else nothing)."""
    branches = error.validator_value if error.validator == "oneOf" else None
    if not isinstance(branches, list) or not all(isinstance(b, dict) and list(b) == ["required"]
                                                 and len(b["required"]) == 1 for b in branches):
        return []
    return [str(b["required"][0]) for b in branches]


def _a(kind: Any, mapping: str) -> str:
    if isinstance(kind, list):
        return " or ".join(_a(k, mapping) for k in kind)
    names = {"object": mapping, "array": "a list", "string": "a string", "integer": "an integer",
             "number": "a number", "boolean": "true or false"}
    return names.get(str(kind), str(kind))


__all__ = ["SCHEMA_DIR", "check", "key_path", "load_schema", "problem", "results_errors"]
