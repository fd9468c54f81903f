"""A small active check of our own: reflected XSS (ZAP plugin 40012) in HTML responses.

ZAP is not always there; this check is. For every GET operation in the OpenAPI document with string
query parameters (and no path parameters), it sends a marker with HTML metacharacters in each such
parameter as the main user; an HTML response that contains the marker unescaped is a finding.
Full scan profile only (it sends crafted input). Also: mapping concrete URLs back to their OpenAPI
path templates, so that findings name ``/api/uploads/{upload_id}`` rather than every fuzzed id.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness.results import Severity
from harness.stages.dast.findings import Check, Finding

MARKER = "dast7301<script>alert(7301)</script>\"'"
RULE = Check("40012", "DAST-XSS-40012", "Cross Site Scripting (Reflected)", Severity.HIGH,
             ["OWASP-A03", "ASVS-5.3.3", "CWE-79"])


class PathTemplates:
    """Concrete request paths -> the OpenAPI path template they match."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._patterns = [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p)
                          for p in sorted(document.get("paths", {}), key=lambda p: p.count("{"))]

    def template(self, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path
        match = next((t for pattern, t in self._patterns if pattern.match(path)), path)
        return f"{parts.scheme}://{parts.netloc}{match}"


def reflection_targets(document: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(path, [string query parameter names]) of every GET operation without path parameters."""
    found = []
    for path, item in document.get("paths", {}).items():
        operation = item.get("get") if isinstance(item, dict) else None
        if not isinstance(operation, dict) or "{" in path:
            continue
        names = [p["name"] for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                 if isinstance(p, dict) and p.get("in") == "query" and _is_string(p.get("schema", {}))]
        if names:
            found.append((path, names))
    return found


def probe_reflection(http: httpx.Client, api_url: str, document: dict[str, Any],
                     token: str | None) -> tuple[Check, list[Finding], int]:
    """Send the marker through every candidate parameter; (check, findings, requests sent)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    findings, sent = [], 0
    for path, names in reflection_targets(document):
        for name in names:
            try:
                response = http.get(f"{api_url}{path}", params={name: MARKER}, headers=headers)
            except httpx.HTTPError:
                continue
            sent += 1
            if "html" in response.headers.get("content-type", "") and MARKER in response.text:
                findings.append(_finding(api_url, path, name, response))
    check = Check(RULE.rule_id, RULE.result_id, RULE.title, RULE.severity, list(RULE.controls),
                  measured={"requests": sent})
    return check, findings, sent


def _finding(api_url: str, path: str, name: str, response: httpx.Response) -> Finding:
    start = max(response.text.find(MARKER) - 60, 0)
    excerpt = response.text[start: start + len(MARKER) + 120]
    content_type = response.headers.get("content-type", "")
    return Finding(RULE.rule_id, RULE.result_id, RULE.title, RULE.severity, f"{api_url}{path}",
                   evidence=f"GET {path}?{name}=<marker> -> {response.status_code} {content_type}\n"
                            f"reflected unescaped: ...{excerpt}...",
                   controls=list(RULE.controls),
                   remediation="HTML-escape user input in HTML responses (or return JSON); send a CSP.")


def _is_string(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string":
        return True
    return any(_is_string(s) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


__all__ = ["MARKER", "PathTemplates", "probe_reflection", "reflection_targets"]
