"""An in-memory stand-in of the upload API as an ``httpx.MockTransport`` (runner unit tests).

``flaws`` plants defects: ``ownership`` (anyone reads any upload), ``no_completed`` (the event
stream ends without ``completed``), ``error_shape`` (refusals in plain text), ``crash`` (500).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

TOKENS = {"tok-alice-000000000000": "alice", "tok-bob-1111111111111111": "bob"}


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


@dataclass
class FakeApi:
    flaws: set[str] = field(default_factory=set)
    state: str = "completed"  # of every new upload ("processing": it never settles)
    failure_reason: str | None = None
    stream_limit: int | None = None  # event streams per user before a 429 (None: never)
    streams: dict[str, int] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "crash" in self.flaws:
            return httpx.Response(500, text="Internal Server Error")
        user = TOKENS.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if user is None:
            if "error_shape" in self.flaws:
                return httpx.Response(401, text="nope")
            return _error(401, "unauthorized", "missing or invalid bearer token")
        path = request.url.path
        if path == "/api/uploads" and request.method == "POST":
            return self._create(request, user)
        match = re.fullmatch(r"/api/uploads/([^/]+)(/events)?", path)
        if not match:
            return _error(404, "not_found", "no route")
        upload = self.uploads.get(match.group(1))
        if upload is None or (upload["user"] != user and "ownership" not in self.flaws):
            return _error(404, "not_found", "upload not found")
        if match.group(2):
            self.streams[user] = self.streams.get(user, 0) + 1
            if self.stream_limit is not None and self.streams[user] > self.stream_limit:
                if "stream_5xx" in self.flaws:
                    return _error(503, "unavailable", "redis is unavailable")
                return httpx.Response(429, json={"error": {"code": "too_many", "message": "limit"}},
                                      headers={"Retry-After": "5"})
            return self._events(upload)
        return httpx.Response(200, json=upload["body"])

    def _create(self, request: httpx.Request, user: str) -> httpx.Response:
        body = request.read()
        match = re.search(rb"boundary=(\S+)", request.headers.get("content-type", "").encode())
        if not match:
            return _error(400, "bad_request", "expected multipart/form-data with a boundary")
        part = body.split(b"--" + match.group(1))[1]
        content = part.split(b"\r\n\r\n", 1)[1][:-2]
        if not content:
            return _error(415, "unsupported_media_type", "empty file")
        uid = str(uuid.uuid4())
        digest = hashlib.sha256(content).hexdigest()
        out = {"id": uid, "state": self.state, "sha256": digest, "size_bytes": len(content),
               "failure_reason": self.failure_reason}
        self.uploads[uid] = {"user": user, "body": out}
        return httpx.Response(201, json=out, headers={"Location": f"/api/uploads/{uid}"})

    def _events(self, upload: dict[str, Any]) -> httpx.Response:
        uid = upload["body"]["id"]
        events = [(1, "state", {"state": "queued", "progress": 0}),
                  (2, "progress", {"state": "processing", "progress": 50, "stage": "x"})]
        if "no_completed" not in self.flaws:
            events.append((3, "completed", {"state": "completed", "progress": 100,
                                            "download": f"/api/uploads/{uid}/download"}))
        text = ": ping\n\n" + "".join(
            f"id: {i}\nevent: {name}\ndata: {json.dumps({'upload_id': uid, **data})}\n\n"
            for i, name, data in events)
        return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
