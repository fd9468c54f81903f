"""Steps that look behind the API: processed objects, rows, SSE subscribers, drill invariants."""

from __future__ import annotations

import json
import time
from typing import Any

from harness.stages.functional.backends import TERMINAL, sha256
from harness.stages.functional.context import Context, StepFailed, StepSkipped, Upload, poll, subset_mismatch

Scope = dict[str, Any] | None


def processed(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, Any]:
    """The processed object, its manifest and extras exist and agree with what was uploaded."""
    target = ctx.upload(spec["of"], scope)
    raw = ctx.backends.get_object("processed", f"{target.id}/manifest.json")
    if raw is None:
        raise StepFailed(f"processed {target.id}: no manifest.json in the processed bucket")
    manifest: dict[str, Any] = json.loads(raw)
    checks = {"upload_id": target.id, "original": {"sha256": target.sha256, "size": target.size}}
    gap = subset_mismatch(checks, manifest) or subset_mismatch(expect.get("manifest", {}), manifest)
    if gap:
        raise StepFailed(f"processed {target.id}: manifest {gap}")
    for item in [manifest.get("result") or {}, *(manifest.get("extras") or [])]:
        _check_artifact(ctx, target, item)
    names = {str(i.get("name")) for i in [manifest.get("result") or {}, *(manifest.get("extras") or [])]}
    missing = sorted(set(expect.get("objects", [])) - names - {"manifest.json"})
    if missing:
        raise StepFailed(f"processed {target.id}: expected objects {missing} (have {sorted(names)})")
    return manifest


def _check_artifact(ctx: Context, target: Upload, item: dict[str, Any]) -> None:
    name = item.get("name")
    body = ctx.backends.get_object("processed", f"{target.id}/{name}")
    if body is None:
        raise StepFailed(f"processed {target.id}: {name} is in the manifest but not in the bucket")
    if sha256(body) != item.get("sha256") or len(body) != item.get("size"):
        raise StepFailed(f"processed {target.id}: {name} does not match its manifest checksum/size")


def db(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> Any:
    """The row of an upload (or of each upload of a list) matches ``expect.row`` / is ``absent``."""
    ctx.need_database()
    local = (scope or {}).get(spec["of"], ctx.vars.get(spec["of"]))
    if isinstance(local, list):
        return [_db_row(ctx, target, expect) for target in ctx.upload_list(spec["of"])]
    return _db_row(ctx, ctx.upload(spec["of"], scope), expect)


def _db_row(ctx: Context, target: Upload, expect: dict[str, Any]) -> dict[str, Any] | None:
    row = ctx.backends.row(target.id)
    if expect.get("absent"):
        if row is not None:
            raise StepFailed(f"db: upload {target.id} has a row, expected none")
        return None
    if row is None:
        raise StepFailed(f"db: upload {target.id} has no row")
    gap = subset_mismatch(expect.get("row", {}), row)
    if gap:
        raise StepFailed(f"db: upload {target.id}: {gap}")
    if row["sha256"] != target.sha256:
        raise StepFailed(f"db: upload {target.id}: sha256 {row['sha256']} != sent {target.sha256}")
    return row


def subscribers(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> int:
    """Server-side SSE subscriptions of an upload's channel reach ``count`` (default 0) in time."""
    target = ctx.upload(spec["of"], scope)
    wanted, within = int(expect.get("count", 0)), float(expect.get("within_s", 10))
    try:
        count, took = poll(lambda: ctx.backends.subscribers(target.id), lambda n: n == wanted, within, 0.1)
    except LookupError as exc:
        raise StepSkipped(str(exc)) from None
    if count != wanted:
        raise StepFailed(f"{count} server-side subscriber(s) of {target.id} after {within:.0f}s, "
                         f"expected {wanted} (the server kept a stream the client left)")
    ctx.measure("subscribers_released_s", took)
    return count


def until(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> list[Upload]:
    """Wait until ``count`` uploads of a list are in ``state`` (e.g. processing, to crash a worker)."""
    ctx.need_database()
    uploads = ctx.upload_list(spec["of"])
    wanted, state = int(spec.get("count", 1)), spec["state"]

    def in_state() -> list[Upload]:
        rows = ctx.backends.rows([u.id for u in uploads])
        return [u for u in uploads if rows.get(u.id, {}).get("state") == state]

    hits, _ = poll(in_state, lambda found: len(found) >= wanted, float(spec.get("timeout_s", 60)), 0.05)
    if len(hits) < wanted:
        raise StepFailed(f"until: only {len(hits)} of {len(uploads)} uploads were {state} in time")
    ctx.measure(f"{state}_when_acted", len(hits))
    return hits


def invariants(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: Scope) -> dict[str, int]:
    """accepted == rows == processed objects; each processed exactly once; nothing orphaned."""
    ctx.need_database()
    uploads = ctx.upload_list(spec.get("of"))
    state = spec.get("state", "completed")
    rows = _settled(ctx, uploads, float(spec.get("timeout_s", 120)))
    problems: list[str] = []
    missing = [u.id for u in uploads if u.id not in rows]
    wrong = [f"{i} is {r['state']}" for i, r in rows.items() if r["state"] != state]
    duplicates = [f"{i} committed {r['completions']}x" for i, r in rows.items() if r["completions"] > 1]
    objects = sum(1 for r in rows.values() if r["result_key"] and _has_objects(ctx, r))
    completed = sum(1 for r in rows.values() if r["state"] == "completed")
    problems += [f"accepted but no row: {', '.join(missing[:5])}"] if missing else []
    problems += [f"not {state}: {'; '.join(wrong[:5])}"] if wrong else []
    problems += [f"processed more than once: {'; '.join(duplicates[:5])}"] if duplicates else []
    if state == "completed" and objects != completed:
        problems.append(f"{completed} completed rows but {objects} with their processed objects")
    extra = _extra_rows(ctx)
    problems += [f"rows nobody was told about: {', '.join(extra[:5])}"] if extra else []
    orphans = _orphans(ctx) if spec.get("orphans", True) else []
    problems += [f"orphaned objects: {', '.join(orphans[:5])}"] if orphans else []
    figures = {"accepted": len(uploads), "rows": len(rows), "completed": completed,
               "processed_objects": objects, "duplicates": len(duplicates), "orphans": len(orphans),
               "max_attempts": max((int(r["attempts"]) for r in rows.values()), default=0)}
    for name, value in figures.items():
        ctx.measure(f"invariant_{name}", value)
    if problems:
        raise StepFailed("invariants broken: " + " | ".join(problems))
    return figures


def _settled(ctx: Context, uploads: list[Upload], timeout: float) -> dict[str, dict[str, Any]]:
    rows, _ = poll(lambda: ctx.backends.rows([u.id for u in uploads]),
                   lambda found: all(r["state"] in TERMINAL for r in found.values()), timeout, 0.25)
    ctx.measure("settled_s", time.monotonic() - ctx.started)
    return rows


def _has_objects(ctx: Context, row: dict[str, Any]) -> bool:
    keys = set(ctx.backends.keys("processed", f"{row['id']}/"))
    return row["result_key"] in keys and f"{row['id']}/manifest.json" in keys


def _extra_rows(ctx: Context) -> list[str]:
    if not ctx.isolated:
        return []
    ids = [u.id for u in ctx.users.values() if u.id]
    return sorted(set(ctx.backends.rows_of_users(ids)) - set(ctx.uploads))


def _orphans(ctx: Context, grace_s: float = 10.0) -> list[str]:
    """Raw objects (of this scenario's users; of anyone when exclusive) with no row, and multipart
    uploads left open; an in-flight upload of a concurrent scenario gets ``grace_s`` to settle."""
    return poll(lambda: _orphan_candidates(ctx), lambda found: not found, grace_s, 0.5)[0]


def _orphan_candidates(ctx: Context) -> list[str]:
    keys = ctx.backends.keys("raw")
    by_id = {key.rsplit("/", 1)[-1]: key for key in keys}
    unknown = sorted(set(by_id) - ctx.backends.known_ids(list(by_id)))
    mine = {u.id for u in ctx.users.values() if u.id}
    found = [f"raw:{by_id[i]}" for i in unknown
             if ctx.healing.get("exclusive") or ctx.backends.object_owner("raw", by_id[i]) in mine]
    if ctx.healing.get("exclusive"):
        found += [f"multipart:{m}" for m in ctx.backends.open_multipart("raw")]
    processed = {key.split("/", 1)[0] for key in ctx.backends.keys("processed")}
    ghost = sorted(processed - ctx.backends.known_ids(sorted(processed)))
    return found + [f"processed:{g}/" for g in ghost]


__all__ = ["db", "invariants", "processed", "subscribers", "until"]
