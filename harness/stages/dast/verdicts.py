"""From what the harness' checks wrote (findings files, attempt counts) to checks, skips and findings.

Every check of ``catalog.CHECKS`` ends in exactly one state: it could not run in this mode or
environment (skipped, with the reason), it had nothing to work on in this API (skipped, naming
what was missing), it ran and found nothing (passed, with how many targets it tried), or it found
something (judged by the rules file).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stages.dast.catalog import CHECKS, ApiCheck, check
from harness.stages.dast.findings import Check, Finding

NO_CANDIDATE = {
    "bola_read": "no GET with a path parameter got a test user's request with another user's identifier",
    "bola_write": "no PUT/PATCH/DELETE with a path parameter got a request naming another user's identifier",
    "malformed_token": "no GET answered a test user 2xx while refusing an anonymous request",
    "jwt_alg_none": "the test users' tokens are not JWTs (or no GET refused anonymous requests)",
    "jwt_weak_secret": "the test users' tokens are not HMAC-signed JWTs",
    "expired_token": "no token the harness could sign (its secret was not guessable)",
    "mass_assignment": "no POST/PUT/PATCH with a JSON object body was answered 2xx",
    "rate_limit": "no login operation in the document and no [dast] expensive_operations",
    "page_size": "no GET list operation with a page-size parameter (limit, page_size...) answered 2xx",
    "slow_input": "no operation with a string input answered within the response-time budget",
    "function_level": "no operation whose path or tags say admin/internal",
    "ssrf": "no URL-typed input (format uri, or named url/callback/webhook/avatar...) in the document",
    "user_enumeration": "no login/reset operation with a user field matching a known test user",
    "sql_injection": "no operation with parameters answered a valid request",
    "nosql_injection": "no operation with parameters answered a valid request",
    "command_injection": "no operation with parameters answered a valid request",
    "template_injection": "no operation with parameters answered a valid request",
    "data_exposure": "no response was scanned",
    "error_disclosure": "no response was scanned",
    "version_disclosure": "no response was scanned",
}


@dataclass(slots=True)
class Records:
    """What the findings files say: findings, SSRF probes, attempts, budget stops, errors."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    ssrf: list[dict[str, Any]] = field(default_factory=list)
    tried: Counter[str] = field(default_factory=Counter)
    spent: dict[str, float] = field(default_factory=dict)  # seconds per in-loop check class
    budget: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    probe_requests: int = 0
    seen_requests: int = 0

    def read(self, path: Path) -> Records:
        """Add the lines of one findings file (missing file: nothing)."""
        if not path.is_file():
            return self
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                self._add(json.loads(line) if line.strip() else {})
            except ValueError:  # a process killed mid-line: what it wrote before still counts
                self.errors.append(f"{path.name}:{number}: a broken line (the writer was stopped)")
        return self

    def _add(self, data: dict[str, Any]) -> None:
        kind = data.get("kind")
        if kind == "finding":
            self.findings.append(data)
        elif kind == "ssrf":
            self.ssrf.append(data)
        elif kind == "stats":
            self.tried.update(data.get("tried", {}))
            for name, seconds in dict(data.get("spent_s", {})).items():
                self.spent[name] = self.spent.get(name, 0.0) + float(seconds)
            self.probe_requests += int(data.get("probe_requests", 0))
            self.seen_requests += int(data.get("seen_requests", 0))
        elif kind == "budget":
            self.budget.append(", ".join(f"{k} {v}" for k, v in data.items() if k != "kind"))
        elif kind == "error":
            self.errors.append(f"{data.get('check')}: {data.get('error')}\n{data.get('where', '')}")

    def ssrf_hits(self, nonces: set[str]) -> list[dict[str, Any]]:
        """The SSRF probes whose nonce reached the listener, as finding records."""
        return [
            {
                **probe,
                "kind": "finding",
                "check": "ssrf",
                "detail": f"{probe.get('slot')}: the server fetched http://127.0.0.1:<listener>/ssrf/"
                f"{probe['nonce']} (the harness' listener received it)",
            }
            for probe in self.ssrf
            if probe.get("nonce") in nonces
        ]


def to_finding(record: dict[str, Any], location: str, proven_on: str) -> Finding:
    return as_check(check(str(record["check"])), 0, proven_on).finding(
        location, evidence=str(record.get("detail", "")), request=str(record.get("request", "")),
        response=str(record.get("response", "")), users=[str(u) for u in record.get("users", []) if u],
        attachments=[str(a) for a in record.get("attachments", [])])


def as_check(spec: ApiCheck, tried: int, proven_on: str) -> Check:
    return Check(spec.rule_id, spec.result_id, spec.title, spec.severity, spec.controls,
                 measured={"targets_tried": tried}, proven_on=proven_on, remediation=spec.remediation)


def why_not(spec: ApiCheck, *, active: bool, mode_reason: str, users: int, ran: set[str]) -> str | None:
    """Why ``spec`` did not run here (None: it ran, or would have had something to work on)."""
    if spec.active and not active:
        return f"passive mode ({mode_reason}): this check sends crafted input"
    if spec.peers and users < 2:
        return f"needs two test users (the environment has {users})"
    if spec.where == "loop" and "schemathesis" not in ran:
        return "the Schemathesis run it rides on did not complete"
    return None


@dataclass(frozen=True, slots=True)
class Context:
    """What decides whether a check could run: the mode, the users, the tools that ran."""

    active: bool
    mode_reason: str
    users: int
    ran: set[str]
    loop_proof: str  # proven_on of the checks in Schemathesis' loop
    probe_proof: str  # proven_on of the stage's own probes


def check_states(
    tried: Counter[str], found: set[str], ctx: Context
) -> tuple[list[Check], list[tuple[Check, str]]]:
    """The catalog checks that ran (or found something), and those skipped with the reason."""
    checks, skipped = [], []
    for spec in CHECKS:
        why = why_not(spec, active=ctx.active, mode_reason=ctx.mode_reason, users=ctx.users, ran=ctx.ran)
        attempts = tried.get(spec.name, 0)
        check = as_check(spec, attempts, ctx.loop_proof if spec.where == "loop" else ctx.probe_proof)
        if spec.result_id in found or not (why or not attempts):
            checks.append(check)
        else:
            skipped.append((check, why or f"nothing to test: {NO_CANDIDATE.get(spec.name, '')}"))
    return checks, skipped


def enabled_names(*, active: bool, users: int) -> list[str]:
    """The checks to run in this mode with this many users."""
    return [c.name for c in CHECKS if (active or not c.active) and (users >= 2 or not c.peers)]


__all__ = [
    "NO_CANDIDATE",
    "Context",
    "Records",
    "as_check",
    "check_states",
    "enabled_names",
    "to_finding",
    "why_not",
]
