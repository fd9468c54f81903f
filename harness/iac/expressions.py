"""The keys of a Terraform map expression, evaluated offline as far as Terraform's own semantics
allow: map literals, ``local.<name>``, ``var.<name>`` (``terraform.tfvars``/``*.auto.tfvars``, else
the values the calling modules pass, else the default), ``merge(...)`` and ``tomap(...)``.

Anything else (other functions, conditionals, ``for`` expressions, resource attributes, variables
without any value) is *unknown*, and the answer says so: a :class:`KeySet` lists the keys known to
be present and whether more may exist. ``merge`` follows Terraform's definition (later maps win, all
keys are kept), so an unknown argument can only add keys, never remove the known ones.

Expressions arrive as python-hcl2 (checkov's fork) writes them: ``"${merge(local.tags,{'Name': 'x'})}"``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_REF = re.compile(r"^(local|var)\.([A-Za-z_][A-Za-z0-9_-]*)$")
_CALL = re.compile(r"^([a-z_]+)\((.*)\)$", re.DOTALL)
MAX_DEPTH = 20  # local -> local chains; a cycle is invalid Terraform, reported as unknown


@dataclass(frozen=True, slots=True)
class KeySet:
    """Keys a map is known to have; ``complete`` False when part of it could not be evaluated
    (``unknown`` says which part and why)."""

    keys: frozenset[str]
    complete: bool = True
    unknown: str = ""

    def union(self, other: KeySet) -> KeySet:
        reasons = "; ".join(r for r in (self.unknown, other.unknown) if r)
        return KeySet(self.keys | other.keys, self.complete and other.complete, reasons)

    @classmethod
    def opaque(cls, reason: str) -> KeySet:
        return cls(frozenset(), False, reason)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one module folder knows: its locals, and a resolver for its variables (which may
    consult tfvars, callers and defaults; see :func:`module_scope`)."""

    locals: Mapping[str, Any]
    variable: Callable[[str], KeySet]


def map_keys(value: Any, scope: Scope, depth: int = 0) -> KeySet:
    """The keys of a (possibly computed) map value; see the module docstring."""
    value = _unwrap(value)
    if depth > MAX_DEPTH:
        return KeySet.opaque("reference chain too deep (a cycle?)")
    if isinstance(value, dict):
        keys = {str(k) for k in value if not str(k).startswith("__")}
        dynamic = {k for k in keys if "${" in k}
        reason = f"computed keys {sorted(dynamic)}" if dynamic else ""
        return KeySet(frozenset(keys - dynamic), not dynamic, reason)
    if value is None or (isinstance(value, str) and not value.strip()):
        return KeySet(frozenset())
    if not isinstance(value, str):
        return KeySet.opaque(f"not a map: {value!r}")
    return _expression(_strip(value), scope, depth)


def _expression(text: str, scope: Scope, depth: int) -> KeySet:
    ref = _REF.match(text)
    if ref and ref.group(1) == "local":
        name = ref.group(2)
        if name not in scope.locals:
            return KeySet.opaque(f"local.{name} is not defined")
        return map_keys(scope.locals[name], scope, depth + 1)
    if ref:
        return scope.variable(ref.group(2))
    call = _CALL.match(text)
    if call and call.group(1) in ("merge", "tomap"):
        result = KeySet(frozenset())
        for argument in split_arguments(call.group(2)):
            result = result.union(map_keys(_literal(argument), scope, depth + 1))
        return result
    if text.startswith("{") and text.endswith("}"):
        return map_keys(_literal(text), scope, depth + 1)
    return KeySet.opaque(f"cannot evaluate {text!r} offline")


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call (brackets and quotes respected)."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    tail = "".join(current).strip()
    return [*parts, tail] if tail else parts


def _literal(text: str) -> Any:
    """A map literal as the parser printed it (``{'Name': 'x'}``), else the expression text."""
    if text.startswith("{"):
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return text


def _strip(text: str) -> str:
    text = text.strip()
    if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
        return text[2:-1].strip()
    return text


def _unwrap(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


__all__ = ["KeySet", "Scope", "map_keys", "split_arguments"]
