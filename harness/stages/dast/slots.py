"""Where an attack puts its payload: one :class:`Slot` per parameter of an operation.

A slot is a path, query or header parameter, or a top-level property of a JSON body. Attacks take a
request Schemathesis generated (valid for the operation) and change exactly one slot, so the rest
of the request still gets past validation and reaches the code under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req

URL_NAME = re.compile(
    r"(?:^|_|-)(?:url|uri|link|href|callback|webhook|endpoint|feed|image|avatar|redirect|"
    r"target|dest|destination|src|source|host)(?:$|_|-)|(?:Url|Uri)$",
    re.IGNORECASE,
)
# Never attacked: the credentials themselves (with the app's own auth header, see slots()).
CREDENTIAL_HEADERS = {"authorization", "cookie", "x-api-key", "api-key"}


@dataclass(frozen=True, slots=True)
class Slot:
    location: str  # "path" | "query" | "header" | "body"
    name: str
    schema: dict[str, Any]

    @property
    def label(self) -> str:
        return (
            f"{self.location} parameter '{self.name}'"
            if self.location != "body"
            else f"body property '{self.name}'"
        )

    @property
    def is_string(self) -> bool:
        return self.schema.get("type", "string") == "string" and "enum" not in self.schema

    @property
    def is_url(self) -> bool:
        return self.is_string and (
            self.schema.get("format") in ("uri", "url", "iri") or bool(URL_NAME.search(self.name))
        )

    def value(self, req: Req) -> Any:
        if self.location == "path":
            return req.path_values.get(self.name)
        if self.location == "query":
            return req.params.get(self.name)
        if self.location == "header":
            return next((v for k, v in req.headers.items() if k.lower() == self.name.lower()), None)
        return req.json.get(self.name) if isinstance(req.json, dict) else None

    def put(self, req: Req, value: Any) -> Req:
        """A copy of ``req`` with this slot set to ``value`` (query values are sent as given)."""
        if self.location == "path":
            return req.copy(path_values={**req.path_values, self.name: value})
        if self.location == "query":
            return req.copy(params={**req.params, self.name: value})
        if self.location == "header":
            headers = {k: v for k, v in req.headers.items() if k.lower() != self.name.lower()}
            return req.copy(headers={**headers, self.name: str(value)})
        body = dict(req.json) if isinstance(req.json, dict) else {}
        return req.copy(json={**body, self.name: value}, has_json=True, content=None)


def slots(operation: Operation, req: Req, auth_header: str) -> list[Slot]:
    """Every parameter of ``operation`` that ``req`` can carry a payload in; neither a credential
    header nor the app's ``auth_header`` (its profile's ``auth.header``) is one."""
    credentials = CREDENTIAL_HEADERS | {auth_header.lower()}
    found = [
        Slot(p["in"], str(p["name"]), p.get("schema", {}) if isinstance(p.get("schema"), dict) else {})
        for p in operation.parameters
        if p.get("in") in ("path", "query", "header") and str(p.get("name", "")).lower() not in credentials
    ]
    body = operation.body_schema or {}
    if req.has_json and isinstance(req.json, dict) and body.get("type", "object") == "object":
        properties = body.get("properties", {}) if isinstance(body.get("properties"), dict) else {}
        names = [*properties, *(k for k in req.json if k not in properties)]
        found += [
            Slot("body", str(n), properties.get(n, {}) if isinstance(properties.get(n), dict) else {})
            for n in names
            if isinstance(req.json.get(n, ""), str | int | float)
        ]
    return found


def base_text(value: Any, slot: Slot) -> str:
    """The slot's current value as text, or a harmless stand-in when it has none."""
    if value is None or isinstance(value, dict | list):
        return "1" if slot.schema.get("type") in ("integer", "number") else "harness"
    return str(value)


__all__ = ["Slot", "base_text", "slots"]
