"""The DAST stage: what attackers try on an API (OWASP API Security Top 10, 2023), with two users.

- Schemathesis (v4 CLI in a subprocess) always runs against the OpenAPI document (URL or file,
  minus excluded operations), as the main test user with the second user as its peer; a fresh seed
  per run (recorded; ``--dast-seed`` replays), continuing after failures, within budgets of
  requests and seconds per profile. JUnit, HAR and its JSON report are kept as evidence.
- The harness' own checks (``catalog.py``) ride in Schemathesis' loop as Schemathesis checks
  (``loop_hooks.py``): object-level reads and writes, tampered tokens, mass assignment, what answers
  give away, slow input, page sizes, SSRF, function level, injection in every parameter. Around
  that run, the stage's own probes (``probes.py``): inventory, CORS, credentials in URLs, user
  enumeration, a bounded login burst. sqlmap confirms suspected SQL injection when installed.
- ZAP (zapv2) when reachable: ``ZAP_API_URL``/``ZAP_API_KEY``, else ``zap.sh -daemon`` on PATH,
  else recorded as ``skipped`` with the reason.
- Our passive header check runs on every response the stage sees (``DAST-HDR-<ZAP plugin id>``).
- The rules file (``policies/dast-rules.tsv``, else the built-in ``dast-rules.tsv``) decides which
  findings fail, warn or are dropped; it never waives.
- Active on environments the harness may attack (local, kind, existing unless marked production),
  passive elsewhere; every request goes through one prober (scope, exclusions, budget, rate).

Result ids: ``DAST-<risk>-<check>`` (e.g. ``DAST-API1-bola-write``, ``DAST-INJ-sql-injection``),
``ST-<check>``, ``ZAP-<plugin id>``, ``DAST-HDR-<plugin id>``, ``DAST-XSS-40012``; what each tool
did: ``DAST-schemathesis``, ``DAST-zap``, ``DAST-harness-checks`` as ``summary`` results (never
evidence; an error still gates) and in ``evidence/dast/run.json``.
"""

from __future__ import annotations

from harness.stages.dast.stage import DastStage

__all__ = ["DastStage"]
