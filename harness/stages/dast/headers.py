"""Our own passive header check, keyed by ZAP plugin ids so that the same rules file governs it.

It runs on every response the stage sees (Schemathesis' HAR and the stage's own probes), whether or
not ZAP is present. Results are ``DAST-HDR-<plugin id>`` so that they never collide with ZAP's own
``ZAP-<plugin id>`` alerts when both run. What is required follows the OWASP REST Security Cheat
Sheet's "Security headers" for API responses and ZAP's passive rules for HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.results import Severity
from harness.stages.dast.findings import Check, Finding

_VERSION = re.compile(r"\d+(?:\.\d+)*")
_NO_BODY_STATUSES = {204, 304}


@dataclass(frozen=True, slots=True)
class SeenResponse:
    """A response the stage observed; header names are matched case-insensitively."""

    method: str
    url: str
    status: int
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def has_body(self) -> bool:
        return self.method != "HEAD" and self.status not in _NO_BODY_STATUSES and not 300 <= self.status < 400


@dataclass(frozen=True, slots=True)
class HeaderRule:
    plugin_id: str
    title: str
    severity: Severity
    controls: tuple[str, ...]
    remediation: str
    problem: Callable[[SeenResponse, str], str | None]  # (response, api prefix) -> evidence or None

    def check(self, measured: dict[str, float | int | str] | None = None) -> Check:
        """This rule as a check (``DAST-HDR-<plugin id>``): it makes the findings and, clean, a pass."""
        return Check(self.plugin_id, header_result_id(self.plugin_id), self.title, self.severity,
                     list(self.controls), measured=dict(measured or {}), remediation=self.remediation)


def _csp(r: SeenResponse, _: str) -> str | None:
    if not r.has_body or r.header("content-security-policy"):
        return None
    return "Content-Security-Policy: <absent>"


def _nosniff(r: SeenResponse, _: str) -> str | None:
    value = r.header("x-content-type-options")
    if not r.has_body or (value or "").strip().lower() == "nosniff":
        return None
    return f"X-Content-Type-Options: {value or '<absent>'}"


def _framing(r: SeenResponse, _: str) -> str | None:
    xfo = (r.header("x-frame-options") or "").strip().upper()
    csp = (r.header("content-security-policy") or "").lower()
    if not r.has_body or xfo in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp:
        return None
    return f"X-Frame-Options: {xfo or '<absent>'}; CSP frame-ancestors: <absent>"


def _hsts(r: SeenResponse, _: str) -> str | None:
    hsts = (r.header("strict-transport-security") or "").lower()
    if urlsplit(r.url).scheme != "https" or "max-age" in hsts:
        return None
    return "Strict-Transport-Security: <absent or without max-age>"


def _cache(r: SeenResponse, api_prefix: str) -> str | None:
    if not urlsplit(r.url).path.startswith(api_prefix) or not r.has_body:
        return None
    value = r.header("cache-control") or ""
    return None if "no-store" in value.lower() else f"Cache-Control: {value or '<absent>'} (API response)"


def _server(r: SeenResponse, _: str) -> str | None:
    value = r.header("server")
    return f"Server: {value}" if value and _VERSION.search(value) else None


def _powered_by(r: SeenResponse, _: str) -> str | None:
    value = r.header("x-powered-by") or r.header("x-aspnet-version")
    return f"X-Powered-By: {value}" if value else None


HEADER_RULES: tuple[HeaderRule, ...] = (
    HeaderRule("10038", "Content Security Policy (CSP) Header Not Set", Severity.MEDIUM,
               ("OWASP-A05", "ASVS-14.4.3"), "Send Content-Security-Policy (for an API: "
               "\"default-src 'none'; frame-ancestors 'none'\").", _csp),
    HeaderRule("10021", "X-Content-Type-Options Header Missing", Severity.LOW,
               ("OWASP-A05", "ASVS-14.4.4"), "Send X-Content-Type-Options: nosniff on every response.",
               _nosniff),
    HeaderRule("10020", "Missing Anti-clickjacking Header", Severity.MEDIUM,
               ("OWASP-A05", "ASVS-14.4.7"), "Send X-Frame-Options: DENY or CSP frame-ancestors 'none'.",
               _framing),
    HeaderRule("10035", "Strict-Transport-Security Header Not Set", Severity.LOW,
               ("OWASP-A02", "OWASP-A05", "ASVS-14.4.5"), "Send Strict-Transport-Security: max-age=31536000 "
               "on HTTPS responses.", _hsts),
    HeaderRule("10015", "Re-examine Cache-control Directives (API response cacheable)", Severity.LOW,
               ("OWASP-A04", "ASVS-8.2.1"), "Send Cache-Control: no-store on API responses.", _cache),
    HeaderRule("10036", "Server Leaks Version Information via \"Server\" HTTP Response Header Field",
               Severity.LOW, ("OWASP-A05", "ASVS-14.3.3"), "Drop the Server header or its version "
               "(uvicorn: --no-server-header).", _server),
    HeaderRule("10037", "Server Leaks Information via \"X-Powered-By\" HTTP Response Header Field(s)",
               Severity.LOW, ("OWASP-A05", "ASVS-14.3.3"), "Do not send X-Powered-By.", _powered_by),
)


def header_result_id(plugin_id: str) -> str:
    return f"DAST-HDR-{plugin_id}"


def check_response(response: SeenResponse, *, api_prefix: str = "/api/",
                   location: Callable[[str], str] | None = None) -> list[Finding]:
    """Every header rule that ``response`` breaks, as findings (``location`` maps URL -> shown URL)."""
    url = (location or _without_query)(response.url)
    seen = f"{response.method} {_without_query(response.url)} -> {response.status}"
    return [rule.check().finding(url, evidence=f"{seen}\n{problem}") for rule in HEADER_RULES
            if (problem := rule.problem(response, api_prefix)) is not None]


def check_responses(responses: Iterable[SeenResponse], *, api_prefix: str = "/api/",
                    location: Callable[[str], str] | None = None) -> tuple[list[Check], list[Finding]]:
    """Header checks over many responses: the checks that ran (with counts) and what they found."""
    seen = list(responses)
    findings = [f for r in seen for f in check_response(r, api_prefix=api_prefix, location=location)]
    checks = [rule.check(measured={"responses_checked": len(seen)}) for rule in HEADER_RULES]
    return checks, findings


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


__all__ = ["HEADER_RULES", "HeaderRule", "SeenResponse", "check_response", "check_responses",
           "header_result_id"]
