"""The local target's Prometheus: start -> ready, and file-SD change -> first scrape visible (medians).

Per run, a fresh :class:`~harness.services.prometheus.PrometheusService` as the local target
configures it (1 s scrape and evaluation) is started with one target already in its SD file
(``ready_s``: ``/-/ready`` answers; ``first_scrape_s``: ``up == 1`` visible to a query, from the
start); then a second target is added to the running server's SD file (``added_target_s``: from
the rewrite until its ``up == 1`` is visible: what a replica the HPA or a canary adds waits). The
targets are tiny HTTP servers in this process; nothing else runs.

    .venv/bin/python benchmarks/bench_prometheus.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.services.prometheus import PrometheusService
from harness.services.prometheus_api import PrometheusApi


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE x_total counter\nx_total 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _server() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _visible(api: PrometheusApi, job: str, since: float, timeout: float = 60.0) -> float:
    while time.monotonic() - since < timeout:
        if api.query(f'up{{job="{job}"}} == 1').vector:
            return time.monotonic() - since
        time.sleep(0.05)
    raise RuntimeError(f"{job} not scraped after {timeout:.0f}s")


def one_run(first: ThreadingHTTPServer, second: ThreadingHTTPServer) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as tmp:
        service = PrometheusService(Path(tmp))
        service.set_targets([(f"127.0.0.1:{first.server_port}", {"job": "a"})])
        started = time.monotonic()
        try:
            service.start(timeout=30)
            ready = time.monotonic() - started
            api = PrometheusApi(service.url, version=service.version)
            first_scrape = _visible(api, "a", started)
            service.set_targets([(f"127.0.0.1:{first.server_port}", {"job": "a"}),
                                 (f"127.0.0.1:{second.server_port}", {"job": "b"})])
            added = _visible(api, "b", time.monotonic())
        finally:
            service.cleanup()
    return {"ready_s": ready, "first_scrape_s": first_scrape, "added_target_s": added}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    first, second = _server(), _server()
    try:
        runs = [one_run(first, second) for _ in range(args.runs)]
    finally:
        for server in (first, second):
            server.shutdown()
            server.server_close()
    version = PrometheusService(Path(tempfile.gettempdir())).version
    print(f"Prometheus {version}, {args.runs} runs (median, min-max):")
    for key in ("ready_s", "first_scrape_s", "added_target_s"):
        values = [r[key] for r in runs]
        print(f"  {key:15} {statistics.median(values):6.2f}  ({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
