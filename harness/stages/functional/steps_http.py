"""Steps that talk to the API: upload, request, events (SSE), wait, download."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
import uuid
from typing import Any

import httpx

from harness.stages.functional.backends import sha256
from harness.stages.functional.client import Exchange, SseStream, encode_multipart
from harness.stages.functional.context import Context, StepFailed, StepSkipped, Upload, dig, subset_mismatch
from harness.stages.functional.payloads import Payload, make_payload

STREAM_ABOVE = 1024 * 1024
Scope = dict[str, Any] | None


def check_http(ctx: Context, exchange: Exchange, expect: dict[str, Any], default_status: Any) -> None:
    """Status, the one JSON error shape on every 4xx/5xx, error code/message, JSON subset, headers."""
    if exchange.status is None:
        raise StepFailed(f"{exchange.method} {exchange.url}: no answer ({exchange.error})")
    wanted = expect.get("status", default_status)
    allowed = wanted if isinstance(wanted, list) else [wanted] if wanted is not None else None
    status = exchange.status
    if allowed is not None and status not in allowed:
        raise StepFailed(f"{exchange.method} {_path(exchange)}: status {status}, expected "
                         f"{' or '.join(map(str, allowed))}; body: {_snippet(exchange)}")
    if allowed is None and status >= 500:
        raise StepFailed(f"{exchange.method} {_path(exchange)}: server error {status}: {_snippet(exchange)}")
    if status >= 400:
        _check_error_shape(exchange, expect.get("error") or {})
    if "json" in expect:
        gap = subset_mismatch(expect["json"], exchange.json())
        if gap:
            raise StepFailed(f"{exchange.method} {_path(exchange)}: body {gap}")
    for dotted, pattern in (expect.get("match") or {}).items():
        found, value = dig(exchange.json(), dotted)
        if not found or not re.search(pattern, str(value)):
            raise StepFailed(f"{exchange.method} {_path(exchange)}: {dotted}={value!r} !~ {pattern!r}")
    for dotted, length in (expect.get("lengths") or {}).items():
        found, value = dig(exchange.json(), dotted)
        if not found or not isinstance(value, list) or len(value) != int(length):
            raise StepFailed(f"{exchange.method} {_path(exchange)}: {dotted} has "
                             f"{len(value) if isinstance(value, list) else 'no'} items, expected {length}")
    for name, pattern in (expect.get("headers") or {}).items():
        value = exchange.response_headers.get(name.lower(), exchange.response_headers.get(name))
        if value is None or not re.search(pattern, value):
            raise StepFailed(f"{exchange.method} {_path(exchange)}: header {name}={value!r} !~ {pattern!r}")
    if "within_s" in expect and exchange.elapsed_s > float(expect["within_s"]):
        raise StepFailed(f"{exchange.method} {_path(exchange)}: took {exchange.elapsed_s:.2f}s "
                         f"> {expect['within_s']}s")


def _check_error_shape(exchange: Exchange, expected: dict[str, Any]) -> None:
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) \
            or not isinstance(error.get("message"), str):
        raise StepFailed(f"{exchange.method} {_path(exchange)}: status {exchange.status} without the JSON "
                         f"error shape {{error: {{code, message}}}}: {_snippet(exchange)}")
    if "code" in expected and error["code"] != expected["code"]:
        raise StepFailed(f"{exchange.method} {_path(exchange)}: error.code {error['code']!r}, "
                         f"expected {expected['code']!r} ({error['message']})")
    if "message" in expected and expected["message"].lower() not in error["message"].lower():
        raise StepFailed(f"{exchange.method} {_path(exchange)}: error.message {error['message']!r} "
                         f"does not mention {expected['message']!r}")


def _path(exchange: Exchange) -> str:
    return httpx.URL(exchange.url).raw_path.decode("ascii", "replace")[:120]


def _snippet(exchange: Exchange) -> str:
    return exchange.body[:300].decode("utf-8", "replace") or f"<{exchange.error or 'empty'}>"


def auth_headers(ctx: Context, user: str | None, auth: str | None = None) -> dict[str, str]:
    if auth == "none":
        return {}
    if auth == "revoked":
        if not ctx.backends.has_database:
            raise StepSkipped("a revoked token needs database_url")
        return ctx.app.auth(ctx.backends.create_user("revoked", revoked=True).token)
    if auth and auth != "bearer":
        return {ctx.app.auth_header: auth}
    return ctx.app.auth(ctx.user(user).token)


def no_row_left(ctx: Context) -> None:
    """The scenario's users own exactly the uploads the API accepted (refusals left no row)."""
    if not (ctx.isolated and ctx.backends.has_database) or ctx.concurrent:
        return
    ids = [u.id for u in ctx.users.values() if u.id]
    rows = ctx.backends.rows_of_users(ids)
    extra = sorted(set(rows) - set(ctx.uploads))
    if extra:
        raise StepFailed(f"a refused request left {len(extra)} upload row(s) behind: {', '.join(extra[:3])}")


def upload(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> Upload | None:
    payload = make_payload(spec["file"])
    exchange, accepted = send_upload(ctx, spec, payload)
    check_http(ctx, exchange, expect, 201)
    ctx.measure("last_upload_s", exchange.elapsed_s)
    if accepted is None:
        if expect.get("no_row_left", True):
            no_row_left(ctx)
        return None
    data = accepted.body
    if data.get("sha256") not in (None, payload.sha256):
        raise StepFailed(f"upload {accepted.id}: the API recorded sha256 {data.get('sha256')}, "
                         f"the harness sent {payload.sha256}")
    if data.get("size_bytes") not in (None, payload.size):
        raise StepFailed(f"upload {accepted.id}: size {data.get('size_bytes')} != sent {payload.size}")
    return accepted


def send_upload(ctx: Context, spec: dict[str, Any], payload: Payload) -> tuple[Exchange, Upload | None]:
    """POST ``payload`` as the multipart upload ``spec`` describes (user, filename, content_type,
    field, stream); an accepted upload is tracked even if a later check fails."""
    user = ctx.user(spec.get("user"))
    filename = spec.get("filename", f"{ctx.marker}-{uuid.uuid4().hex[:6]}.{payload.ext}")
    claim = spec.get("content_type", payload.mime)
    part = {"name": spec.get("field", "file"), "filename": filename, "content_type": claim or None,
            "payload": payload}
    boundary = "harness" + uuid.uuid4().hex
    body, _ = encode_multipart([part], boundary)
    headers = {**auth_headers(ctx, user.name), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    stream = spec.get("stream", payload.size > STREAM_ABOVE)
    content: Any = body if stream else b"".join(body)
    exchange = ctx.api.send("POST", ctx.app.route("uploads"), headers=headers, content=content,
                            preview=f"<multipart: {payload.kind}, {payload.size} bytes, name {filename!r}>")
    return exchange, _accepted(ctx, exchange, user.name, payload, filename)


def _accepted(ctx: Context, exchange: Exchange, user: str, payload: Payload, filename: str) -> Upload | None:
    data = exchange.json() if exchange.status == 201 else None
    if not isinstance(data, dict) or "id" not in data:
        return None
    upload = Upload(str(data["id"]), user, payload.sha256, payload.size, payload.kind, filename, data)
    ctx.accept(upload)
    return upload


def request(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> Exchange:
    headers = {**auth_headers(ctx, spec.get("user"), spec.get("auth")), **(spec.get("headers") or {})}
    pad = spec.get("pad_headers")
    if pad:
        headers.update({f"X-Pad-{i}": "p" * int(pad["size"]) for i in range(int(pad["count"]))})
    content: Any = None
    preview = ""
    if "body_text" in spec:
        content = str(spec["body_text"]).encode()
    elif "body_base64" in spec:
        content = base64.b64decode(spec["body_base64"])
    elif "json" in spec:
        content = json.dumps(spec["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "multipart" in spec:
        boundary = spec.get("boundary", "harness" + uuid.uuid4().hex)
        parts = [_part(p) for p in spec["multipart"]]
        body, _ = encode_multipart(parts, boundary)
        content = b"".join(body)
        headers.setdefault("Content-Type", f"multipart/form-data; boundary={boundary}")
        preview = content[:1024].decode("utf-8", "replace")
    if "content_type" in spec:
        headers["Content-Type"] = spec["content_type"]
    query = {k: str(v) for k, v in (spec.get("query") or {}).items()}
    exchange = ctx.api.send(spec["method"], spec["path"], headers=headers, content=content,
                            params=query or None, preview=preview)
    check_http(ctx, exchange, expect, None)
    is_upload = spec["method"] == "POST" and spec["path"].rstrip("/") == ctx.app.routes.get("uploads")
    if is_upload and (exchange.status or 0) >= 400 and expect.get("no_row_left", True):
        no_row_left(ctx)
    return exchange


def _part(spec: dict[str, Any]) -> dict[str, Any]:
    payload: Any = make_payload(spec["file"]) if "file" in spec else str(spec.get("text", "")).encode()
    return {"name": spec["name"], "filename": spec.get("filename"), "content_type": spec.get("content_type"),
            "headers": spec.get("headers"), "payload": payload}


def events(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> SseStream:
    target = ctx.upload(spec["of"], scope)
    user = spec.get("user", target.user)
    headers: dict[str, str] = {}
    params: dict[str, Any] = {}
    auth = spec.get("auth", "bearer")
    if auth == "bearer":
        headers.update(auth_headers(ctx, user))
    elif auth in ("stream_token", "other_upload_token"):
        params["token"] = _stream_token(ctx, target if auth == "stream_token" else _other(ctx, target), user)
    if "last_event_id" in spec:
        headers["Last-Event-ID"] = str(spec["last_event_id"])
    if "resume_from" in spec:
        params["resume_from"] = str(spec["resume_from"])
    deadline = float(expect.get("deadline_s", 60))
    stream = ctx.api.events(ctx.app.route("events", id=target.id), headers=headers, params=params or None,
                            stop_after=spec.get("stop_after"), deadline_s=deadline)
    try:
        check_http(ctx, stream.exchange, expect, 200)
        if stream.exchange.status == 200:
            check_sse(stream, expect, stopped_early=spec.get("stop_after") is not None)
    except StepFailed as exc:
        exc.detail = stream  # the transcript is the evidence of what went wrong
        raise
    if stream.exchange.status == 200:
        ctx.measure(f"sse_events_{spec['of']}", len(stream.events))
        if stream.events:
            ctx.measure(f"sse_last_event_s_{spec['of']}", stream.events[-1].t)
    return stream


def _other(ctx: Context, target: Upload) -> Upload:
    others = [u for u in ctx.uploads.values() if u.id != target.id]
    if not others:
        raise StepFailed("other_upload_token needs a second upload in the scenario")
    return others[0]


def _stream_token(ctx: Context, target: Upload, user: str) -> str:
    path = ctx.app.route("stream_token", id=target.id)
    exchange = ctx.api.send("POST", path, headers=auth_headers(ctx, user))
    check_http(ctx, exchange, {}, 200)
    token = (exchange.json() or {}).get("token")
    if not isinstance(token, str):
        raise StepFailed(f"stream-token: no token in {exchange.body[:200]!r}")
    return token


def sequence_regex(pattern: list[str]) -> re.Pattern[str]:
    """``[state, progress*, completed]`` -> a regex over space-terminated event names (``a|b``: either)."""
    parts = []
    for item in pattern:
        name, quantifier = (item[:-1], item[-1]) if item[-1] in "*+?" else (item, "")
        names = "|".join(re.escape(n) for n in name.split("|"))
        parts.append(f"(?:(?:{names}) ){quantifier}")
    return re.compile("^" + "".join(parts) + "$")


def check_sse(stream: SseStream, expect: dict[str, Any], *, stopped_early: bool) -> None:
    names = [e.event for e in stream.events]
    if stream.ended_by in ("deadline", "error"):
        raise StepFailed(f"SSE: stream did not end within {expect.get('deadline_s', 60)}s "
                         f"({stream.exchange.error or stream.ended_by}); events so far: {names}")
    if "sequence" in expect and not sequence_regex(expect["sequence"]).match("".join(n + " " for n in names)):
        raise StepFailed(f"SSE: events {names} do not match {expect['sequence']}")
    ids = [int(e.id) if e.id and e.id.isdigit() else None for e in stream.events]
    if any(i is None for i in ids):
        raise StepFailed(f"SSE: every event needs a numeric id; got {[e.id for e in stream.events]}")
    if any(b is not None and a is not None and b <= a for a, b in itertools.pairwise(ids)):
        raise StepFailed(f"SSE: event ids must increase; got {ids}")
    if "ids_after" in expect and ids and min(i for i in ids if i is not None) <= int(expect["ids_after"]):
        raise StepFailed(f"SSE: resumed after id {expect['ids_after']} but got ids {ids}")
    for event in stream.events:
        for name in (expect.get("fields") or {}).get(event.event, []):
            if not dig(event.data, name)[0]:
                raise StepFailed(f"SSE: `{event.event}` (id {event.id}) lacks field {name!r}: {event.data}")
        gap = subset_mismatch((expect.get("values") or {}).get(event.event, {}), event.data)
        if gap:
            raise StepFailed(f"SSE: `{event.event}` (id {event.id}): {gap}")
    if not stopped_early and stream.events and stream.events[-1].event not in ("completed", "failed"):
        raise StepFailed(f"SSE: the stream ended after `{names[-1]}`, not after completed/failed")


def wait(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, Any]:
    target = ctx.upload(spec["of"], scope)
    state, timeout = spec.get("state", "completed"), float(spec.get("timeout_s", 90))
    headers = auth_headers(ctx, spec.get("user", target.user))
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = ctx.api.client.get(ctx.app.route("upload", id=target.id), headers=headers)
        last = response.json() if response.status_code == 200 else {"status": response.status_code}
        if last.get("state") == state:
            return last
        if last.get("state") in ("completed", "failed"):
            raise StepFailed(f"upload {target.id} ended {last['state']} ({last.get('failure_reason')}), "
                             f"expected {state}")
        time.sleep(0.2)
    raise StepFailed(f"upload {target.id} not {state} after {timeout:.0f}s (last: {last})")


def _check_result(target: Upload, result: Exchange, expect: dict[str, Any]) -> None:
    """What a result must not carry (``free_of``) and how it must be served (``result_headers``)."""
    kept = [m for m in expect.get("free_of") or [] if str(m).encode() in result.body]
    if kept:
        raise StepFailed(f"hostile content: the result of {target.id} still contains {', '.join(kept)}")
    for name, pattern in (expect.get("result_headers") or {}).items():
        value = result.response_headers.get(name.lower())
        if value is None or not re.search(pattern, value):
            raise StepFailed(f"hostile content: the result of {target.id} is served with {name}={value!r}, "
                             f"not ~ {pattern!r}")


def download(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> Exchange:
    target = ctx.upload(spec["of"], scope)
    exchange = ctx.api.send("GET", ctx.app.route("download", id=target.id),
                            headers=auth_headers(ctx, spec.get("user", target.user)))
    check_http(ctx, exchange, expect, 200)
    if exchange.status != 200:
        return exchange
    links = exchange.json() or {}
    result = ctx.api.send("GET", str(links.get("url")))
    check_http(ctx, result, {}, 200)
    _check_result(target, result, expect)
    got = sha256(result.body)
    manifest = links.get("manifest") or {}
    compare = spec.get("compare", "manifest")
    if compare == "manifest" and got != dig(manifest, "result.sha256")[1]:
        raise StepFailed(f"download {target.id}: sha256 {got} != the manifest's result "
                         f"{dig(manifest, 'result.sha256')[1]}")
    if compare == "identical" and got != target.sha256:
        raise StepFailed(f"download {target.id}: the result differs from the uploaded file")
    if compare == "differs" and got == target.sha256:
        raise StepFailed(f"download {target.id}: the result is the uploaded file unchanged")
    served = ctx.api.send("GET", str(links.get("manifest_url")))
    check_http(ctx, served, {}, 200)
    if served.json() != manifest:
        raise StepFailed(f"download {target.id}: manifest_url serves a different manifest than the API")
    ctx.measure("downloaded_bytes", len(result.body))
    return exchange


__all__ = [
    "auth_headers",
    "check_http",
    "check_sse",
    "download",
    "events",
    "no_row_left",
    "request",
    "send_upload",
    "sequence_regex",
    "upload",
    "wait",
]
