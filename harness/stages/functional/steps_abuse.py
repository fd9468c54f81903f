"""Steps that abuse the app the way issue 17 did: hostile files, one user hogging, slow clients.

* ``hostile``: a catalog file (:mod:`hostile`) uploaded while the memory of a component's replicas
  is sampled through the Control; fails when one replica grew past the job budget the manifests
  declare, when the upload is not final within its settle bound, or when its reason leaks internals.
* ``hold``: one user opens ``count`` event streams at once and keeps them open while the ``during``
  steps (another user's flow) run; fails when the abuser gets a 5xx or is never refused with the
  expected status (429), or when the other user's flow breaks.
* ``slow``: a raw socket trickles headers or a body, stalls mid-body (a Content-Length that lies),
  or sends a chunked body with a long epilogue after its closing boundary, while ``during`` runs;
  fails when the server neither answers (408/413) nor closes within the declared bound, or answers
  something else (a 201 for an epilogue past the size limit).

Every bound or budget is written into ``measured`` with where it came from (the scenario's
``source``, the manifests, the Control), and the messages start with the class they guard.
"""

from __future__ import annotations

import contextlib
import re
import select
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.stages.functional.budget import MIB, MemorySampler, job_budget
from harness.stages.functional.context import Context, StepFailed, StepSkipped, Upload
from harness.stages.functional.hostile import hostile_file
from harness.stages.functional.payloads import from_bytes
from harness.stages.functional.steps_env import control_of
from harness.stages.functional.steps_http import auth_headers, send_upload

Scope = dict[str, Any] | None
During = Callable[[], list[str]]  # runs the nested steps; returns the broken ones' messages
REFUSED = (201, 400, 413, 415, 422)  # a hostile file may be accepted (then failed) or refused
SLOW = "slow and lying clients"  # the class names of tests/fixtures/planted/EXPECTED.yaml


def hostile(ctx: Context, spec: dict[str, Any], expect: dict[str, Any],
            scope: Scope) -> Upload | dict[str, Any]:
    """Upload a catalog case; check the memory budget, the settling time and the reason. Returns the
    upload when accepted (``as:`` names it for a later ``download``), else what was observed."""
    case = str(spec["case"])
    size = int(spec.get("size", 1))
    kind, data = hostile_file(case, size)
    sampler = MemorySampler(control_of(ctx), str(spec["sample"])) if spec.get("sample") else None
    budget = None
    if sampler is not None and expect.get("budget"):
        budget = job_budget(ctx, sampler.control, sampler.component, str(expect["budget"]["divide_by"]))
    settle = expect.get("settle") or {"within_s": 60, "source": "default"}
    began = time.monotonic()
    with sampler or contextlib.nullcontext():
        exchange, accepted = send_upload(ctx, spec, from_bytes(kind, data))
        row = _final_row(ctx, accepted, began + float(settle["within_s"])) if accepted else None
    took = time.monotonic() - began
    replica, rise = sampler.rise if sampler is not None else ("-", 0)
    facts: dict[str, Any] = {"case": case, "size": size, "bytes": len(data), "status": exchange.status,
                             "state": (row or {}).get("state"), "settle_s": round(took, 2),
                             "rise_mib": round(rise / MIB, 1), "replica": replica}
    _measure(ctx, case, facts, budget.source if budget else None, settle)
    if exchange.status is None or exchange.status not in expect.get("status", REFUSED):
        raise StepFailed(f"hostile content: {case} ({len(data)} B) answered {exchange.status}, expected "
                         f"{expect.get('status', REFUSED)}")
    if budget is not None and rise > budget.bytes:
        raise _failed(f"resource budget: {case} ({len(data)} B) grew {replica} by {rise // MIB} MiB, over "
                      f"the budget of {budget.bytes // MIB} MiB per job ({budget.source})", facts)
    if accepted is None:
        return facts
    _check_final(case, accepted, row, expect, settle, took, facts)
    return accepted


def _final_row(ctx: Context, upload: Upload, deadline: float) -> dict[str, Any] | None:
    """The upload's row once final (completed/failed), or the last one seen at the deadline."""
    headers = auth_headers(ctx, upload.user)
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        response = ctx.api.client.get(f"/api/uploads/{upload.id}", headers=headers)
        last = response.json() if response.status_code == 200 else last
        if last is not None and last.get("state") in ("completed", "failed"):
            return last
        time.sleep(0.1)
    return last


def _check_final(case: str, upload: Upload, row: dict[str, Any] | None, expect: dict[str, Any],
                 settle: dict[str, Any], took: float, facts: dict[str, Any]) -> None:
    state = (row or {}).get("state")
    if state not in ("completed", "failed"):
        raise _failed(f"settling: {case} upload {upload.id} still {state!r} after {took:.1f} s; bound "
                      f"{settle['within_s']} s ({settle.get('source', 'scenario')})", facts)
    wanted = expect.get("state", ["completed", "failed"])
    if state not in (wanted if isinstance(wanted, list) else [wanted]):
        raise _failed(f"hostile content: {case} ended {state}, expected {wanted} "
                      f"({(row or {}).get('failure_reason')})", facts)
    reason = str((row or {}).get("failure_reason") or "")
    pattern = expect.get("reason_not_match")
    if pattern and re.search(str(pattern), reason):
        raise _failed(f"settling: {case} failed with a reason that leaks internals ({reason[:120]!r} "
                      f"matches {pattern!r})", facts)


def _measure(ctx: Context, case: str, facts: dict[str, Any], budget_source: str | None,
             settle: dict[str, Any]) -> None:
    key = re.sub(r"[^a-z0-9]+", "_", f"{case}_{facts['size']}")
    ctx.measure(f"{key}_rise_mib", facts["rise_mib"])
    ctx.measure(f"{key}_settle_s", facts["settle_s"])
    ctx.measure(f"{key}_state", str(facts["state"] or f"refused {facts['status']}"))
    ctx.measure(f"{key}_settle_bound", f"{settle['within_s']} s ({settle.get('source', 'scenario')})")
    if budget_source:
        ctx.measure("memory_budget", budget_source)


def _failed(message: str, detail: Any) -> StepFailed:
    error = StepFailed(message)
    error.detail = detail
    return error


# -- one user hogs: event streams held ------------------------------------------------------------


def hold(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope,
         during: During) -> dict[str, Any]:
    """One user opens ``streams.count`` event streams of an upload and keeps them while ``during`` runs."""
    streams = spec["streams"]
    target = ctx.upload(str(streams["of"]), scope)
    headers = auth_headers(ctx, streams.get("user", target.user))
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    client = httpx.Client(base_url=ctx.env.api_url, limits=limits, timeout=httpx.Timeout(15.0),
                          transport=ctx.api.transport)
    held: list[httpx.Response] = []
    statuses: Counter[int] = Counter()
    first: dict[str, Any] = {}
    try:
        for n in range(1, int(streams["count"]) + 1):
            request = client.build_request("GET", f"/api/uploads/{target.id}/events", headers=headers)
            response = client.send(request, stream=True)
            statuses[response.status_code] += 1
            if response.status_code == 200:
                held.append(response)
                continue
            response.read()
            response.close()
            first = first or {"at": n, "status": response.status_code, "headers": dict(response.headers),
                              "body": response.text[:200]}
        broken = during()
    finally:
        for response in held:
            response.close()
        client.close()
    facts = {"requested": int(streams["count"]), "held": len(held), "statuses": dict(statuses),
             "first_refusal": first}
    ctx.measure("streams_held", len(held))
    ctx.measure("first_refusal_at", first.get("at", 0))
    _check_hold(expect, facts, broken)
    return facts


def _check_hold(expect: dict[str, Any], facts: dict[str, Any], broken: list[str]) -> None:
    statuses, first = facts["statuses"], facts["first_refusal"]
    errors = {s: n for s, n in statuses.items() if s >= 500}
    if errors:
        raise _failed(f"fairness: the user holding streams got server errors {errors} (expected a "
                      f"{expect.get('refused', 429)} for them alone)", facts)
    if broken:
        raise _failed(f"fairness: while one user held {facts['held']} streams, another user's step "
                      f"broke: {broken[0]}", facts)
    refused = int(expect.get("refused", 429))
    if first.get("status") != refused:
        raise _failed(f"fairness: one user opened {facts['requested']} streams and was never refused "
                      f"with {refused} (statuses {statuses}): no per-user limit", facts)
    for name, pattern in (expect.get("refusal_headers") or {}).items():
        value = {k.lower(): v for k, v in first["headers"].items()}.get(name.lower())
        if value is None or not re.search(str(pattern), value):
            raise _failed(f"fairness: the {refused} lacks {name} ~ {pattern!r} (got {value!r})", facts)


# -- slow and lying clients -----------------------------------------------------------------------


def slow(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope,
         during: During) -> dict[str, Any]:
    """A raw connection that trickles (``header``/``body``) or stalls (``stall``), while ``during`` runs."""
    mode, bound = str(spec["mode"]), expect["closed_within"]
    limit = float(bound["s"])
    outcome: dict[str, Any] = {}
    address = _address(ctx, spec)  # a skip is raised here, not in the thread
    worker = threading.Thread(target=lambda: outcome.update(_trickle(ctx, spec, limit, address)),
                              daemon=True, name="slow-client")
    worker.start()
    broken = during()
    worker.join(limit + 30)
    facts = {"mode": mode, "bound_s": limit, "bound_source": bound.get("source", "scenario"), **outcome}
    ctx.measure(f"slow_{mode}_s", outcome.get("after_s", -1))
    ctx.measure(f"slow_{mode}_bound", f"{limit} s ({facts['bound_source']})")
    answer, wanted = outcome.get("status"), expect.get("status", [408])
    if outcome.get("open", True):
        raise _failed(f"{SLOW}: a {mode} trickling at {spec.get('rate_bps', 1)} B/s was still being read "
                      f"after {limit} s; bound {limit} s ({facts['bound_source']})", facts)
    if answer is not None and answer not in wanted:
        raise _failed(f"{SLOW}: the {mode} request was answered {answer}, expected {wanted} or a close",
                      facts)
    if broken:
        raise _failed(f"{SLOW}: while one connection trickled, another user's step broke: {broken[0]}", facts)
    return facts


def _request_head(ctx: Context, spec: dict[str, Any]) -> tuple[bytes, bytes]:
    """(what is sent at once, what is then trickled byte by byte) for the mode."""
    address = urlsplit(ctx.env.api_url)
    path, mode = str(spec.get("path", "/")), str(spec["mode"])
    start = f"{spec.get('method', 'POST')} {path} HTTP/1.1\r\nHost: {address.netloc}\r\n".encode()
    if mode == "header":
        return start, b"X-Slow: " + b"a" * 4096
    boundary = "harness" + uuid.uuid4().hex
    auth = "".join(f"{k}: {v}\r\n" for k, v in auth_headers(ctx, spec.get("user")).items())
    length = int(spec.get("length", 1024 * 1024))
    framing = "Transfer-Encoding: chunked" if mode == "epilogue" else f"Content-Length: {length}"
    head = start + (f"{auth}Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"{framing}\r\n\r\n").encode()
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()
    if mode == "stall":  # the Content-Length lies: a part of the body, then nothing
        return head + part + b"x" * 1024, b""
    if mode == "epilogue":  # a valid small file, then `length` bytes after the closing boundary
        body = part + b"hello\n\r\n--" + boundary.encode() + b"--\r\n" + b"e" * length
        return head, _chunked(body)
    return head + part, b"x" * 65536


def _chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    """``body`` in HTTP/1.1 chunked framing (RFC 9112 section 7.1): no length for the server to trust."""
    pieces = (body[i:i + size] for i in range(0, len(body), size))
    chunks = [b"%x\r\n" % len(piece) + piece + b"\r\n" for piece in pieces]
    return b"".join(chunks) + b"0\r\n\r\n"


def _address(ctx: Context, spec: dict[str, Any]) -> tuple[str, int]:
    """The front door (``via: front_door``, default) or a replica's own listening address
    (``via: <component>``, through the Control): a proxy in front may buffer what the app must judge."""
    via = str(spec.get("via", "front_door"))
    if via == "front_door":
        address = urlsplit(ctx.env.api_url)
        return address.hostname or "127.0.0.1", address.port or 80
    for replica in control_of(ctx).replicas(via):
        for listening in replica.listening:
            host, _, port = listening.rpartition(":")
            if host in ("127.0.0.1", "::1", "localhost"):
                return host, int(port)
    raise StepSkipped(f"slow client via {via}: no replica of {via} listens on loopback here")


def _trickle(ctx: Context, spec: dict[str, Any], limit: float, address: tuple[str, int]) -> dict[str, Any]:
    first, rest = _request_head(ctx, spec)
    rate = max(float(spec.get("rate_bps", 1)), 0.001)
    pause, step = (1.0 / rate, 1) if rate <= 20 else (0.05, int(rate * 0.05))  # fast senders: 20 ticks/s
    began = time.monotonic()
    received = b""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(first)
        sent = 0
        while time.monotonic() - began < limit:
            readable, _, _ = select.select([sock], [], [], pause)
            if readable:
                chunk = _recv(sock)
                received += chunk
                if not chunk or b"\r\n\r\n" in received:
                    return _answer(received, time.monotonic() - began)
            elif rest and sent < len(rest):
                try:
                    sock.sendall(rest[sent:sent + step])
                except OSError:
                    return _answer(received, time.monotonic() - began)
                sent += step
    return {"open": True, "after_s": round(time.monotonic() - began, 2), "sent_bytes": len(first)}


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:  # reset by the server: closed
        return b""


def _answer(received: bytes, after: float) -> dict[str, Any]:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    return {"open": False, "after_s": round(after, 2), "status": int(match[1]) if match else None,
            "answer": received[:300].decode("latin-1")}


__all__ = ["hold", "hostile", "slow"]
