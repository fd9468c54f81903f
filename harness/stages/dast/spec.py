"""The OpenAPI document the scan works from: where it comes from, its operations, what is excluded.

``[dast] spec`` is a URL or a file (default ``{api_url}/openapi.json``). Operations to exclude are
``"METHOD /path/{template}"`` strings (``*`` for any method); the scan gets a copy of the document
without them, and :class:`Exclusions` is also consulted before every request the harness itself
sends, so an excluded operation (say a destructive ``GET /createdb``) is never called.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from harness.errors import ConfigError, StageError

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def template_regex(template: str) -> re.Pattern[str]:
    """``/a/{id}/b`` -> a regex matching concrete paths (one segment per parameter)."""
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$")


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Operations never to call: ``(method or "*", path template)`` pairs."""

    entries: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, items: list[Any], where: str = "[dast] exclude_operations") -> Exclusions:
        entries = []
        for item in items:
            method, _, path = str(item).strip().partition(" ")
            if not path.strip().startswith("/") or not re.fullmatch(r"\*|[A-Za-z]+", method):
                raise ConfigError(f"{where}: {item!r} is not 'METHOD /path' (e.g. 'GET /createdb')")
            entries.append((method.upper(), path.strip()))
        return cls(tuple(entries))

    def blocks(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` (concrete or template path) is excluded."""
        return any(
            m in ("*", method.upper()) and (template_regex(t).match(path) or t == path)
            for m, t in self.entries
        )


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    definition: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]
    body_schema: dict[str, Any] | None
    secured: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def params(self, location: str) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p.get("in") == location]

    @property
    def tags(self) -> list[str]:
        return [str(t) for t in self.definition.get("tags", [])]


@dataclass(slots=True)
class ApiSpec:
    document: dict[str, Any]
    source: str
    base_path: str = ""
    exclusions: Exclusions = field(default_factory=Exclusions)

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """``node`` with local ``$ref``s followed (bounded depth: recursive schemas stay references)."""
        if isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 8:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"), {})
                    if isinstance(target, dict)
                    else {}
                )
            return self.resolve(target, depth + 1)
        if isinstance(node, dict) and depth < 8:
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list) and depth < 8:
            return [self.resolve(v, depth + 1) for v in node]
        return node

    def operations(self, *, include_excluded: bool = False) -> list[Operation]:
        found = []
        for path, item in self.document.get("paths", {}).items():
            if not isinstance(item, dict):
                continue
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    operation = self._operation(method.upper(), path, item, item[method])
                    if include_excluded or not self.exclusions.blocks(operation.method, path):
                        found.append(operation)
        return found

    def _operation(self, method: str, path: str, item: dict[str, Any], op: dict[str, Any]) -> Operation:
        params = {
            (p.get("in"), p.get("name")): p
            for p in (self.resolve(x) for x in [*item.get("parameters", []), *op.get("parameters", [])])
            if isinstance(p, dict)
        }
        content = self.resolve(op.get("requestBody", {})).get("content", {})
        json_media = next((m for m in content if "json" in m), None)
        body = content[json_media].get("schema") if json_media else None
        security = op.get("security", self.document.get("security", []))
        return Operation(
            method,
            path,
            op,
            tuple(params.values()),
            body if isinstance(body, dict) else None,
            bool(security) and any(bool(s) for s in security),
        )

    def documented(self, method: str, path: str) -> bool:
        """Whether a concrete request path (below the base path) is an operation of the document."""
        local = path[len(self.base_path) :] if self.base_path and path.startswith(self.base_path) else path
        return any(
            o.method == method.upper() and template_regex(o.path).match(local)
            for o in self.operations(include_excluded=True)
        )

    def filtered_document(self) -> dict[str, Any]:
        """The document without the excluded operations (what the scanners are given)."""
        paths: dict[str, Any] = {}
        for path, item in self.document.get("paths", {}).items():
            kept = (
                {k: v for k, v in item.items() if not (k in METHODS and self.exclusions.blocks(k, path))}
                if isinstance(item, dict)
                else item
            )
            if not isinstance(kept, dict) or any(k in METHODS for k in kept):
                paths[path] = kept
        return {**self.document, "paths": paths}

    def template_url(self, url: str) -> str:
        """A concrete URL shown as its operation's template (findings name ``/notes/{id}``, not each id)."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{self.template(parts.path)}"

    def template(self, path: str) -> str:
        """A concrete path -> the operation template it matches (itself when none does)."""
        local = path[len(self.base_path) :] if self.base_path and path.startswith(self.base_path) else path
        ordered = sorted(self.document.get("paths", {}), key=lambda p: p.count("{"))
        match = next((t for t in ordered if template_regex(t).match(local)), None)
        return self.base_path + match if match else path


def load_spec(source: str, api_url: str, *, root: Path, exclusions: Exclusions) -> ApiSpec:
    """Read the OpenAPI document from a URL or a file; errors name ``[dast] spec``."""
    if re.match(r"^https?://", source):
        try:
            response = httpx.get(source, timeout=15.0, follow_redirects=True)
            response.raise_for_status()
            text = response.text
        except httpx.HTTPError as exc:
            raise StageError(f"[dast] spec: cannot fetch the OpenAPI document {source}: {exc}") from None
    else:
        path = Path(source).expanduser()
        path = path if path.is_absolute() else root / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"[dast] spec: {path}: {exc.strerror}") from None
    document = _parse(text, source)
    return ApiSpec(document, source, _base_path(document, api_url), exclusions)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise StageError(f"[dast] spec: {source} is neither JSON nor YAML: {str(exc)[:200]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise StageError(f"[dast] spec: {source} is not an OpenAPI document (no 'paths')")
    return document


def _base_path(document: dict[str, Any], api_url: str) -> str:
    """The path prefix of ``servers[0].url`` when it is relative or on the API's own origin."""
    servers = document.get("servers") or [{}]
    url = str(servers[0].get("url", "")) if isinstance(servers[0], dict) else ""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.netloc and parts.netloc != api.netloc:
        return ""
    return parts.path.rstrip("/")


def example_value(schema: Any, name: str = "") -> Any:
    """A small valid value for ``schema`` (resolved): example/default/enum first, then by type."""
    if not isinstance(schema, dict):
        return "harness"
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if kind == "object":
        required = schema.get("required", [])
        return {k: example_value(v, k) for k, v in schema.get("properties", {}).items() if k in required}
    if kind == "array":
        return [example_value(schema.get("items", {}))] if schema.get("minItems") else []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return _example_string(schema, name)


def _example_string(schema: dict[str, Any], name: str) -> str:
    fmt = str(schema.get("format", ""))
    if fmt == "email" or "email" in name.lower():
        return "harness.probe@example.com"
    if fmt in ("uri", "url"):
        return "http://127.0.0.1/"
    text = "harness-probe"
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text + "x" * max(minimum - len(text), 0)
    return text[: int(maximum)] if maximum is not None else text


__all__ = ["METHODS", "ApiSpec", "Exclusions", "Operation", "example_value", "load_spec", "template_regex"]
