"""Every request the harness sends itself goes through one :class:`Prober`: budget, rate, scope.

The prober is where the stage's promises are kept: it sends only to the API's own origin (and the
harness' loopback listener), never an excluded operation, never more than the request budget and
never faster than the rate cap. It also turns an exchange into redacted evidence, naming each test
user's token by its owner (``Bearer <token of alice>``) so that a finding shows who sent what.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from harness.errors import HarnessError
from harness.stages.dast.spec import Exclusions

BODY_CHARS = 600
MAX_TEXT = 256 * 1024


class OutOfBudget(HarnessError):
    """The request budget is spent: the caller stops probing."""


@dataclass(slots=True)
class Req:
    """One request. ``root`` is the API's URL (with the document's base path), ``template`` the
    operation's path (or a concrete path), ``path_values`` fill its parameters."""

    method: str
    root: str
    template: str
    path_values: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    has_json: bool = False
    content: bytes | None = None
    user: str | None = None  # who sends it: a test user's name, None for anonymous

    @property
    def url(self) -> str:
        return self.root.rstrip("/") + fill_path(self.template, self.path_values)

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"

    def copy(self, **changes: Any) -> Req:
        """A copy (its dicts copied too) with ``changes`` applied."""
        fresh = {
            "headers": dict(self.headers),
            "params": dict(self.params),
            "path_values": dict(self.path_values),
        }
        return replace(self, **{**fresh, **changes})


@dataclass(slots=True)
class Resp:
    status: int
    headers: dict[str, str]
    text: str
    elapsed_s: float
    timed_out: bool = False

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def fill_path(template: str, values: Mapping[str, Any]) -> str:
    """``/a/{id}`` with ``id`` quoted as one path segment (quotes and slashes included)."""
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


class Prober:
    """Sends :class:`Req` within scope and budget; counts requests; thread-safe."""

    def __init__(
        self,
        api_url: str,
        *,
        exclusions: Exclusions | None = None,
        base_path: str = "",
        max_requests: int = 1000,
        rate_per_s: float | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.origin = _origin(api_url)
        self.exclusions, self.base_path = exclusions or Exclusions(), base_path
        self.max_requests, self.timeout_s = max_requests, timeout_s
        self.interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self.sent = 0
        self._lock, self._next_at = threading.Lock(), 0.0
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def remaining(self) -> int:
        return max(self.max_requests - self.sent, 0)

    def send(self, req: Req, *, timeout_s: float | None = None) -> Resp:
        """Send ``req``; raises :class:`OutOfBudget`, or ``ValueError`` for an out-of-scope request."""
        self._check_scope(req)
        self._take_turn()
        started = time.monotonic()
        try:
            response = self._http.request(
                req.method,
                req.url,
                headers=req.headers,
                params=req.params or None,
                json=req.json if req.has_json else None,
                content=req.content,
                timeout=timeout_s or self.timeout_s,
            )
        except httpx.TimeoutException:
            return Resp(0, {}, "", time.monotonic() - started, timed_out=True)
        except httpx.HTTPError as exc:
            return Resp(0, {}, f"<{type(exc).__name__}: {exc}>", time.monotonic() - started)
        text = response.content[:MAX_TEXT].decode(response.encoding or "utf-8", errors="replace")
        return Resp(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            text,
            time.monotonic() - started,
        )

    def _check_scope(self, req: Req) -> None:
        parts = urlsplit(req.url)
        if _origin(req.url) != self.origin:
            raise ValueError(f"refusing to send outside the API's origin: {parts.scheme}://{parts.netloc}")
        local = parts.path[len(self.base_path) :] if parts.path.startswith(self.base_path) else parts.path
        if self.exclusions.blocks(req.method, local):
            raise ValueError(f"refusing to send an excluded operation: {req.method} {local}")

    def _take_turn(self) -> None:
        with self._lock:
            if self.sent >= self.max_requests:
                raise OutOfBudget(f"request budget of {self.max_requests} spent")
            self.sent += 1
            wait = self._next_at - time.monotonic()
            self._next_at = max(self._next_at, time.monotonic()) + self.interval
        if wait > 0:
            time.sleep(wait)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def token_label(owner: str) -> str:
    return f"<token of {owner}>"


def label_tokens(text: str, tokens: Mapping[str, str]) -> str:
    """Replace each known token by ``<token of OWNER>`` (longest first; a form the redactor leaves alone)."""
    for owner, token in sorted(tokens.items(), key=lambda item: len(item[1]), reverse=True):
        if token:
            text = text.replace(token, token_label(owner))
    return text


def exchange(req: Req, resp: Resp, tokens: Mapping[str, str]) -> tuple[str, str]:
    """(request, response) as short text, tokens named by owner: the evidence of a finding."""
    query = "&".join(f"{k}={v}" for k, v in req.params.items())
    lines = [f"{req.method} {req.url}{'?' + query if query else ''}"]
    # The credential header is whichever carries a test user's token (the app's auth header).
    lines += [
        f"{k}: {v}"
        for k, v in req.headers.items()
        if k.lower() in ("authorization", "origin", "content-type", "cookie")
        or any(token and token in v for token in tokens.values())
    ]
    if req.has_json:
        lines.append("\n" + json.dumps(req.json, default=str)[:BODY_CHARS])
    elif req.content:
        lines.append(f"\n<{len(req.content)} bytes>")
    status = "timed out" if resp.timed_out else str(resp.status)
    answer = [f"{status} ({resp.elapsed_s:.2f}s)"]
    answer += [
        f"{k}: {v}"
        for k, v in resp.headers.items()
        if k
        in (
            "content-type",
            "location",
            "server",
            "access-control-allow-origin",
            "access-control-allow-credentials",
        )
    ]
    if resp.text:
        answer.append("\n" + resp.text[:BODY_CHARS] + ("…" if len(resp.text) > BODY_CHARS else ""))
    return label_tokens("\n".join(lines), tokens), label_tokens("\n".join(answer), tokens)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only (mode 0600 from the start: it holds tokens or passwords)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


__all__ = ["OutOfBudget", "Prober", "Req", "Resp", "exchange", "fill_path", "label_tokens", "token_label",
           "write_private"]
