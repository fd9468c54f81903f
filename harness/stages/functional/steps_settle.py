"""Settling and cleanup drills (issue 17): whatever goes wrong, every upload ends, and nothing of it
is left behind, within a bound made of the app's own settings (:mod:`bounds`).

* ``crash``: every time the job of an upload starts (again), every replica of a component is killed
  (SIGKILL through the Control, what an OOM kill looks like) and started again, up to ``times``.
* ``settled``: the uploads of ``of`` reach ``completed``/``failed`` within ``expect.within``.
  Observation: the rows in PostgreSQL, read by the harness; a retry that waits for unrelated
  traffic, or a row left ``processing`` by a job nobody runs any more, fails it.
* ``abandon``: uploads stream straight to one replica until the AWS endpoint lists their S3
  multipart uploads; that replica is killed and replaced; those multipart uploads must be gone
  within ``expect.within``. Observation: ``ListMultipartUploads`` of the raw bucket through the
  environment's AWS endpoint, independent of the app's own bookkeeping (Redis).

Bounds are counted from the start of the checking step (later than the trouble began: never less
time for the app than the bound says) and written into ``measured`` with their sources.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

from harness.stages.functional.backends import TERMINAL
from harness.stages.functional.bounds import Bound, bound_of
from harness.stages.functional.context import Context, ScenarioError, poll
from harness.stages.functional.holders import UploadHolder
from harness.stages.functional.steps_env import control_of
from harness.stages.functional.steps_slow import failed, replica_address, request_head

Scope = dict[str, Any] | None
SETTLING, CLEANUP = "settling", "cleanup"  # the class names of tests/fixtures/planted/EXPECTED.yaml


def crash(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Kill ``component`` at each (re)start of the job of ``of``; stop early once the row is final."""
    ctx.need_database()
    control, target = control_of(ctx), ctx.upload(str(spec["of"]), scope)
    component, wait = str(spec.get("component", "worker")), float(spec.get("timeout_s", 60))
    ctx.healing.setdefault("replicas", {}).setdefault(component, len(control.replicas(component)))
    kills: list[int] = []
    row: dict[str, Any] = {}
    for _ in range(int(spec.get("times", 3))):
        row = _next_start(ctx, target.id, kills[-1] if kills else 0, wait)
        if row.get("state") != "processing":
            break
        for index in range(len(control.replicas(component))):
            control.kill(component, index)
        kills.append(int(row["attempts"]))
        control.start(component)
    facts = {"upload": target.id, "killed_at_attempts": kills, "state": row.get("state")}
    ctx.measure(f"crash_{component}_kills", len(kills))
    if not kills or row.get("state") == "completed":
        raise ScenarioError(f"crash drill: upload {target.id} was {row.get('state')!r} after {len(kills)} "
                            "kill(s): its job ran too fast to be killed mid-way (slow it down, e.g. "
                            "WORKER_STEP_DELAY_MS)")
    return facts


def _next_start(ctx: Context, upload_id: str, after: int, wait_s: float) -> dict[str, Any]:
    """The row once a start later than attempt ``after`` runs (or it is final, or ``wait_s`` passed)."""

    def started(row: dict[str, Any]) -> bool:
        return row.get("state") in TERMINAL or (row.get("state") == "processing" and row["attempts"] > after)

    row, _ = poll(lambda: ctx.backends.row(upload_id) or {}, started, wait_s, 0.05)
    return row if started(row) else {**row, "state": f"{row.get('state')} (not started again)"}


def settled(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> list[dict[str, Any]]:
    """Every upload of ``of`` is final within the bound; optionally in ``state`` with a clean reason."""
    ctx.need_database()
    uploads = ctx.upload_list(str(spec["of"]))
    bound = bound_of(ctx, expect["within"])
    rows, took = poll(lambda: ctx.backends.rows([u.id for u in uploads]),
                      lambda found: _all_final(found, uploads), bound.seconds, 0.2)
    facts = [{"upload": u.id, "state": rows.get(u.id, {}).get("state"), "attempts": rows.get(u.id, {})
              .get("attempts"), "reason": rows.get(u.id, {}).get("failure_reason")} for u in uploads]
    name = str(spec["of"])
    ctx.measure(f"settle_{name}_s", took)
    ctx.measure(f"settle_{name}_bound", str(bound))
    stuck = [f for f in facts if f["state"] not in TERMINAL]
    if stuck:
        raise failed(f"{SETTLING}: upload {stuck[0]['upload']} still {stuck[0]['state']!r} (attempts "
                     f"{stuck[0]['attempts']}) {took:.1f} s later; bound {bound}", facts)
    _check_outcome(expect, facts)
    return facts


def _all_final(rows: dict[str, dict[str, Any]], uploads: list[Any]) -> bool:
    return all(rows.get(u.id, {}).get("state") in TERMINAL for u in uploads)


def _check_outcome(expect: dict[str, Any], facts: list[dict[str, Any]]) -> None:
    wanted = expect.get("state", list(TERMINAL))
    wanted = wanted if isinstance(wanted, list) else [wanted]
    pattern = expect.get("reason_not_match")
    for fact in facts:
        if fact["state"] not in wanted:
            raise failed(f"{SETTLING}: upload {fact['upload']} ended {fact['state']}, expected {wanted} "
                         f"({fact['reason']})", facts)
        if pattern and re.search(str(pattern), str(fact["reason"] or "")):
            raise failed(f"{SETTLING}: upload {fact['upload']} failed with a reason that leaks internals "
                         f"({str(fact['reason'])[:120]!r} matches {pattern!r})", facts)


# -- a replica killed mid-upload ------------------------------------------------------------------


def abandon(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """Kill the replica an upload streams to once S3 has its multipart upload; it must be cleaned up."""
    control, component = control_of(ctx), str(spec.get("kill", "api"))
    index, address = replica_address(ctx, component)
    bound = bound_of(ctx, expect["within"])
    head, piece = request_head(ctx, {"mode": "body", "path": ctx.app.route("uploads"),
                                     "user": spec.get("user"), "length": int(spec["length"])})
    before = set(ctx.backends.open_multipart("raw"))
    ctx.healing.setdefault("replicas", {}).setdefault(component, len(control.replicas(component)))
    with UploadHolder(address, head, piece * 16, float(spec.get("rate_bps", 2 * 1024 * 1024))) as holder:
        for _ in range(int(spec.get("count", 1))):
            holder.open_one()
        left = _new_multipart(ctx, before, float(spec.get("timeout_s", 30)), holder)
        control.kill(component, index)
    control.start(component)
    try:
        return _cleaned(ctx, left, bound)
    finally:
        _abort(ctx, left)  # the harness leaves nothing behind, whatever the app did


def _new_multipart(ctx: Context, before: set[str], timeout: float, holder: UploadHolder) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and holder.open:
        started = set(ctx.backends.open_multipart("raw")) - before
        if started:
            return started
        time.sleep(0.1)
    holder.collect()
    raise ScenarioError(f"abandon: no S3 multipart upload was started within {timeout:g} s (a body "
                        "longer than the app's part size, sent fast enough, starts one); answers: "
                        f"{dict(holder.statuses)} {holder.first_refusal}")


def _cleaned(ctx: Context, left: set[str], bound: Bound) -> dict[str, Any]:
    remaining, took = poll(lambda: left & set(ctx.backends.open_multipart("raw")), lambda found: not found,
                           bound.seconds, 0.25)
    facts = {"abandoned": sorted(left), "remaining": sorted(remaining), "after_s": round(took, 2),
             "bound": str(bound)}
    ctx.measure("abandoned_multipart_cleaned_s", took)
    ctx.measure("abandoned_multipart_bound", str(bound))
    if remaining:
        raise failed(f"{CLEANUP}: {len(remaining)} S3 multipart upload(s) of a killed replica still open "
                     f"{took:.1f} s later ({sorted(remaining)[0]}); bound {bound}", facts)
    return facts


def _abort(ctx: Context, left: set[str]) -> None:
    for entry in left:
        key, _, upload_id = entry.rpartition("#")
        with contextlib.suppress(Exception):  # already aborted (by the app, as it should be)
            ctx.backends.s3.abort_multipart_upload(Bucket=ctx.backends.bucket("raw"), Key=key,
                                                   UploadId=upload_id)


__all__ = ["abandon", "crash", "settled"]
