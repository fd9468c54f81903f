"""A stand-in for ``python -m <module> api|worker`` as the load stage's observer sees it (stdlib only).

Copied to ``<tmp>/<module>/__main__.py``. It counts its requests in ``http_requests_total`` like
the app (route, status, version labels; probes counted too, as the app does), answers ``/fail``
with a 500, burns ~0.3 s of CPU on ``/burn``, and with ``FAKE_FORK=1`` forks a child that keeps its
command line (as a pre-fork server would).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS: dict[tuple[str, str], int] = {}
LOCK = threading.Lock()
VERSION = os.environ.get("APP_VERSION", "?")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 500 if self.path == "/fail" else 200
        if self.path == "/burn":
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
        if self.path == "/metrics":
            with LOCK:
                lines = [
                    f'http_requests_total{{route="{r}",method="GET",status="{s}",version="{VERSION}"}} {n}'
                    for (r, s), n in COUNTS.items()
                ]
            body = "# TYPE http_requests_total counter\n" + "\n".join(lines) + "\n"
        else:
            body = "ok\n"
        with LOCK:
            key = (self.path, str(status))
            COUNTS[key] = COUNTS.get(key, 0) + 1
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


def main(argv: list[str]) -> int:
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else int(os.environ["WORKER_METRICS_PORT"])
    if os.environ.get("FAKE_FORK") and os.fork() == 0:
        time.sleep(300)
        return 0
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
