"""Server-side request forgery (API7): URL inputs pointed at a loopback listener the harness owns.

The stage runs a :class:`Listener` on 127.0.0.1 (a free port) for the whole scan. In the loop, each
URL-typed input (``format: uri``, or named like url/callback/webhook/avatar...) gets
``http://127.0.0.1:<port>/ssrf/<nonce>``; the probe is noted with its nonce. After the run the stage
matches the listener's hits against the notes: a hit is the observation, made by the harness' own
socket, that the server fetched what the client chose. The listener also serves documents the
stage hands to other tools (ZAP imports the filtered OpenAPI document from it).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.slots import slots
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req, Resp, exchange

SLOTS_PER_OPERATION = 4


def plant(state: ScanState, operation: Operation, base: Req, base_resp: Resp) -> None:
    """Put a listener URL with a fresh nonce in each URL-typed slot, once per slot."""
    if not state.enabled("ssrf") or not state.config.ssrf_base or base.method != operation.method:
        return
    for slot in [s for s in slots(operation, base, state.app.auth_header) if s.is_url][:SLOTS_PER_OPERATION]:
        if not state.claim("ssrf", operation.label, slot.location, slot.name):
            continue
        state.attempt("ssrf")
        nonce = secrets.token_hex(8)
        req = slot.put(base, f"{state.config.ssrf_base.rstrip('/')}/ssrf/{nonce}")
        resp = state.send(req)
        request, response = exchange(req, resp, state.tokens)
        state.note(
            "ssrf",
            nonce=nonce,
            label=req.label,
            url=req.url,
            slot=slot.label,
            users=[req.user],
            request=request,
            response=response,
        )


@dataclass(slots=True)
class Hit:
    path: str
    headers: dict[str, str]


@dataclass(slots=True)
class Listener:
    """A loopback HTTP listener: records every request, serves registered documents."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    documents: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (content type, body)

    def nonces(self) -> set[str]:
        return {h.path.rsplit("/", 1)[-1] for h in self.hits if h.path.startswith("/ssrf/")}


@contextmanager
def listening() -> Iterator[Listener]:
    """A :class:`Listener` on 127.0.0.1:<free port>, stopped (and its port freed) on exit."""
    listener = Listener()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                listener.hits.append(Hit(self.path.split("?", 1)[0], dict(self.headers.items())))
            kind, body = listener.documents.get(self.path.split("?", 1)[0], ("text/plain", b"harness"))
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_HEAD = do_GET

        def log_message(self, *args: Any) -> None:  # quiet: hits are recorded, not printed
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    listener.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="dast-listener", daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


__all__ = ["Hit", "Listener", "listening", "plant"]
