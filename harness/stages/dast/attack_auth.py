"""Broken authentication (API2): tampered tokens replayed on an operation that needs one.

Runs on the first few GET operations that answered a test user 2xx and refuse an anonymous request
(401/403): that refusal is the baseline every tampered token must also get. Then:

- malformed: the token truncated, one character changed, its signature removed;
- JWT ``alg: none``: the user's claims, unsigned (RFC 7518 §3.6);
- weak secret: the JWT's HMAC verified offline against common secrets; when one matches, a token
  forged with it (fresh iat/exp) is sent, and one that expired an hour ago.
Schemathesis' ``ignored_auth`` already covers "no token" and "a wrong token" on every operation.
"""

from __future__ import annotations

from harness.stages.dast import tokens
from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req, Resp

OPERATIONS = 3


def tamper(state: ScanState, operation: Operation, req: Req, resp: Resp) -> None:
    """Tampered-token probes on ``req`` (a 2xx GET sent as a test user), on a few operations."""
    if req.user is None or req.method != "GET" or not resp.ok or not state.claim("auth", operation.label):
        return
    if sum(1 for _ in state.claims_of("auth")) > OPERATIONS:
        return
    refused = state.send(state.as_user(req, None))
    if refused.status not in (401, 403):
        return  # public (or ignored_auth's finding): tampering proves nothing here
    token = state.token(req.user)
    _malformed(state, req, token)
    jwt = tokens.parse(token)
    if jwt is not None:
        _alg_none(state, req, jwt)
        _weak_secret(state, req, jwt)


def _malformed(state: ScanState, req: Req, token: str) -> None:
    described = {v: f"a garbled token of {req.user}'s ({len(v)} of {len(token)} characters)" for v in
                 tokens.garbled(token)}
    _first_accepted(state, "malformed_token", req, described)


def _alg_none(state: ScanState, req: Req, jwt: tokens.Jwt) -> None:
    described = {v: f"{req.user}'s claims with alg {alg!r} and no signature" for v, alg in
                 zip(tokens.alg_none_variants(jwt), tokens.NONE_ALGS, strict=True)}
    _first_accepted(state, "jwt_alg_none", req, described)


def _first_accepted(state: ScanState, check: str, req: Req, variants: dict[str, str]) -> None:
    """Send each token variant; the first one answered 2xx is the finding."""
    if not state.enabled(check):
        return
    state.attempt(check)
    for variant, what in variants.items():
        probe = state.with_token(req, variant)
        resp = state.send(probe)
        if resp.ok:
            state.record(check, probe, resp, f"{what} was accepted: {resp.status}", users=[req.user])
            return


def _weak_secret(state: ScanState, req: Req, jwt: tokens.Jwt) -> None:
    if not (state.enabled("jwt_weak_secret") or state.enabled("expired_token")) or not jwt.alg.startswith(
        "HS"
    ):
        return
    state.attempt("jwt_weak_secret")
    index = tokens.guess_secret(jwt)
    if index is None:
        return
    secret = tokens.WEAK_SECRETS[index]
    hint = f"entry #{index + 1} of the harness' list of common secrets, {len(secret)} characters"
    fresh = state.with_token(req, tokens.forged(jwt, secret))
    resp = state.send(fresh)
    if resp.ok and state.enabled("jwt_weak_secret"):
        state.record(
            "jwt_weak_secret",
            fresh,
            resp,
            f"{req.user}'s {jwt.alg} token is signed with a guessable "
            f"secret ({hint}); a token forged with it was accepted: {resp.status}",
            users=[req.user],
        )
    if state.enabled("expired_token"):
        state.attempt("expired_token")
        stale = state.with_token(req, tokens.forged(jwt, secret, expired=True))
        stale_resp = state.send(stale)
        if stale_resp.ok:
            state.record(
                "expired_token",
                stale,
                stale_resp,
                "a token that expired an hour ago (signed with "
                f"the guessed secret) was accepted: {stale_resp.status}",
                users=[req.user],
            )


__all__ = ["tamper"]
