"""A small active check of our own: reflected XSS (ZAP plugin 40012) in HTML responses.

ZAP is not always there; this check is. For every GET operation in the OpenAPI document with string
query parameters (and no path parameters), it sends a marker with HTML metacharacters in each such
parameter as the main user; an HTML response that contains the marker unescaped is a finding.
Active mode only (it sends crafted input).
"""

from __future__ import annotations

from dataclasses import replace

from harness.results import Severity
from harness.stages.dast.findings import Check, Finding
from harness.stages.dast.scan_state import ScanState
from harness.stages.dast.spec import ApiSpec
from harness.stages.dast.wire import Req, exchange

MARKER = "dast7301<script>alert(7301)</script>\"'"
RULE = Check(
    "40012",
    "DAST-XSS-40012",
    "Cross Site Scripting (Reflected)",
    Severity.HIGH,
    ["OWASP-A03", "ASVS-5.3.3", "CWE-79"],
    remediation="HTML-escape user input in HTML responses (or return JSON); send a CSP.",
)


def reflection_targets(spec: ApiSpec) -> list[tuple[str, list[str]]]:
    """(path, [string query parameter names]) of every GET operation without path parameters."""
    found = []
    for operation in spec.operations():
        if operation.method != "GET" or operation.params("path"):
            continue
        names = [str(p["name"]) for p in operation.params("query") if _is_string(p.get("schema", {}))]
        if names:
            found.append((operation.path, names))
    return found


def probe_reflection(state: ScanState, spec: ApiSpec, proven_on: str) -> tuple[Check, list[Finding]]:
    """Send the marker through every candidate parameter as the main user."""
    user = state.names[0] if state.names else None
    findings, sent = [], 0
    for path, names in reflection_targets(spec):
        for name in names:
            req = state.as_user(Req("GET", state.root, path, params={name: MARKER}), user)
            resp = state.send(req)
            sent += 1
            if "html" in resp.headers.get("content-type", "") and MARKER in resp.text:
                request, response = exchange(req, resp, state.tokens)
                start = max(resp.text.find(MARKER) - 60, 0)
                evidence = (f"GET {path}?{name}=<marker> -> {resp.status} {resp.headers.get('content-type')}"
                            f"\nreflected unescaped: ...{resp.text[start : start + len(MARKER) + 120]}...")
                findings.append(RULE.finding(state.root + path, evidence=evidence, request=request,
                                             response=response, users=[u for u in (user,) if u],
                                             proven_on=proven_on))
    return replace(RULE, measured={"requests": sent}, proven_on=proven_on), findings


def _is_string(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string":
        return True
    return any(_is_string(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


__all__ = ["MARKER", "RULE", "probe_reflection", "reflection_targets"]
