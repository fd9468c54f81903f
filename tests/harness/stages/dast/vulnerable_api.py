"""A small Flask API with planted flaws (``--variant weak``) and its clean twin (``--variant clean``).

The DAST stage must name every planted flaw through ``--target existing:`` and pass the twin.
Planted in the weak variant (the twin does each right):

1. SQL injection in a path parameter: ``GET /api/users/{username}`` builds its SQL with an f-string
   (and its 500 answer carries the SQLite error text);
2. another user's password changed: ``PUT /api/users/{username}/password`` checks no ownership;
3. another user's object read: ``GET /api/notes/{note_id}`` checks no ownership;
4. mass assignment of an admin flag at sign-up: ``POST /api/signup`` takes ``is_admin`` from the body;
5. a debug endpoint exposing every user's password: ``GET /debug/users`` (undocumented);
6. user enumeration at login: "no such user" (404) vs "wrong password" (401);
7. a ReDoS-prone field: ``GET /api/check-email?email=`` matches ``^([a-zA-Z0-9]+)*@example\\.com$``;
8. no rate limiting on ``POST /api/login``;
9. JWTs signed with a weak key ("secret");
10. SSRF: ``POST /api/avatar`` fetches the URL it is given (loopback only, so tests stay on this host);
11. function level: ``GET /api/admin/users`` answers any user;
12. uncapped page size: ``GET /api/notes?limit=`` serves (and echoes) any limit.

``GET /createdb`` (documented, destructive) recreates the database and logs each call to
``--createdb-log``: a scan told to exclude it must leave that file empty.
Run: ``python -m tests.harness.stages.dast.vulnerable_api --variant weak --ready-file F`` (from the
repo root); the ready file gets ``{"url", "users": [{"name", "token"}]}``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
from flask import Flask, Response, g, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.harness.stages.dast.vulnerable_spec import SPEC, body_schema

PASSWORDS = {"alice": "alice-Passw0rd!", "bob": "bob-Passw0rd!"}
WEAK_KEY = "secret"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
LOGIN_LIMIT, LOGIN_WINDOW_S = 5, 60.0


class Store:
    """SQLite in memory, behind one lock (Flask serves requests on threads)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.db.executescript(
                "DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS notes;"
                "CREATE TABLE users (username TEXT PRIMARY KEY, password TEXT, email TEXT,"
                " is_admin INTEGER);"
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT, title TEXT, body TEXT);"
            )
            for name, password in {**PASSWORDS, "root": secrets.token_hex(8)}.items():
                self.db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, ?)",
                    (name, password, f"{name}@example.com", int(name == "root")),
                )

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
            self.db.commit()
            return rows


def build_app(*, weak: bool, createdb_log: Path | None = None) -> Flask:
    app = Flask("vulnerable_api" if weak else "clean_api")
    store, key = Store(), WEAK_KEY if weak else secrets.token_hex(32)
    failures: dict[str, list[float]] = defaultdict(list)
    app.config["store"], app.config["key"] = store, key

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        response = jsonify(error=message)
        response.status_code = status
        response.headers.update(headers or {})
        return response

    def current_user() -> str | None:
        header = request.headers.get("Authorization", "")
        claims = verify(key, header[7:]) if header.startswith("Bearer ") else None
        if claims is None or float(claims.get("exp", 0)) < time.time():
            return None
        rows = store.query("SELECT username FROM users WHERE username = ?", (str(claims.get("sub")),))
        return str(rows[0][0]) if rows else None

    @app.before_request
    def authenticate() -> Response | None:
        rule = request.url_rule
        operation = SPEC["paths"].get(_template(rule.rule) if rule else "", {}).get(request.method.lower())
        if operation is None or not operation.get("security", SPEC["security"]):
            return None
        g.user = current_user()
        if g.user is None:
            return error(401, "unauthorized", {"WWW-Authenticate": "Bearer"})
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    for status, message in ((404, "not found"), (500, "internal error")):
        app.register_error_handler(status, lambda exc, s=status, m=message: error(s, m))

    @app.errorhandler(405)
    def not_allowed(exc: Any) -> Response:
        return error(405, "method not allowed", {"Allow": ", ".join(sorted(exc.valid_methods or []))})

    def valid_body(path: str, method: str) -> dict[str, Any] | Response:
        body = request.get_json(silent=True)
        # jsonschema_rs, formats included: the validator Schemathesis itself generates against.
        errors = list(
            jsonschema_rs.validator_for(body_schema(path, method), validate_formats=True).iter_errors(body)
        )
        if errors or not isinstance(body, dict):
            return error(400, f"invalid body: {errors[0].message[:100] if errors else 'not an object'}")
        return body

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(SPEC)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/createdb")
    def createdb() -> Response:
        if createdb_log is not None:
            with createdb_log.open("a", encoding="utf-8") as log:
                log.write(f"{time.time()} {request.remote_addr}\n")
        store.reset()
        return jsonify(status="recreated")

    @app.post("/api/signup")
    def signup() -> Response:
        body = valid_body("/api/signup", "post")
        if isinstance(body, Response):
            return body
        admin = bool(body.get("is_admin")) if weak else False  # planted: mass assignment
        try:
            store.query(
                "INSERT INTO users VALUES (?, ?, ?, ?)",
                (body["username"], body["password"], body.get("email", ""), int(admin)),
            )
        except sqlite3.IntegrityError:
            return error(409, "username taken")
        response = jsonify(username=body["username"], is_admin=admin)
        response.status_code = 201
        return response

    @app.post("/api/login")
    def login() -> Response:
        body = valid_body("/api/login", "post")
        if isinstance(body, Response):
            return body
        name, now = str(body["username"]), time.monotonic()
        recent = [t for t in failures[name] if now - t < LOGIN_WINDOW_S]
        if not weak and len(recent) >= LOGIN_LIMIT:  # planted (weak): no rate limiting
            return error(429, "too many attempts", {"Retry-After": str(int(LOGIN_WINDOW_S))})
        rows = store.query("SELECT password FROM users WHERE username = ?", (name,))
        if rows and rows[0][0] == body["password"]:
            failures.pop(name, None)
            return jsonify(token=mint(key, name))
        failures[name] = [*recent, now]
        if weak:  # planted: the answer tells which users exist
            return error(404, "no such user") if not rows else error(401, "wrong password")
        return error(401, "invalid credentials")

    @app.get("/api/users/<username>")
    def user(username: str) -> Response:
        try:
            if weak:  # planted: SQL injection in a path parameter
                rows = store.query(
                    f"SELECT username, email, is_admin FROM users WHERE username = '{username}'"
                )
            else:
                rows = store.query(
                    "SELECT username, email, is_admin FROM users WHERE username = ?", (username,)
                )
        except sqlite3.Error as exc:
            return error(500, f"database error: {type(exc).__name__}: {exc}")
        if not rows:
            return error(404, "no such user")
        if rows[0][0] != g.user:
            return error(403, "not your profile")
        return jsonify(username=rows[0][0], email=rows[0][1], is_admin=bool(rows[0][2]))

    @app.put("/api/users/<username>/password")
    def change_password(username: str) -> Response:
        body = valid_body("/api/users/{username}/password", "put")
        if isinstance(body, Response):
            return body
        if not store.query("SELECT 1 FROM users WHERE username = ?", (username,)):
            return error(404, "no such user")
        if not weak and username != g.user:  # planted (weak): anyone changes anyone's password
            return error(403, "not your account")
        store.query("UPDATE users SET password = ? WHERE username = ?", (body["password"], username))
        return Response(status=204)

    @app.get("/api/notes")
    def notes() -> Response:
        raw = request.args.get("limit", "20")
        if not re.fullmatch(r"[0-9]{1,18}", raw) or int(raw) < 1:
            return error(400, "limit: a positive integer")
        limit = int(raw) if weak else min(int(raw), 100)  # planted (weak): no cap
        rows = store.query(
            "SELECT id, owner, title, body FROM notes WHERE owner = ? LIMIT ?", (g.user, limit)
        )
        return jsonify(items=[_note(r) for r in rows], limit=limit)

    @app.post("/api/notes")
    def create_note() -> Response:
        body = valid_body("/api/notes", "post")
        if isinstance(body, Response):
            return body
        rows = store.query(
            "INSERT INTO notes (owner, title, body) VALUES (?, ?, ?) RETURNING id, owner, title, body",
            (g.user, body["title"], body.get("body", "")),
        )
        response = jsonify(_note(rows[0]))
        response.status_code = 201
        return response

    @app.get("/api/notes/<int:note_id>")
    def note(note_id: int) -> Response:
        rows = store.query("SELECT id, owner, title, body FROM notes WHERE id = ?", (note_id,))
        if not rows or (rows[0][1] != g.user and not weak):  # planted (weak): anyone reads any note
            return error(404, "no such note")
        return jsonify(_note(rows[0]))

    @app.delete("/api/notes/<int:note_id>")
    def delete_note(note_id: int) -> Response:
        if not store.query("SELECT 1 FROM notes WHERE id = ? AND owner = ?", (note_id, g.user)):
            return error(404, "no such note")
        store.query("DELETE FROM notes WHERE id = ?", (note_id,))
        return Response(status=204)

    @app.get("/api/check-email")
    def check_email() -> Response:
        email = request.args.get("email")
        if email is None or len(email) > 200:
            return error(400, "email: required, at most 200 characters")
        pattern = (
            r"^([a-zA-Z0-9]+)*@example\.com$" if weak else r"^[a-zA-Z0-9]+@example\.com$"
        )  # planted: ReDoS
        return jsonify(valid=re.match(pattern, email[:24]) is not None)

    @app.post("/api/avatar")
    def avatar() -> Response:
        body = valid_body("/api/avatar", "post")
        if isinstance(body, Response):
            return body
        url = str(body["url"])
        host = urlsplit(url).hostname or ""
        # The twin fetches nothing a client names (it would use an allowlist); the weak build fetches
        # what it is given, but only on loopback, so that tests never send traffic off this host.
        if (
            not weak
            or urlsplit(url).scheme not in ("http", "https")
            or host not in ("127.0.0.1", "localhost")
        ):
            return jsonify(bytes=0, fetched=False)
        try:  # planted (weak): fetches what the client names
            with urllib.request.urlopen(url, timeout=2) as fetched:
                size = len(fetched.read(1_000_000))
        except OSError:
            return error(400, "could not fetch the image")
        return jsonify(bytes=size, fetched=True)

    @app.get("/api/admin/users")
    def admin_users() -> Response:
        admin = store.query("SELECT is_admin FROM users WHERE username = ?", (g.user,))
        if not weak and not (admin and admin[0][0]):  # planted (weak): no role check
            return error(403, "admins only")
        return jsonify(
            items=[
                {"username": r[0], "email": r[1]} for r in store.query("SELECT username, email FROM users")
            ]
        )

    if weak:

        @app.get("/debug/users")
        def debug_users() -> Response:  # planted: undocumented, every user's password
            rows = store.query("SELECT username, password, is_admin FROM users")
            return jsonify([{"username": r[0], "password": r[1], "is_admin": bool(r[2])} for r in rows])

    return app


def _note(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "owner": row[1], "title": row[2], "body": row[3]}


def _template(rule: str) -> str:
    """Flask's ``/api/notes/<int:note_id>`` as the document's ``/api/notes/{note_id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


# The app's own HS256 JWTs (RFC 7519), written apart from the harness' token code on purpose: the
# checks must be judged by an implementation they do not share.
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: str, signing_input: str) -> str:
    return _b64(hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest())


def mint(key: str, subject: str) -> str:
    now = int(time.time())
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({"sub": subject, "iat": now, "exp": now + 3600}).encode())
    return f"{head}.{body}.{_sign(key, f'{head}.{body}')}"


def verify(key: str, token: str) -> dict[str, Any] | None:
    """The claims of a token signed with ``key`` under HS256 (any other alg is refused)."""
    try:
        head, body, signature = token.split(".")
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if header.get("alg") != "HS256" or not hmac.compare_digest(signature, _sign(key, f"{head}.{body}")):
        return None
    return claims if isinstance(claims, dict) else None


class QuietHandler(WSGIRequestHandler):
    """No request log, and a Server header without versions (the twin must pass the header checks)."""

    def version_string(self) -> str:
        return "api"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("weak", "clean"), required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--createdb-log", type=Path)
    args = parser.parse_args()
    app = build_app(weak=args.variant == "weak", createdb_log=args.createdb_log)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    users = [{"name": name, "token": mint(app.config["key"], name)} for name in PASSWORDS]
    ready = {"url": f"http://127.0.0.1:{server.server_port}", "users": users}
    fd = os.open(args.ready_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(ready, handle)
    server.serve_forever()


if __name__ == "__main__":
    main()
