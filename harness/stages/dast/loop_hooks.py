"""The harness' API checks as Schemathesis checks: loaded through ``SCHEMATHESIS_HOOKS`` in its process.

Schemathesis (v4) calls each registered check class' ``after_response(ctx, response, case)`` for
every response its generation loop gets (schemathesis/checks.py ``ResponseCheck``); the
``after_call`` hook sees every request it sends. Our checks turn the case into a :class:`Req`,
then run the attacks of ``attack_*.py`` on it, once per (operation, parameter) thanks to the
claims in :class:`ScanState`. They never raise into Schemathesis: findings go to the findings
file, and an unexpected error is noted there too (the stage reports it as a tool error).

``after_call`` also enforces the request budget of the whole run: at the budget, it interrupts
Schemathesis the way Ctrl-C does, and Schemathesis stops cleanly and still writes its reports.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core import NotSet

from harness.stages.dast import (
    attack_access,
    attack_auth,
    attack_injection,
    attack_properties,
    attack_resources,
    attack_ssrf,
)
from harness.stages.dast.scan_state import ENV_VAR, ScanConfig, ScanState
from harness.stages.dast.slots import slots
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import OutOfBudget, Req, Resp

HOP_BY_HOP = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "user-agent"}
STATE = ScanState(ScanConfig.read(Path(os.environ[ENV_VAR])))
STATE.observe = functools.partial(attack_properties.scan, STATE)
atexit.register(STATE.close)
Attack = Callable[[ScanState, Operation, Req, Resp], None]


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Count Schemathesis' own requests; interrupt the run once the request budget is spent."""
    STATE.seen_requests += 1
    budget = STATE.config.total_budget
    if budget and STATE.seen_requests + STATE.prober.sent >= budget and STATE.claim("budget", "stop"):
        STATE.note("budget", requests=STATE.seen_requests + STATE.prober.sent)
        os.kill(os.getpid(), signal.SIGINT)


def as_request(case: Any, response: Any) -> Req | None:
    """The request Schemathesis sent, as a :class:`Req` we can change one slot of and resend."""
    operation = STATE.operations.get(case.operation.label)
    if operation is None:
        return None
    sent = response.request
    headers = {k: str(v) for k, v in sent.headers.items() if k.lower() not in HOP_BY_HOP}
    is_json = not isinstance(case.body, NotSet) and "json" in str(case.media_type or "")
    body = sent.body.encode() if isinstance(sent.body, str) else sent.body
    return Req(
        case.method.upper(),
        STATE.root,
        operation.path,
        dict(case.path_parameters or {}),
        headers,
        dict(case.query or {}),
        case.body if is_json else None,
        is_json,
        None if is_json or not isinstance(body, bytes) else body,
        STATE.identity(headers),
    )


def as_response(response: Any) -> Resp:
    headers = {
        str(k).lower(): ", ".join(v) if isinstance(v, list) else str(v) for k, v in response.headers.items()
    }
    text = response.content[:262144].decode(response.encoding or "utf-8", errors="replace")
    return Resp(response.status_code, headers, text, float(response.elapsed))


def _guarded(attack: Callable[[Any, Req, Resp], None]) -> Callable[[Any, Any, Any, Any], None]:
    """Run ``attack(case, req, resp)``; a spent budget ends it quietly, anything else is noted."""

    def after_response(self: Any, ctx: Any, response: Any, case: Any) -> None:
        started = time.monotonic()
        try:
            req = as_request(case, response)
            if req is not None:
                attack(case, req, as_response(response))
        except OutOfBudget:
            if STATE.claim("budget", "probes"):
                STATE.note("budget", probes=STATE.prober.sent)
        except Exception as exc:  # a bug of ours must show up as a tool error, not as a clean run
            if STATE.claim("error", type(exc).__name__, str(exc)[:80]):
                STATE.note(
                    "error",
                    check=attack.__name__,
                    error=f"{type(exc).__name__}: {exc}",
                    where=traceback.format_exc(limit=4)[-1500:],
                )
        finally:
            STATE.spend(type(self).__name__, time.monotonic() - started)

    # No functools.wraps: Schemathesis checks the method's own signature (ctx, response, case).
    after_response.__doc__ = attack.__doc__
    return after_response


def _positive(case: Any, req: Req) -> bool:
    """A valid request of the operation's own method: the base every attack starts from."""
    meta = getattr(case, "meta", None)
    mode = str(getattr(getattr(meta, "generation", None), "mode", "positive"))
    return "negative" not in mode.lower() and req.method == case.operation.method.upper()


def _operation(case: Any) -> Any:
    return STATE.operations[case.operation.label]


def _passive(state: ScanState, operation: Operation, req: Req, resp: Resp) -> None:
    attack_access.learn(state, req, resp)
    attack_access.function_level(state, operation, req, resp)
    attack_properties.scan(state, req, resp)


def _inject(state: ScanState, operation: Operation, req: Req, resp: Resp) -> None:
    if resp.status == 0:
        return
    for slot in slots(operation, req, state.app.auth_header):
        if state.claim("injection", operation.label, slot.location, slot.name):
            state.attempt(*INJECTIONS)
            attack_injection.inject(state, req, resp, slot)


def _register(name: str, doc: str, attacks: tuple[Attack, ...], *, positive_only: bool = True) -> None:
    """One Schemathesis check class (its name is the check's name in Schemathesis' reports)."""

    def run(case: Any, req: Req, resp: Resp) -> None:
        if positive_only and not _positive(case, req):
            return
        for attack in attacks:
            attack(STATE, _operation(case), req, resp)

    run.__name__ = name
    schemathesis.check(type(name, (), {"__doc__": doc, "after_response": _guarded(run)}))


INJECTIONS = ("sql_injection", "nosql_injection", "command_injection", "template_injection")
# The passive scanners first: they also fill the ownership ledger the access checks read.
_register("harness_passive", "Secrets, other users' tokens, stack traces, SQL errors, versions in answers.",
          (_passive,), positive_only=False)
_register("harness_access", "Object-level authorization, reads and writes, with two users.",
          (attack_access.probe_objects,))
_register("harness_auth", "Malformed, alg-none, weak-secret and expired tokens.", (attack_auth.tamper,))
_register("harness_injection", "SQL, NoSQL, OS command and template injection in every parameter.",
          (_inject,))
_register("harness_properties", "Mass assignment of privileged properties.", (attack_properties.mass_assign,))
_register("harness_resources", "ReDoS-style slow input and uncapped page sizes.",
          (attack_resources.slow_input, attack_resources.page_size))
_register("harness_ssrf", "URL inputs pointed at the harness' loopback listener.", (attack_ssrf.plant,))


__all__ = ["STATE", "after_call", "as_request", "as_response"]
