"""Access control with two users: object level (API1, reads and writes) and function level (API5).

Ownership comes from what the API itself answered: every identifier-like value in a 2xx answer
sent as user A goes into A's ledger (A's own name is there from the start); a value that also shows
up in user B's answers is shared, not A's. An operation with a path parameter is then replayed as
B with A's identifier in that parameter:

- read (GET): a leak when B gets 2xx, A gets 2xx for the same request, B's answer carries the
  identifier, and an anonymous request is refused (so the object is not public);
- write (PUT/PATCH/DELETE): a breach when B's write is answered 2xx while an anonymous one is
  refused. A write is sent once per operation, with Schemathesis' valid body, so the owner's object
  may change: active mode only, never against an environment marked production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req, Resp

ID_KEY = re.compile(r"^(?:id|uuid|guid|key|slug|username|user_?name|login|handle|\w+_id|\w+Id)$")
ADMIN_PATH = re.compile(
    r"(?:^|/)(?:admin|administrator|internal|manage|management|superuser|staff|ops-admin|"
    r"sudo|root)(?:/|$|s/)",
    re.IGNORECASE,
)
WRITES = ("PUT", "PATCH", "DELETE")
VALUES_PER_OPERATION = 3
PROBES_PER_OPERATION = 6


def identifiers(body: Any, depth: int = 0) -> Iterator[str]:
    """Identifier-like scalar values in a JSON body (by key name: id, *_id, uuid, username...)."""
    if depth > 6:
        return
    if isinstance(body, dict):
        for key, value in body.items():
            if ID_KEY.match(str(key)) and isinstance(value, str | int) and not isinstance(value, bool):
                yield str(value)
            else:
                yield from identifiers(value, depth + 1)
    elif isinstance(body, list):
        for item in body[:50]:
            yield from identifiers(item, depth + 1)


def learn(state: ScanState, req: Req, resp: Resp) -> None:
    """Record the identifiers a user's 2xx answer carried."""
    if req.user is not None and resp.ok:
        state.own(req.user, identifiers(resp.json()))


def probe_objects(state: ScanState, operation: Operation, base: Req, resp: Resp) -> None:
    """Replay ``base`` as the peer on the owner's identifiers (a few per operation, each once)."""
    owner, names = base.user, [p["name"] for p in operation.params("path")]
    peer = state.peer_of(owner)
    check = "bola_read" if operation.method == "GET" else "bola_write" if operation.method in WRITES else ""
    if owner is None or peer is None or not names or not check or not state.enabled(check):
        return
    for values in _targets(state.owned_only_by(owner), names, base, resp):
        value = str(values[names[-1]])
        fresh = state.claim(check, operation.label, repr(sorted(values.items())))
        if fresh and state.room(check, operation.label, "probe", instances=PROBES_PER_OPERATION):
            state.attempt(check)
            target = base.copy(path_values=values)
            (_read if check == "bola_read" else _write)(state, target, owner, peer, value)


def _targets(owned: list[str], names: list[str], base: Req, resp: Resp) -> list[dict[str, Any]]:
    """Path values naming the owner's objects: the request itself when it succeeded on them, then the
    owner's newest identifiers in each path parameter."""
    found = []
    if resp.ok and all(str(v) in owned for v in base.path_values.values()):
        found.append(dict(base.path_values))
    for value in reversed(owned[-VALUES_PER_OPERATION:]):
        found += [{**base.path_values, name: value} for name in names]
    return found


def _refused_anonymously(state: ScanState, target: Req) -> bool:
    resp = state.send(state.as_user(target, None))
    return resp.status in (401, 403)


def _read(state: ScanState, target: Req, owner: str, peer: str, value: str) -> None:
    as_peer = state.as_user(target, peer)
    peer_resp = state.send(as_peer)
    if not peer_resp.ok or value not in peer_resp.text:
        return
    owner_resp = state.send(state.as_user(target, owner))
    if owner_resp.ok and _refused_anonymously(state, target):
        _breach(state, "bola_read", as_peer, peer_resp, owner, f"{peer} read {owner}'s object ({value!r} in "
                f"the path; {owner} gets {owner_resp.status}, anonymous is refused)")


def _write(state: ScanState, target: Req, owner: str, peer: str, value: str) -> None:
    if not _refused_anonymously(state, target):
        return  # open to anyone: ignored_auth's finding, not an ownership one
    as_peer = state.as_user(target, peer)
    resp = state.send(as_peer)
    if resp.ok:
        _breach(state, "bola_write", as_peer, resp, owner, f"{peer}'s {target.method} on {owner}'s object "
                f"({value!r} in the path) was answered {resp.status}")


def _breach(state: ScanState, check: str, as_peer: Req, resp: Resp, owner: str, detail: str) -> None:
    """The peer reached the owner's object: a finding naming both (owner first)."""
    state.record(check, as_peer, resp, detail, users=[owner, as_peer.user],
                 extra={"owner": owner, "peer": as_peer.user})


def is_admin_operation(operation: Operation) -> bool:
    tags = " ".join(operation.tags).lower()
    summary = str(operation.definition.get("summary", "")) + str(operation.definition.get("description", ""))
    return (
        bool(ADMIN_PATH.search(operation.path))
        or "admin" in tags
        or bool(re.search(r"\badmin(?:istrators?)? only\b", summary, re.IGNORECASE))
    )


def function_level(state: ScanState, operation: Operation, req: Req, resp: Resp) -> None:
    """A test user (a regular user) answered 2xx by an admin operation: no extra request needed."""
    if not state.enabled("function_level") or req.user is None or not is_admin_operation(operation):
        return
    if state.claim("function_level", operation.label, "tried"):
        state.attempt("function_level")
    if resp.ok and req.method == operation.method and state.claim("function_level", operation.label):
        state.record(
            "function_level",
            req,
            resp,
            f"{req.user}, a regular test user, called the admin "
            f"operation {operation.label} and got {resp.status}",
            users=[req.user],
        )


__all__ = ["function_level", "identifiers", "is_admin_operation", "learn", "probe_objects"]
