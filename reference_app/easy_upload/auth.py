"""Bearer API tokens (only their sha256 is stored) and short-lived signed tokens for EventSource."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

import psycopg

TOKEN_PREFIX = "eu_"


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a plain sha256 is a sound at-rest form (no brute force)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_user(database_url: str, name: str) -> str:
    """Create ``name`` (or reuse it) and give it a fresh token; return the token (shown once)."""
    token = new_token()
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        row = conn.execute(
            "INSERT INTO users (id, name) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            (uuid.uuid4(), name),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO api_tokens (token_hash, user_id) VALUES (%s, %s)", (hash_token(token), row[0])
        )
    return token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_stream_token(key: bytes, user_id: str, upload_id: str, ttl_s: int, now: float | None = None) -> str:
    """A token that lets one user open the event stream of one upload until it expires."""
    claims = {"u": user_id, "o": upload_id, "e": int((now or time.time()) + ttl_s)}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def verify_stream_token(key: bytes, token: str, upload_id: str, now: float | None = None) -> str | None:
    """Return the user id if ``token`` is genuine, unexpired and made for ``upload_id``; else None."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    # Bytes, not str: compare_digest refuses non-ASCII str (a TypeError, which was a 500).
    if not signature or not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        claims = json.loads(_unb64(body))
    except ValueError:
        return None
    if claims.get("o") != upload_id or claims.get("e", 0) < (now or time.time()):
        return None
    user = claims.get("u")
    return user if isinstance(user, str) else None
