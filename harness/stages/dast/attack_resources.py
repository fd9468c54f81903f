"""Unrestricted resource consumption (API4) inside the loop: slow crafted input, uncapped pages.

Slow input: the classic ReDoS input for nested quantifiers (``(a+)+``, ``([a-z0-9]+)*``...) is a
run of one character followed by one that breaks the match (Davis et al., "The Impact of Regular
Expression Denial of Service", 2018). The run grows in steps of four characters, so an exponential
pattern slows by ~16x per step and we stop at the first answer over the budget: a vulnerable API is
never pushed far past it. A finding needs the answer over the response-time budget, at least ten
times the operation's ordinary answer, and the same again when repeated.

Page size: a list operation's page-size parameter set to 100000 must be refused, or capped.
"""

from __future__ import annotations

import re

from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.slots import Slot, slots
from harness.stages.dast.spec import Operation
from harness.stages.dast.wire import Req, Resp

RUN_LENGTHS = (12, 16, 20, 24, 28)
SLOTS_PER_OPERATION = 4
PAGE_PARAM = re.compile(r"^(?:limit|page_?size|pageSize|per_?page|perPage|size|count|max|top|take|first)$")
HUGE_PAGE = 100000


def slow_input(state: ScanState, operation: Operation, base: Req, base_resp: Resp) -> None:
    """Grow a ReDoS input in each string slot until the answer exceeds the budget (or the run ends)."""
    if not state.enabled("slow_input") or base_resp.elapsed_s >= state.config.slow_response_s:
        return
    budget = state.config.slow_response_s
    candidates = [s for s in slots(operation, base, state.app.auth_header) if s.is_string and not s.is_url]
    for slot in candidates[:SLOTS_PER_OPERATION]:
        if not state.claim("slow_input", operation.label, slot.location, slot.name):
            continue
        state.attempt("slow_input")
        # The ordinary answer: a short, harmless value (a generated one may itself be half-way slow).
        ordinary = state.send(slot.put(base, "abc"), timeout_s=budget * 4).elapsed_s
        for length in RUN_LENGTHS:
            req, resp = _slow_probe(state, base, slot, length, budget)
            if resp.elapsed_s >= budget or resp.timed_out:
                _confirm(state, (base, slot, length, budget), ordinary, (req, resp))
                break


def _slow_probe(state: ScanState, base: Req, slot: Slot, length: int, budget: float) -> tuple[Req, Resp]:
    req = slot.put(base, "a" * length + "!")
    return req, state.send(req, timeout_s=budget * 4)


def _confirm(state: ScanState, probe: tuple[Req, Slot, int, float], ordinary: float,
             first: tuple[Req, Resp]) -> None:
    base, slot, length, budget = probe
    _, again = _slow_probe(state, base, slot, length, budget)
    slow = min(first[1].elapsed_s, again.elapsed_s)
    if (again.elapsed_s >= budget or again.timed_out) and slow >= 10 * max(ordinary, 0.001):
        req, resp = first
        state.record("slow_input", req, resp, f"{slot.label}: {length} x 'a' + '!' is answered in "
                     f"{first[1].elapsed_s:.2f}s and {again.elapsed_s:.2f}s (budget {budget:.2f}s; 'abc' is "
                     f"answered in {ordinary:.3f}s)", users=[req.user])


def page_size(state: ScanState, operation: Operation, base: Req, base_resp: Resp) -> None:
    """Ask a list operation for 100000 items; a 2xx that echoes that size or exceeds the cap fails."""
    if not state.enabled("page_size") or operation.method != "GET" or not base_resp.ok:
        return
    for param in operation.params("query"):
        name = str(param.get("name", ""))
        if not PAGE_PARAM.match(name) or not state.claim("page_size", operation.label, name):
            continue
        state.attempt("page_size")
        req = base.copy(params={**base.params, name: HUGE_PAGE})
        resp = state.send(req)
        items = _items(resp)
        echoed = re.search(rf"\"{re.escape(name)}\"\s*:\s*{HUGE_PAGE}\b", resp.text) is not None
        if resp.ok and (echoed or items > state.config.max_page_items):
            why = f"echoes {name}={HUGE_PAGE}" if echoed else f"returned {items} items"
            state.record(
                "page_size",
                req,
                resp,
                f"{name}={HUGE_PAGE} was answered {resp.status} and {why} "
                f"(cap expected at or below {state.config.max_page_items})",
                users=[req.user],
            )


def _items(resp: Resp) -> int:
    body = resp.json()
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        return max((len(v) for v in body.values() if isinstance(v, list)), default=0)
    return 0


__all__ = ["page_size", "slow_input"]
