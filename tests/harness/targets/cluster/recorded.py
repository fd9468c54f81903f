"""A kubernetes ``ApiClient`` whose REST layer answers recorded JSON (no network).

The client's own API classes, serialisation and model deserialisation run for real; only
``rest_client.request`` is replaced, so a test sees the exact method, path, query, content type and
body the driver would send to an API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kubernetes import client
from kubernetes.client.rest import RESTResponse

Answer = Any | Callable[[dict[str, Any]], Any]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any


@dataclass
class _Raw:
    status: int
    data: bytes
    reason: str = "OK"
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


class Recorded:
    """Routes ``(METHOD, path)`` to a JSON answer (or a function of the request); records every call."""

    def __init__(self, routes: dict[tuple[str, str], Answer]) -> None:
        self.routes = routes
        self.calls: list[Call] = []

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> RESTResponse:
        parts = urlsplit(url)
        call = Call(
            method,
            parts.path.rstrip("/"),
            dict(parse_qsl(parts.query)),
            (headers or {}).get("Content-Type"),
            body,
        )
        self.calls.append(call)
        answer = self.routes.get((method, call.path))
        if answer is None:
            raw = _Raw(
                404, json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"}).encode(), "Not Found"
            )
            return RESTResponse(raw)
        value = answer(call.__dict__) if callable(answer) else answer
        data = value.encode() if isinstance(value, str) else json.dumps(value).encode()
        return RESTResponse(
            _Raw(
                200,
                data,
                headers={"content-type": "text/plain" if isinstance(value, str) else "application/json"},
            )
        )

    def sent(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


def api_client(recorded: Recorded) -> client.ApiClient:
    api = client.ApiClient(client.Configuration(host="https://127.0.0.1:6443"))
    api.rest_client = recorded  # type: ignore[assignment]  # duck-typed: request() only
    return api


__all__ = ["Call", "Recorded", "api_client"]
