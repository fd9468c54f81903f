"""Steps that abuse the app the way issue 17 did: hostile files, one user hogging (slow clients are
in :mod:`steps_slow`).

* ``hostile``: a catalog file (:mod:`hostile`) uploaded while the memory of a component's replicas
  is sampled through the Control; fails when one replica grew past the job budget the manifests
  declare, when the upload is not final within its settle bound, or when its reason leaks internals.
* ``hold``: one user opens ``count`` event streams (or uploads whose bodies trickle on at a rate
  above the server's minimum, over raw sockets) and keeps them open while the ``during`` steps
  (another user's flow) run; fails when the abuser gets a 5xx or is never refused with the
  expected status (429), or when the other user's flow breaks. Several holders (streams of
  several uploads, each by its owner) each within the per-user limit (``within_limit``: nothing
  may be refused) show what replica-wide resource they still exhaust together.

Every bound or budget is written into ``measured`` with where it came from (the scenario's
``source``, the manifests, the Control), and the messages start with the class they guard.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from harness.stages.functional.budget import MIB, MemorySampler, job_budget
from harness.stages.functional.context import Context, StepFailed, Upload
from harness.stages.functional.holders import UploadHolder
from harness.stages.functional.hostile import hostile_file
from harness.stages.functional.payloads import from_bytes
from harness.stages.functional.steps_env import control_of
from harness.stages.functional.steps_http import auth_headers, send_upload
from harness.stages.functional.steps_slow import address_of, failed, request_head

Scope = dict[str, Any] | None
During = Callable[[], list[str]]  # runs the nested steps; returns the broken ones' messages
REFUSED = (201, 400, 413, 415, 422)  # a hostile file may be accepted (then failed) or refused


def hostile(ctx: Context, spec: dict[str, Any], expect: dict[str, Any],
            scope: Scope) -> Upload | dict[str, Any]:
    """Upload a catalog case; check the memory budget, the settling time and the reason. Returns the
    upload when accepted (``as:`` names it for a later ``download``), else what was observed."""
    case = str(spec["case"])
    size = int(spec.get("size", 1))
    kind, data = hostile_file(case, size)
    sampler = MemorySampler(control_of(ctx), str(spec["sample"])) if spec.get("sample") else None
    budget = None
    if sampler is not None and expect.get("budget"):
        budget = job_budget(ctx, sampler.control, sampler.component, str(expect["budget"]["divide_by"]))
    settle = expect.get("settle") or {"within_s": 60, "source": "default"}
    began = time.monotonic()
    with sampler or contextlib.nullcontext():
        exchange, accepted = send_upload(ctx, spec, from_bytes(kind, data))
        row = _final_row(ctx, accepted, began + float(settle["within_s"])) if accepted else None
    took = time.monotonic() - began
    replica, rise = sampler.rise if sampler is not None else ("-", 0)
    facts: dict[str, Any] = {"case": case, "size": size, "bytes": len(data), "status": exchange.status,
                             "state": (row or {}).get("state"), "settle_s": round(took, 2),
                             "rise_mib": round(rise / MIB, 1), "replica": replica}
    _measure(ctx, case, facts, budget.source if budget else None, settle)
    if exchange.status is None or exchange.status not in expect.get("status", REFUSED):
        raise StepFailed(f"hostile content: {case} ({len(data)} B) answered {exchange.status}, expected "
                         f"{expect.get('status', REFUSED)}")
    if budget is not None and rise > budget.bytes:
        raise failed(f"resource budget: {case} ({len(data)} B) grew {replica} by {rise // MIB} MiB, over "
                      f"the budget of {budget.bytes // MIB} MiB per job ({budget.source})", facts)
    if accepted is None:
        return facts
    _check_final(case, accepted, row, expect, settle, took, facts)
    return accepted


def _final_row(ctx: Context, upload: Upload, deadline: float) -> dict[str, Any] | None:
    """The upload's row once final (completed/failed), or the last one seen at the deadline."""
    headers = auth_headers(ctx, upload.user)
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        response = ctx.api.client.get(ctx.app.route("upload", id=upload.id), headers=headers)
        last = response.json() if response.status_code == 200 else last
        if last is not None and last.get("state") in ("completed", "failed"):
            return last
        time.sleep(0.1)
    return last


def _check_final(case: str, upload: Upload, row: dict[str, Any] | None, expect: dict[str, Any],
                 settle: dict[str, Any], took: float, facts: dict[str, Any]) -> None:
    state = (row or {}).get("state")
    if state not in ("completed", "failed"):
        raise failed(f"settling: {case} upload {upload.id} still {state!r} after {took:.1f} s; bound "
                      f"{settle['within_s']} s ({settle.get('source', 'scenario')})", facts)
    wanted = expect.get("state", ["completed", "failed"])
    if state not in (wanted if isinstance(wanted, list) else [wanted]):
        raise failed(f"hostile content: {case} ended {state}, expected {wanted} "
                      f"({(row or {}).get('failure_reason')})", facts)
    reason = str((row or {}).get("failure_reason") or "")
    pattern = expect.get("reason_not_match")
    if pattern and re.search(str(pattern), reason):
        raise failed(f"settling: {case} failed with a reason that leaks internals ({reason[:120]!r} "
                      f"matches {pattern!r})", facts)


def _measure(ctx: Context, case: str, facts: dict[str, Any], budget_source: str | None,
             settle: dict[str, Any]) -> None:
    key = re.sub(r"[^a-z0-9]+", "_", f"{case}_{facts['size']}")
    ctx.measure(f"{key}_rise_mib", facts["rise_mib"])
    ctx.measure(f"{key}_settle_s", facts["settle_s"])
    ctx.measure(f"{key}_state", str(facts["state"] or f"refused {facts['status']}"))
    ctx.measure(f"{key}_settle_bound", f"{settle['within_s']} s ({settle.get('source', 'scenario')})")
    if budget_source:
        ctx.measure("memory_budget", budget_source)


# -- one user hogs: event streams held ------------------------------------------------------------


def hold(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope,
         during: During) -> dict[str, Any]:
    """One user holds ``streams`` (of an upload) or ``uploads`` open while ``during`` runs."""
    what = "streams" if "streams" in spec else "uploads"
    holders = spec[what].get("of")
    per_holder = _per_holder(ctx, spec[what])
    count = per_holder * (len(holders) if isinstance(holders, list) else 1)
    opened = _hold_streams(ctx, spec["streams"], per_holder, scope, during) if what == "streams" \
        else _hold_uploads(ctx, spec["uploads"], during)
    statuses, first, broken = opened
    held = statuses.get(200, 0) + statuses.get(0, 0)  # 0: an upload still open (its body still coming)
    facts = {"what": what, "requested": count, "held": held, "statuses": dict(statuses),
             "first_refusal": first}
    ctx.measure(f"{what}_held", held)
    ctx.measure(f"{what}_first_refusal_at", first.get("at", 0))
    _check_hold(expect, facts, broken)
    return facts


Opened = tuple[Counter[int], dict[str, Any], list[str]]


def _per_holder(ctx: Context, spec: dict[str, Any]) -> int:
    """``count``, or ``count`` per running replica of ``per_replica_of`` (a per-replica limit is only
    passed when every replica gets past it: the autoscaler may have added replicas since the
    manifests' minimum, and the front door spreads requests over all of them)."""
    count = int(spec["count"])
    component = spec.get("per_replica_of")
    if not component:
        return count
    replicas = [r for r in control_of(ctx).replicas(str(component)) if r.ready]
    ctx.measure(f"{component}_replicas_at_hold", len(replicas))
    return count * max(len(replicas), 1)


def _hold_streams(ctx: Context, spec: dict[str, Any], per_holder: int, scope: Scope,
                  during: During) -> Opened:
    """``count`` streams of each upload in ``of``, opened by its owner (or ``user``): several holders
    each within a per-user limit can still together exhaust what a replica shares among all users."""
    names = spec["of"] if isinstance(spec["of"], list) else [spec["of"]]
    holders = [(target, auth_headers(ctx, spec.get("user", target.user)))
               for target in (ctx.upload(str(name), scope) for name in names)]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    client = httpx.Client(base_url=ctx.env.api_url, limits=limits, timeout=httpx.Timeout(15.0),
                          transport=ctx.api.transport)
    held: list[httpx.Response] = []
    statuses: Counter[int] = Counter()
    first: dict[str, Any] = {}
    try:
        opening = ((target, headers) for target, headers in holders for _ in range(per_holder))
        for n, (target, headers) in enumerate(opening, start=1):
            request = client.build_request("GET", ctx.app.route("events", id=target.id), headers=headers)
            response = client.send(request, stream=True)
            statuses[response.status_code] += 1
            if response.status_code == 200:
                held.append(response)
                continue
            response.read()
            response.close()
            first = first or {"at": n, "status": response.status_code, "headers": dict(response.headers),
                              "body": response.text[:200]}
        return statuses, first, during()
    finally:
        for response in held:
            response.close()
        client.close()


def _hold_uploads(ctx: Context, spec: dict[str, Any], during: During) -> Opened:
    """Uploads whose bodies keep coming at ``rate_bps`` each (status 0: still open, as wanted), then
    ``probes`` complete small uploads of the same user: a server may read a refused body to its end
    before answering (so a refusal of a held upload never shows), but a complete one is answered."""
    body = {"mode": "body", "path": spec.get("path") or ctx.app.route("uploads"), "user": spec.get("user"),
            "length": int(spec.get("length", 8 * 1024 * 1024))}
    head, rest = request_head(ctx, body)
    with UploadHolder(address_of(ctx, {}), head, rest, float(spec.get("rate_bps", 8192))) as holder:
        for _ in range(int(spec["count"])):
            holder.open_one()
        broken = during()
        holder.collect()
        for _ in range(int(spec.get("probes", 2))):
            exchange, _ = send_upload(ctx, {"user": spec.get("user")}, from_bytes("text", b"probe\n"))
            holder.record(exchange.status or -1, exchange.response_headers)
    return holder.statuses, holder.first_refusal, broken


def _check_hold(expect: dict[str, Any], facts: dict[str, Any], broken: list[str]) -> None:
    statuses, first, what = facts["statuses"], facts["first_refusal"], facts["what"]
    refused = int(expect.get("refused", 429))
    errors = {s: n for s, n in statuses.items() if s >= 500 or s == -1}  # -1: closed without answer
    if errors:
        raise failed(f"fairness: the user holding {what} got server errors or closes {errors} (expected "
                     f"a {refused} for them alone)", facts)
    if broken:
        raise failed(f"fairness: while one user held {facts['held']} {what}, another user's step "
                     f"broke: {broken[0]}", facts)
    if expect.get("within_limit"):
        if facts["held"] != facts["requested"]:
            raise failed(f"fairness: holders each within the per-user limit held {facts['held']} of "
                         f"{facts['requested']} {what} (statuses {statuses})", facts)
        return
    if first.get("status") != refused:
        raise failed(f"fairness: one user opened {facts['requested']} {what} and was never refused "
                     f"with {refused} (statuses {statuses}): no per-user limit", facts)
    for name, pattern in (expect.get("refusal_headers") or {}).items():
        value = {k.lower(): v for k, v in first["headers"].items()}.get(name.lower())
        if value is None or not re.search(str(pattern), value):
            raise failed(f"fairness: the {refused} lacks {name} ~ {pattern!r} (got {value!r})", facts)


__all__ = ["hold", "hostile"]
