"""A safe evaluator for the expr-lang subset Argo Rollouts uses in analysis conditions.

Argo evaluates ``successCondition``/``failureCondition`` with github.com/expr-lang/expr, binding
``result`` to the measurement. We parse that subset with a small recursive-descent parser (never
``eval``): literals (numbers, strings, ``true``/``false``/``nil``), ``result`` and other bound names,
indexing ``x[0]``, unary ``! not -``, ``* / %``, ``+ -``, comparisons ``== != < <= > >= in``,
``&& and``, ``|| or``, parentheses, and the functions ``len``, ``isNaN``, ``isInf``, ``default``,
``asInt``, ``asFloat``, ``abs``, ``min``, ``max``.

Errors in parsing or evaluating (e.g. ``result[0]`` on an empty vector) raise :class:`ExprError`;
Argo turns those into an ``Error`` measurement, and so do we. Part of reading the manifests, so both
the local target's model (analysis runs) and the policy stage (can every metric fail?) use it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError


class ExprError(HarnessError):
    """The expression could not be parsed or evaluated."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+\.\d*(?:[eE][-+]?\d+)?|\d*\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|[<>!()\[\],+\-*/%]))"
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str


def _tokenise(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    source = source.strip()
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise ExprError(f"unexpected character at {pos} in {source!r}")
        kind = match.lastgroup or ""
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    tokens.append(_Tok("end", ""))
    return tokens


Node = tuple[Any, ...]

_BINARY_LEVELS: list[set[str]] = [
    {"||", "or"},
    {"&&", "and"},
    {"==", "!=", "<", "<=", ">", ">=", "in"},
    {"+", "-"},
    {"*", "/", "%"},
]


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenise(source)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self, text: str | None = None) -> _Tok:
        tok = self.tokens[self.pos]
        if text is not None and tok.text != text:
            raise ExprError(f"expected {text!r}, got {tok.text or 'end of input'!r}")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek().kind != "end":
            raise ExprError(f"unexpected {self.peek().text!r}")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().kind in ("op", "name") and self.peek().text in _BINARY_LEVELS[level]:
            op = self.take().text
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.peek().text in ("!", "not", "-", "+"):
            op = self.take().text
            return ("un", op, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while self.peek().text == "[":
            self.take("[")
            index = self.binary(0)
            self.take("]")
            node = ("idx", node, index)
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return ("lit", float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind == "str":
            return ("lit", bytes(tok.text[1:-1], "utf-8").decode("unicode_escape"))
        if tok.text == "(":
            node = self.binary(0)
            self.take(")")
            return node
        if tok.kind == "name":
            if tok.text in _CONSTANTS:
                return ("lit", _CONSTANTS[tok.text])
            if self.peek().text == "(":
                return ("call", tok.text, self.arguments())
            return ("var", tok.text)
        raise ExprError(f"unexpected {tok.text or 'end of input'!r}")

    def arguments(self) -> list[Node]:
        self.take("(")
        args: list[Node] = []
        while self.peek().text != ")":
            args.append(self.binary(0))
            if self.peek().text != ",":
                break
            self.take(",")
        self.take(")")
        return args


_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "nil": None}


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExprError(f"expected a number, got {value!r}")
    return float(value)


def _len(value: Any) -> int:
    if not isinstance(value, list | tuple | str | dict):
        raise ExprError(f"len() of {type(value).__name__}")
    return len(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "isNaN": lambda v: math.isnan(_as_number(v)),
    "isInf": lambda v, sign=0: math.isinf(_as_number(v)) and (sign == 0 or (v > 0) == (sign > 0)),
    "default": lambda v, fallback: fallback if v is None else v,
    "asInt": lambda v: int(float(v)),
    "asFloat": lambda v: float(v),
    "abs": lambda v: abs(_as_number(v)),
    "min": lambda *v: min(_as_number(x) for x in v),
    "max": lambda *v: max(_as_number(x) for x in v),
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                    ">=": operator.ge}
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "%": math.fmod,
    # Go's float division: x/0 is ±Inf, 0/0 is NaN (Python raises instead)
    "/": lambda a, b: a / b if b != 0 else (math.nan if a == 0 else math.copysign(math.inf, a)),
}


def _evaluate(node: Node, env: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        if node[1] not in env:
            raise ExprError(f"unknown name {node[1]!r}")
        return env[node[1]]
    if kind == "idx":
        return _index(_evaluate(node[1], env), _evaluate(node[2], env))
    if kind == "call":
        if node[1] not in _FUNCTIONS:
            raise ExprError(f"unknown function {node[1]!r}")
        try:
            return _FUNCTIONS[node[1]](*[_evaluate(a, env) for a in node[2]])
        except (TypeError, ValueError) as exc:
            raise ExprError(f"{node[1]}(): {exc}") from exc
    if kind == "un":
        value = _evaluate(node[2], env)
        if node[1] in ("-", "+"):
            return -_as_number(value) if node[1] == "-" else _as_number(value)
        return not _truth(value)
    return _binary(node[1], node[2], node[3], env)


def _binary(op: str, left: Node, right: Node, env: Mapping[str, Any]) -> Any:
    if op in ("||", "or"):
        return _truth(_evaluate(left, env)) or _truth(_evaluate(right, env))
    if op in ("&&", "and"):
        return _truth(_evaluate(left, env)) and _truth(_evaluate(right, env))
    a, b = _evaluate(left, env), _evaluate(right, env)
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "in":
        if not isinstance(b, list | tuple | str | dict):
            raise ExprError("'in' needs a collection on the right")
        return a in b
    if op in _COMPARE:
        if isinstance(a, str) and isinstance(b, str):
            return _COMPARE[op](a, b)
        return _COMPARE[op](_as_number(a), _as_number(b))
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    return _ARITH[op](_as_number(a), _as_number(b))


def _index(container: Any, index: Any) -> Any:
    if isinstance(container, dict):
        if index not in container:
            raise ExprError(f"key {index!r} not found")
        return container[index]
    if not isinstance(container, list | tuple | str):
        raise ExprError(f"cannot index {type(container).__name__}")
    if isinstance(index, bool) or not isinstance(index, int | float) or int(index) != index:
        raise ExprError(f"index must be an integer, got {index!r}")
    i = int(index)
    if not -len(container) <= i < len(container):
        raise ExprError(f"index out of range: {i} (len {len(container)})")
    return container[i]


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"expected a bool, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed condition; :meth:`evaluate` binds names (``result``) and returns the value."""

    source: str
    tree: Node

    def evaluate(self, **names: Any) -> Any:
        return _evaluate(self.tree, names)

    def condition(self, **names: Any) -> bool:
        """Evaluate as a condition: anything but a bool is an error, as in Argo."""
        return _truth(self.evaluate(**names))


def parse(source: str) -> Expression:
    """Parse ``source``; raises :class:`ExprError` on syntax errors."""
    return Expression(source, _Parser(source).parse())


def evaluate_condition(source: str, result: Any) -> bool:
    """Evaluate an Argo condition with ``result`` bound to the measurement."""
    return parse(source).condition(result=result)


__all__ = ["ExprError", "Expression", "evaluate_condition", "parse"]
