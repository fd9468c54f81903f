"""Object property level (API3): mass assignment, and what any response gives away (API3/API8).

Mass assignment: a create/update Schemathesis got 2xx for is sent again with privileged properties
the document does not declare writable (admin, role, owner, verified...), and identifying strings
made unique (a sign-up must not fail as a duplicate). The answer, or the object read back with the
operation's GET, must not hold the values we sent.

The passive scanners (:func:`scan`) look at every response the run sees, Schemathesis' and ours:
secrets in bodies, another user's token or a configured password, stack traces and SQL errors,
version banners. They send nothing, so they run in passive mode too.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from harness.stages.dast import signatures
from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req, Resp

UNIQUE_KEYS = re.compile(r"(?:^|_)(?:username|user_?name|login|email|name|handle|slug|title)$", re.IGNORECASE)
INSTANCES_PER_OPERATION = 2
PASSIVE_CHECKS = ("data_exposure", "error_disclosure", "version_disclosure")


def privileged(peer: str | None) -> dict[str, Any]:
    """Properties a client must never set, with the values we would recognise when read back."""
    return {
        "is_admin": True, "isAdmin": True, "admin": True, "role": "admin", "roles": ["admin"],
        "is_superuser": True, "is_staff": True, "verified": True, "is_verified": True, "email_verified": True,
        **({"owner": peer} if peer else {}),
    }


def mass_assign(state: ScanState, operation: Operation, req: Req, resp: Resp) -> None:
    """Once per create/update operation that answered 2xx to a JSON object body."""
    if req.method not in ("POST", "PUT", "PATCH") or not resp.ok or not isinstance(req.json, dict):
        return
    if not state.enabled("mass_assignment") or not state.claim("mass_assignment", operation.label):
        return
    state.attempt("mass_assignment")
    declared = set((operation.body_schema or {}).get("properties", {}))
    extra = {k: v for k, v in privileged(state.peer_of(req.user)).items() if k not in declared}
    body = {**_unique(req.json), **extra}
    probe = req.copy(json=body, has_json=True, content=None)
    answer = state.send(probe)
    if not answer.ok:
        return
    taken = _taken(answer.json(), extra) or _taken(_read_back(state, operation, probe, answer), extra)
    if taken:
        state.record(
            "mass_assignment",
            probe,
            answer,
            f"{operation.label} accepted properties the client must "
            f"not set: {', '.join(f'{k}={v!r}' for k, v in taken.items())} (read back)",
            users=[req.user],
        )


def _unique(body: dict[str, Any]) -> dict[str, Any]:
    """Identifying strings made unique without growing past what the generated value was (its
    length limits and pattern still hold: the tail becomes ``h`` and six lowercase hex digits)."""
    tag = "h" + secrets.token_hex(3)
    fresh = {}
    for key, value in body.items():
        if isinstance(value, str) and UNIQUE_KEYS.search(key):
            local, at, domain = value.partition("@")
            fresh[key] = f"{local[: max(len(local) - len(tag), 0)]}{tag}{at}{domain}"
        else:
            fresh[key] = value
    return fresh


def _taken(body: Any, sent: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {k: v for k, v in sent.items() if k in body and body[k] == v}


def _read_back(state: ScanState, operation: Operation, probe: Req, answer: Resp) -> Any:
    """The created/updated object as the operation's GET returns it (POST: ``<path>/{id}``)."""
    body, getter = answer.json(), None
    for candidate in state.operations.values():
        if candidate.method != "GET" or not candidate.params("path"):
            continue
        if (operation.method != "POST" and candidate.path == operation.path) or (
            operation.method == "POST"
            and re.fullmatch(re.escape(operation.path.rstrip("/")) + r"/\{[^/]+\}", candidate.path)
        ):
            getter = candidate
    if getter is None:
        return None
    values = dict(probe.path_values)
    last = getter.params("path")[-1]["name"]
    if operation.method == "POST":
        found = body.get(last, body.get("id")) if isinstance(body, dict) else None
        if found is None:
            return None
        values[last] = found
    resp = state.send(
        probe.copy(
            method="GET", template=getter.path, path_values=values, json=None, has_json=False, content=None
        )
    )
    return resp.json() if resp.ok else None


def scan(state: ScanState, req: Req, resp: Resp) -> None:
    """The passive scanners over one response (at most a couple of instances per operation)."""
    if not resp.text:
        return
    state.attempt(*PASSIVE_CHECKS)
    body = resp.json()
    problems = []
    if body is not None and state.enabled("data_exposure"):
        problems += [("data_exposure", f"{where} in the answer") for where in signatures.secret_fields(body)]
    if state.enabled("data_exposure"):
        problems += [
            ("data_exposure", f"{label} in an answer to {req.user or 'an anonymous request'}")
            for label in signatures.known_secrets_in(resp.text, _foreign_secrets(state, req.user))
        ]
    for check, detector in (
        ("error_disclosure", signatures.error_disclosure),
        ("version_disclosure", signatures.version_banner),
    ):
        found = detector(resp.text) if state.enabled(check) else None
        if found:
            problems.append((check, found))
    for check, detail in problems:
        if state.claim(check, req.label, detail[:60]) and state.room(check, req.label, "instance",
                                                                     instances=INSTANCES_PER_OPERATION):
            state.record(check, req, resp, detail, users=[req.user])


def _foreign_secrets(state: ScanState, viewer: str | None) -> dict[str, str]:
    """Values the viewer must never see: other users' tokens, and every configured password."""
    found = {f"{name}'s token": token for name, token in state.tokens.items() if name != viewer}
    found.update(state.config.known_secrets)
    return found


__all__ = ["mass_assign", "privileged", "scan"]
