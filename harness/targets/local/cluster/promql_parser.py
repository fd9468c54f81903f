"""A recursive-descent parser for the PromQL subset :mod:`harness.targets.local.cluster.promql` evaluates."""

from __future__ import annotations

import re
from typing import Any

from harness.targets.local.cluster.analysis import parse_duration

_TOKEN = re.compile(
    r"\s*(?:(?P<dur>\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h))*)(?![\w.])"
    r"|(?P<num>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[Nn]a[Nn]|[Ii]nf)"
    r"|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<op>=~|!~|!=|==|>=|<=|[-+*/(){}\[\],=<>]))"
)
_AGGREGATIONS = {"sum", "avg", "min", "max", "count"}
_COMPARISONS = {">", "<", ">=", "<=", "==", "!="}
Node = tuple[Any, ...]


class PromQLError(ValueError):
    """The query uses PromQL outside the supported subset, or is malformed."""


def _tokenise(query: str) -> list[tuple[str, str]]:
    tokens, pos, query = [], 0, query.strip()
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            raise PromQLError(f"unexpected character at {pos}: {query[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    tokens.append(("end", ""))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokenise(query)
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos][1]

    def take(self, expected: str | None = None) -> tuple[str, str]:
        tok = self.tokens[self.pos]
        if expected is not None and tok[1] != expected:
            raise PromQLError(f"expected {expected!r}, got {tok[1] or 'end'!r}")
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.tokens[self.pos][0] != "end":
            raise PromQLError(f"unexpected {self.peek()!r}")
        return node

    def expr(self) -> Node:
        node = self.comparison()
        while self.peek() == "or":
            self.take()
            node = ("or", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.additive()
        while self.peek() in _COMPARISONS:
            op = self.take()[1]
            node = ("cmp", op, node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            node = ("bin", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            node = ("bin", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() == "-":
            self.take()
            return ("bin", "*", ("num", -1.0), self.unary())
        return self.primary()

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return ("num", float(text))
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        if text == "{":
            self.pos -= 1
            return self.selector("")
        if kind != "name":
            raise PromQLError(f"unexpected {text!r}")
        if text in _AGGREGATIONS:
            return self.aggregation(text)
        if self.peek() == "(":
            return ("call", text, self.arguments())
        return self.selector(text)

    def arguments(self) -> list[Node]:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.expr())
            if self.peek() != ",":
                break
            self.take(",")
        self.take(")")
        return args

    def aggregation(self, op: str) -> Node:
        grouping = self.grouping()
        args = self.arguments()
        grouping = grouping or self.grouping()
        if len(args) != 1:
            raise PromQLError(f"{op}() takes one argument")
        return ("agg", op, grouping, args[0])

    def grouping(self) -> tuple[str, tuple[str, ...]] | None:
        if self.peek() not in ("by", "without"):
            return None
        mode = self.take()[1]
        self.take("(")
        labels = []
        while self.peek() != ")":
            labels.append(self.take()[1])
            if self.peek() == ",":
                self.take(",")
        self.take(")")
        return (mode, tuple(labels))

    def selector(self, name: str) -> Node:
        matchers: list[tuple[str, str, str]] = [("__name__", "=", name)] if name else []
        if self.peek() == "{":
            self.take("{")
            while self.peek() != "}":
                label = self.take()[1]
                op = self.take()[1]
                value = self.take()[1]
                matchers.append((label, op, bytes(value[1:-1], "utf-8").decode("unicode_escape")))
                if self.peek() == ",":
                    self.take(",")
            self.take("}")
        window = None
        if self.peek() == "[":
            self.take("[")
            window = parse_duration(self.take()[1])
            self.take("]")
        return ("sel", tuple(matchers), window)


def parse(query: str) -> Node:
    """Parse ``query`` into a small tree; raises :class:`PromQLError` outside the subset."""
    return _Parser(query).parse()


__all__ = ["Node", "PromQLError", "parse"]
