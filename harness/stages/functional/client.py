"""HTTP for scenarios: every exchange recorded (tokens redacted later), raw bodies, multipart, SSE.

Multipart bodies are encoded here rather than by httpx so that scenarios can send what a browser
never would (duplicate fields, odd part headers, a streamed body without Content-Length).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.stages.functional.payloads import Payload

PREVIEW_BYTES = 2048


@dataclass(slots=True)
class Exchange:
    """One request and its answer, as evidence."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    started: float = 0.0
    elapsed_s: float = 0.0

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def as_vars(self) -> dict[str, Any]:
        body = self.json()
        return {"status": self.status, **(body if isinstance(body, dict) else {})}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "url": self.url, "request_headers": self.request_headers,
            "request_body": self.request_body, "status": self.status,
            "response_headers": self.response_headers,
            "response_body": self.body[:PREVIEW_BYTES].decode("utf-8", "replace"),
            "error": self.error, "t": round(self.started, 4), "elapsed_s": round(self.elapsed_s, 4),
        }


@dataclass(slots=True)
class SseEvent:
    t: float  # seconds since the stream was opened
    id: str | None
    event: str
    data: Any

    def to_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 4), "id": self.id, "event": self.event, "data": self.data}


@dataclass(slots=True)
class SseStream:
    exchange: Exchange
    events: list[SseEvent] = field(default_factory=list)
    comments: int = 0  # heartbeats
    ended_by: str = "server"  # server | client | deadline | error

    def as_vars(self) -> dict[str, Any]:
        ids = [e.id for e in self.events if e.id]
        return {"count": len(self.events), "last_id": ids[-1] if ids else "0",
                "names": [e.event for e in self.events], "status": self.exchange.status}


class Recorder:
    """Collects the exchanges of one scenario (thread-safe: ``repeat`` runs steps concurrently)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.origin = time.monotonic()
        self._lock = threading.Lock()

    def add(self, exchange: Exchange) -> Exchange:
        with self._lock:
            self.exchanges.append(exchange)
        return exchange


def encode_multipart(parts: list[dict[str, Any]], boundary: str) -> tuple[Iterator[bytes], int]:
    """``parts``: {name, filename?, content_type?, headers?, payload: Payload | bytes}."""
    heads, total = [], 0
    for part in parts:
        head = f"--{boundary}\r\n" + _disposition(part)
        if part.get("content_type") is not None:
            head += f"Content-Type: {part['content_type']}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (part.get("headers") or {}).items()) + "\r\n"
        encoded = head.encode("utf-8", "surrogateescape")
        heads.append(encoded)
        body = part["payload"]
        total += len(encoded) + (body.size if isinstance(body, Payload) else len(body)) + 2
    closing = f"--{boundary}--\r\n".encode()
    total += len(closing)

    def produce() -> Iterator[bytes]:
        for head, part in zip(heads, parts, strict=True):
            yield head
            body = part["payload"]
            yield from (body.chunks() if isinstance(body, Payload) else [body])
            yield b"\r\n"
        yield closing

    return produce(), total


def _disposition(part: dict[str, Any]) -> str:
    text = f'Content-Disposition: form-data; name="{part["name"]}"'
    if part.get("filename") is not None:
        text += f'; filename="{part["filename"]}"'
    return text + "\r\n"


class Api:
    """A recording client for one environment's API."""

    def __init__(self, base_url: str, recorder: Recorder, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.recorder = recorder
        self.transport = transport  # for clients of their own (many streams at once, see steps_abuse.hold)
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def send(self, method: str, path: str, *, headers: dict[str, str] | None = None,
             content: bytes | Iterable[bytes] | None = None, params: dict[str, Any] | None = None,
             preview: str = "") -> Exchange:
        headers = dict(headers or {})
        exchange = Exchange(method, self.url(path), headers, preview or _preview(content),
                            started=time.monotonic() - self.recorder.origin)
        began = time.monotonic()
        try:
            response = self.client.request(method, self.url(path), headers=headers, content=content,
                                           params=params)
            exchange.status = response.status_code
            exchange.response_headers = dict(response.headers)
            exchange.body = response.content
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
        exchange.elapsed_s = time.monotonic() - began
        return self.recorder.add(exchange)

    def events(self, path: str, *, headers: dict[str, str], params: dict[str, Any] | None = None,
               stop_after: int | None = None, deadline_s: float = 60.0) -> SseStream:
        """Read an SSE stream until the server ends it, ``stop_after`` events, or the deadline."""
        exchange = Exchange("GET", self.url(path), dict(headers), "",
                            started=time.monotonic() - self.recorder.origin)
        stream = SseStream(exchange)
        began = time.monotonic()
        timeout = httpx.Timeout(10.0, read=deadline_s)
        try:
            with self.client.stream("GET", self.url(path), headers=headers, params=params,
                                    timeout=timeout) as response:
                exchange.status = response.status_code
                exchange.response_headers = dict(response.headers)
                if response.status_code != 200:
                    exchange.body = response.read()
                else:
                    _read_events(response, stream, began, stop_after, deadline_s)
        except httpx.HTTPError as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            stream.ended_by = "deadline" if isinstance(exc, httpx.ReadTimeout) else "error"
        exchange.elapsed_s = time.monotonic() - began
        self.recorder.add(exchange)
        return stream


def _read_events(response: httpx.Response, stream: SseStream, began: float, stop_after: int | None,
                 deadline_s: float) -> None:
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in response.iter_lines():
        if time.monotonic() - began > deadline_s:
            stream.ended_by = "deadline"
            return
        if line.startswith(":"):
            stream.comments += 1
            continue
        if line:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
            continue
        if data or fields:
            stream.events.append(_event(time.monotonic() - began, fields, data))
            fields, data = {}, []
            if stop_after is not None and len(stream.events) >= stop_after:
                stream.ended_by = "client"
                return


def _event(t: float, fields: dict[str, str], data: list[str]) -> SseEvent:
    text = "\n".join(data)
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = text
    return SseEvent(t, fields.get("id"), fields.get("event", "message"), parsed)


def _preview(content: bytes | Iterable[bytes] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, bytes):
        return content[:PREVIEW_BYTES].decode("utf-8", "replace")
    return "<streamed body>"


__all__ = ["Api", "Exchange", "Recorder", "SseEvent", "SseStream", "encode_multipart"]
