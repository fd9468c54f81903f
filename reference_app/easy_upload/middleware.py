"""One pure-ASGI middleware for what every response needs (pure ASGI keeps streaming unbuffered):
request ids, JSON access logs, metrics, security and version headers, header/body limits (the body
counted as it is read, and bounded in time: guard.py) and the fault injection used by canary tests."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from easy_upload.guard import BodyGuard, BodyPolicy
from easy_upload.logs import request_id_var
from easy_upload.metrics import Metrics
from easy_upload.settings import Settings

log = logging.getLogger("easy_upload.access")
MAX_HEADER_COUNT = 64
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024  # every endpoint but the upload takes (almost) no body
UPLOAD_OVERHEAD_BYTES = 1024 * 1024  # multipart framing allowance over MAX_UPLOAD_BYTES
UNFAULTED = ("/healthz", "/readyz", "/metrics")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: {storage}; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


def storage_origin(settings: Settings) -> str:
    """Where presigned links point (the page shows the thumbnail from there)."""
    if settings.presign_endpoint_url:
        parts = urlsplit(settings.presign_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return (
        f"https://{settings.processed_bucket}.s3.{settings.aws_region}.amazonaws.com "
        f"https://s3.{settings.aws_region}.amazonaws.com"
    )


def security_headers(path: str, version: str, storage: str) -> list[tuple[bytes, bytes]]:
    page = path == "/" or path.startswith("/static/")
    headers = {
        "content-security-policy": PAGE_CSP.format(storage=storage) if page else API_CSP,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "x-app-version": version,
    }
    if not page:
        headers["cache-control"] = "no-store"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


def _json_response(status: int, code: str, message: str, request_id: str) -> tuple[Message, Message]:
    body = json.dumps({"error": {"code": code, "message": message, "request_id": request_id}}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class EdgeMiddleware:
    """Everything that wraps a request before the router sees it and after the app answered."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics) -> None:
        self.app, self.settings, self.metrics = app, settings, metrics
        self.random = random.Random()
        self.storage = storage_origin(settings)

    def body_limit(self, scope: Scope) -> int:
        is_upload = scope["path"] == "/api/uploads" and scope["method"] == "POST"
        return self.settings.max_upload_bytes + UPLOAD_OVERHEAD_BYTES if is_upload else MAX_BODY_BYTES

    def body_policy(self, scope: Scope) -> BodyPolicy:
        s = self.settings
        return BodyPolicy(self.body_limit(scope), s.body_idle_timeout_s, s.body_grace_s, s.body_min_rate_bps)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if len(headers) > MAX_HEADER_COUNT or sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            return 431, "request_header_fields_too_large", "too many or too large request headers"
        length = dict(headers).get(b"content-length")
        limit = self.body_limit(scope)
        # A claim over the limit is refused at once; the bytes actually read are counted by BodyGuard.
        if length is not None and (not length.isdigit() or int(length) > limit):
            return 413, "payload_too_large", f"request body larger than {limit} bytes"
        return None

    async def _fault(self, scope: Scope) -> bool:
        if scope["path"] in UNFAULTED:
            return False
        if self.settings.fault_latency_ms:
            await asyncio.sleep(self.settings.fault_latency_ms / 1000)
        return self.random.random() < self.settings.fault_error_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started, status = time.perf_counter(), [500]
        extra = [
            *security_headers(scope["path"], self.settings.app_version, self.storage),
            (b"x-request-id", request_id.encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is None and await self._fault(scope):
                refusal = (500, "injected_fault", "fault injected by FAULT_ERROR_RATE")
            if refusal is not None:
                for message in _json_response(*refusal, request_id):
                    await send_with_headers(message)
                return
            await self.app(scope, BodyGuard(receive, self.body_policy(scope)), send_with_headers)
        finally:
            self._observe(scope, status[0], time.perf_counter() - started)
            request_id_var.reset(token)

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or (
            "/static" if scope["path"].startswith("/static/") else "unmatched"
        )
        labels = (template, scope["method"], str(status), self.settings.app_version)
        self.metrics.requests.labels(*labels).inc()
        self.metrics.latency.labels(*labels).observe(elapsed)
        if template not in ("/healthz", "/readyz", "/metrics"):
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
