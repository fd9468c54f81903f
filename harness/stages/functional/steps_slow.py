"""Slow and lying clients over raw sockets: what no HTTP client library will send.

``slow`` trickles headers or a body, stalls mid-body (a Content-Length that lies), or sends a
chunked body with a long epilogue after its closing boundary, while the ``during`` steps run. It
fails when the server neither answers (408/413) nor closes within the declared bound, when it
answers something else (a 201 for a body past the size limit), or when the other user's steps
break meanwhile. Observation: the socket itself (bytes answered, close), timed by the harness.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from harness.stages.functional.context import Context, StepFailed, StepSkipped
from harness.stages.functional.steps_env import control_of
from harness.stages.functional.steps_http import auth_headers

Scope = dict[str, Any] | None
During = Callable[[], list[str]]  # runs the nested steps; returns the broken ones' messages
SLOW = "slow and lying clients"  # the class names of tests/fixtures/planted/EXPECTED.yaml


def failed(message: str, detail: Any) -> StepFailed:
    """A StepFailed that keeps what the step observed as evidence."""
    error = StepFailed(message)
    error.detail = detail
    return error


def slow(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope,
         during: During) -> dict[str, Any]:
    """A raw connection that trickles (``header``/``body``) or stalls (``stall``), while ``during`` runs."""
    mode, bound = str(spec["mode"]), expect["closed_within"]
    limit = float(bound["s"])
    outcome: dict[str, Any] = {}
    address = address_of(ctx, spec)  # a skip is raised here, not in the thread
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
        raise failed(f"{SLOW}: a {mode} trickling at {spec.get('rate_bps', 1)} B/s was still being read "
                      f"after {limit} s; bound {limit} s ({facts['bound_source']})", facts)
    if answer is not None and answer not in wanted:
        raise failed(f"{SLOW}: the {mode} request was answered {answer}, expected {wanted} or a close",
                      facts)
    if broken:
        raise failed(f"{SLOW}: while one connection trickled, another user's step broke: {broken[0]}", facts)
    return facts


def request_head(ctx: Context, spec: dict[str, Any]) -> tuple[bytes, bytes]:
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


def address_of(ctx: Context, spec: dict[str, Any]) -> tuple[str, int]:
    """The front door (``via: front_door``, default) or a replica's own listening address
    (``via: <component>``, through the Control): a proxy in front may buffer what the app must judge."""
    via = str(spec.get("via", "front_door"))
    if via == "front_door":
        address = urlsplit(ctx.env.api_url)
        return address.hostname or "127.0.0.1", address.port or 80
    return replica_address(ctx, via)[1]


def replica_address(ctx: Context, component: str) -> tuple[int, tuple[str, int]]:
    """(index for ``Control.kill``, loopback address) of the first replica of ``component`` that
    listens on loopback, through the Control."""
    for index, replica in enumerate(control_of(ctx).replicas(component)):
        for listening in replica.listening:
            host, _, port = listening.rpartition(":")
            if host in ("127.0.0.1", "::1", "localhost"):
                return index, (host, int(port))
    raise StepSkipped(f"a raw client of {component}: no replica of {component} listens on loopback here")


def _trickle(ctx: Context, spec: dict[str, Any], limit: float, address: tuple[str, int]) -> dict[str, Any]:
    first, rest = request_head(ctx, spec)
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
                    return answer_of(received, time.monotonic() - began)
            elif rest and sent < len(rest):
                try:
                    sock.sendall(rest[sent:sent + step])
                except OSError:
                    return answer_of(received, time.monotonic() - began)
                sent += step
    return {"open": True, "after_s": round(time.monotonic() - began, 2), "sent_bytes": len(first)}


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:  # reset by the server: closed
        return b""


def answer_of(received: bytes, after: float) -> dict[str, Any]:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    return {"open": False, "after_s": round(after, 2), "status": int(match[1]) if match else None,
            "answer": received[:300].decode("latin-1")}


__all__ = ["SLOW", "address_of", "answer_of", "failed", "replica_address", "request_head", "slow"]
