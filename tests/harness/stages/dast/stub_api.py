"""A stub HTTP API whose behaviour is one Python function, and a ScanState pointed at it.

For unit tests of single attacks: each test plants exactly one flaw (or its fix) in a few lines,
so that every check is shown to fail on the flaw it looks for and to pass without it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.stages.dast.catalog import CHECKS
from harness.stages.dast.scan_state import ScanConfig, ScanState
from harness.stages.dast.spec import ApiSpec
from harness.stages.dast.wire import Req, Resp

TOKENS = {"alice": "tok-alice-0123456789", "bob": "tok-bob-9876543210"}


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def token(self) -> str:
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else ""


Answer = tuple[int, Any]  # (status, JSON body)
Behaviour = Callable[[Call], Answer]


@contextmanager
def stub(
    behaviour: Behaviour, extra_headers: Callable[[Call], dict[str, str]] | None = None
) -> Iterator[str]:
    """Serve ``behaviour`` on 127.0.0.1:<free port>; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(
                self.command,
                parts.path,
                dict(parse_qsl(parts.query, keep_blank_values=True)),
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw) if raw else None,
            )
            status, body = behaviour(call)
            data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if not isinstance(body, str) else "text/plain"
            )
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra_headers(call) if extra_headers else {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def scan_state(
    tmp_path: Path, url: str, spec: dict[str, Any], *, tokens: dict[str, str] | None = None, **config: Any
) -> ScanState:
    """A ScanState (all checks enabled) for ``url`` with the document ``spec``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(spec))
    users = [{"name": n, "token": t} for n, t in (tokens or TOKENS).items()]
    return ScanState(
        ScanConfig(
            api_url=url,
            findings_path=str(tmp_path / "findings.jsonl"),
            spec_path=str(spec_file),
            users=users,
            checks=[c.name for c in CHECKS],
            **config,
        )
    )


def findings(tmp_path: Path) -> list[dict[str, Any]]:
    """The finding records written so far."""
    path = tmp_path / "findings.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [d for d in (json.loads(line) for line in lines) if d.get("kind") == "finding"]


def base(
    state: ScanState, method: str, path: str, user: str | None = "alice", **fields: Any
) -> tuple[Req, Resp]:
    """A request as Schemathesis would have sent it (sent once, for its response)."""
    req = state.as_user(Req(method, state.root, path, **fields), user)
    return req, state.send(req)


def spec_of(spec: dict[str, Any]) -> ApiSpec:
    return ApiSpec(spec, "<test>")


__all__ = ["TOKENS", "Call", "base", "findings", "scan_state", "spec_of", "stub"]
