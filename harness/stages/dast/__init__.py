"""The DAST stage: dynamic security testing of the running app.

- Schemathesis (v4 CLI in a subprocess) always runs against the live OpenAPI document with all
  checks, as the main test user with the second user as its peer (object-level authorization);
  fixed seed; example budget per profile; JUnit and HAR kept as evidence.
- ZAP (zapv2) when reachable: ``ZAP_API_URL``/``ZAP_API_KEY``, else ``zap.sh -daemon`` on PATH,
  else recorded as ``skipped`` with the reason.
- Our passive header check runs on every response the stage sees (``DAST-HDR-<ZAP plugin id>``).
- ``policies/dast-rules.tsv`` (ZAP baseline format) decides which findings fail the run.

Result ids: ``ST-<check>``, ``ZAP-<plugin id>``, ``DAST-HDR-<plugin id>``, and the tool run records
``DAST-schemathesis`` and ``DAST-zap``.
"""

from __future__ import annotations

from harness.stages.dast.stage import DastStage

__all__ = ["DastStage"]
