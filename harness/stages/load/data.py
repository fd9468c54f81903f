"""No data loss under load: every accepted upload is processed and stored, counted at the end."""

from __future__ import annotations

import time
from collections.abc import Sequence

from harness.app_profile import AppProfile
from harness.results import Result
from harness.stages.load.checks import data_loss_result
from harness.stages.load.runner import LocustRun, locust_version
from harness.targets.base import Environment

TERMINAL = ("completed", "failed")


def data_loss_check(
    env: Environment, app: AppProfile, run: LocustRun, rid: str, evidence: Sequence[str],
    timeout_s: float = 90.0,
) -> Result:
    """Wait for the accepted uploads to finish, then compare accepted, processed and stored (routes
    and table from ``scenarios/app.yaml``)."""
    import httpx

    accepted = [(str(i), int(t)) for i, t in run.summary.get("accepted", [])]
    tokens = [u.token for u in env.users]
    states: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=env.api_url, timeout=10) as client:
        while time.monotonic() < deadline:
            for upload_id, token in accepted:
                if states.get(upload_id) in TERMINAL:
                    continue
                response = client.get(app.route("upload", id=upload_id), headers=app.auth(tokens[token]))
                states[upload_id] = (
                    response.json().get("state", "?") if response.status_code == 200 else "missing"
                )
            if all(states.get(i) in TERMINAL for i, _ in accepted):
                break
            time.sleep(1.0)
    processed = sum(1 for s in states.values() if s == "completed")
    rows, how = _rows(env, app, [i for i, _ in accepted], states)
    tally: dict[str, int] = {}
    for state in states.values():
        tally[state] = tally.get(state, 0) + 1
    unfinished = sorted(i for i, s in states.items() if s != "completed")
    result = data_loss_result(rid, len(accepted), processed, rows, how, evidence)
    result.proven_on = f"{locust_version()}; states from the API; {how}"
    result.message += f"; states {tally}" + (
        f"; not completed: {', '.join(unfinished[:10])}" if unfinished else ""
    )
    for state, count in tally.items():
        result.measured[f"state_{state}"] = count
    return result


def _rows(env: Environment, app: AppProfile, ids: list[str], states: dict[str, str]) -> tuple[int, str]:
    if env.database_url and ids and app.tables.get("uploads"):
        try:
            import psycopg

            with psycopg.connect(env.database_url, connect_timeout=5) as conn:
                row = conn.execute(
                    f"SELECT count(*) FROM {app.table('uploads')} WHERE id::text = ANY(%s)", (ids,)
                ).fetchone()
                return int(row[0]) if row else 0, "rows counted in PostgreSQL"
        except Exception as exc:  # fall back to what the API says, and say so
            return sum(1 for s in states.values() if s != "missing"), f"rows via the API (database: {exc})"
    return sum(1 for s in states.values() if s != "missing"), "rows via the API"


__all__ = ["data_loss_check"]
