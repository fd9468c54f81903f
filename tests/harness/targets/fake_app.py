"""A stand-in for ``python -m easy_upload`` (stdlib + psycopg + redis): the process contract only.

Copied to ``<tmp>/easy_upload/__main__.py`` by the fixtures, so the local target's orchestration
(migrate, create-user, api/worker replicas, readiness, teardown) is tested fast and on its own.
``FAKE_MIGRATE_FAIL=1`` makes ``migrate`` fail; ``FAKE_API_NEVER_READY=1`` keeps ``/readyz`` at 503;
``FAKE_PORT_TAKEN_ONCE=PATH`` makes the first API process fail as if its port had been taken.
"""

from __future__ import annotations

import os
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def migrate() -> int:
    if os.environ.get("FAKE_MIGRATE_FAIL"):
        print("migration 0002 failed: syntax error at or near 'TABEL'", file=sys.stderr)
        return 3
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS users (name text PRIMARY KEY, token text NOT NULL)")
    return 0


def create_user(name: str) -> int:
    import psycopg

    token = secrets.token_urlsafe(24)
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("INSERT INTO users VALUES (%s, %s)", (name, token))
    print(token)
    return 0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/readyz" and os.environ.get("FAKE_API_NEVER_READY"):
            self._send(503, "starting")
        elif self.path in ("/healthz", "/readyz", "/metrics", "/"):
            self._send(200, f"version {os.environ.get('APP_VERSION', '?')} pid {os.getpid()}\n")
        else:
            self._send(404, "not found")

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


def serve(port: int) -> int:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
    return 0


def api(port: int) -> int:
    flag = os.environ.get("FAKE_PORT_TAKEN_ONCE")
    if flag:
        try:
            os.close(os.open(flag, os.O_CREAT | os.O_EXCL))  # the first API process "loses" its port
        except FileExistsError:
            pass
        else:
            print(f"OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): "
                  "address already in use", file=sys.stderr)
            return 1
    return serve(port)


def worker() -> int:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).ping()
    return serve(int(os.environ["WORKER_METRICS_PORT"]))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "migrate":
        return migrate()
    if command == "create-user":
        return create_user(argv[1])
    if command == "api":
        return api(int(argv[argv.index("--port") + 1]))
    if command == "worker":
        return worker()
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
