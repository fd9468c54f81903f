"""A stand-in of ZAP's JSON API (the calls the harness makes), recording every call in order.

zapv2 reaches ZAP as an HTTP proxy: requests arrive as ``GET http://zap/JSON/<component>/<type>/<name>/?...``
with the API key in ``X-ZAP-API-Key``. Status views answer from scripted sequences, alerts are
paged with ``start``/``count`` like ZAP does, ``reports/action/generate`` writes the file it is asked
for (as a ZAP sharing our file system would), and unknown calls answer 400 like ZAP's ``bad_view``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

OK = {"Result": "OK"}


@dataclass
class Call:
    path: str  # e.g. "/JSON/spider/action/scan/"
    params: dict[str, str]
    api_key: str | None

    @property
    def name(self) -> str:
        """``component/type/name`` e.g. ``spider/action/scan``."""
        return "/".join(self.path.strip("/").split("/")[1:4])


@dataclass
class ZapStandIn:
    api_key: str = "standin-key"
    alerts: list[dict[str, Any]] = field(default_factory=list)
    spider_status: list[str] = field(default_factory=lambda: ["30", "100"])
    ascan_status: list[str] = field(default_factory=lambda: ["10", "60", "100"])
    records_to_scan: list[str] = field(default_factory=lambda: ["4", "0", "0"])
    missing_policy: bool = True  # removeScanPolicy on a fresh ZAP fails (does_not_exist)
    messages: int = 42  # what numberOfMessages answers (0: ZAP sent nothing)
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def params(self, name: str) -> list[dict[str, str]]:
        return [c.params for c in self.calls if c.name == name]

    def answer(self, call: Call) -> tuple[int, str, str]:
        """(status, content type, body) for one call."""
        if call.api_key != self.api_key:
            return 403, "application/json", json.dumps({"code": "bad_api_key"})
        name = call.name
        if name.startswith("core/other/"):
            kind = name.rsplit("/", 1)[1]
            body = "<html>ZAP report</html>" if kind == "htmlreport" else json.dumps({"site": []})
            return 200, "text/plain", body
        handler = getattr(self, "_" + name.replace("/", "_"), None)
        if handler is None:
            return 400, "application/json", json.dumps({"code": "bad_view", "message": name})
        status, payload = handler(call.params)
        return status, "application/json", json.dumps(payload)

    @staticmethod
    def _next(sequence: list[str]) -> str:
        return sequence.pop(0) if len(sequence) > 1 else sequence[0]

    def _core_action_newSession(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, OK

    def _context_action_newContext(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"contextId": "1"}

    def _spider_action_scan(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"scan": "3"}

    def _spider_view_status(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"status": self._next(self.spider_status)}

    def _pscan_view_recordsToScan(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"recordsToScan": self._next(self.records_to_scan)}

    def _ascan_action_removeScanPolicy(self, p: dict[str, str]) -> tuple[int, Any]:
        return (400, {"code": "does_not_exist"}) if self.missing_policy else (200, OK)

    def _ascan_action_scan(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"scan": "7"}

    def _ascan_view_status(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"status": self._next(self.ascan_status)}

    def _alert_view_alerts(self, p: dict[str, str]) -> tuple[int, Any]:
        start, count = int(p.get("start", 0)), int(p.get("count", 0) or len(self.alerts))
        return 200, {"alerts": self.alerts[start : start + count]}

    def _core_view_numberOfMessages(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"numberOfMessages": str(self.messages)}

    def _openapi_action_importUrl(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, {"importUrl": []}

    def _core_action_shutdown(self, p: dict[str, str]) -> tuple[int, Any]:
        return 200, OK

    def _reports_action_generate(self, p: dict[str, str]) -> tuple[int, Any]:
        path = Path(p["reportDir"]) / p["reportFileName"]
        path.write_text(json.dumps({"version": "2.1.0", "runs": []}), encoding="utf-8")
        return 200, {"generate": str(path)}

    def __getattr__(self, name: str) -> Any:
        # Every other action the harness calls just succeeds (setters, include/exclude, replacer...).
        if (
            name.startswith("_")
            and "_action_" in name
            and name.split("_action_")[0][1:] in ("context", "spider", "ascan", "replacer", "core", "pscan")
        ):
            return lambda p: (200, OK)
        raise AttributeError(name)


@contextmanager
def serve_standin(standin: ZapStandIn, port: int = 0) -> Iterator[ZapStandIn]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            call = Call(parts.path, dict(parse_qsl(parts.query)), self.headers.get("X-ZAP-API-Key"))
            standin.calls.append(call)
            status, content_type, body = standin.answer(call)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
