from __future__ import annotations

import pytest

from harness.results import Status
from harness.stages.dast.findings import judge
from harness.stages.dast.headers import SeenResponse, check_response, check_responses
from harness.stages.dast.rules import parse_rules

GOOD = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Content-Type": "application/json",
}


def _without(name: str, **extra: str) -> dict[str, str]:
    headers = {k: v for k, v in GOOD.items() if k != name}
    headers.update(extra)
    return headers


@pytest.mark.parametrize(
    ("url", "status", "headers", "expected"),
    [
        ("http://app/api/uploads", 200, GOOD, set()),
        ("http://app/api/uploads", 200, _without("Content-Security-Policy"), {"10038"}),  # XFO still there
        (
            "http://app/api/uploads",
            200,
            _without("Content-Security-Policy", **{"X-Frame-Options": "ALLOWALL"}),
            {"10038", "10020"},
        ),
        ("http://app/api/uploads", 200, _without("X-Frame-Options"), set()),  # CSP frame-ancestors suffices
        ("http://app/api/uploads", 200, _without("X-Content-Type-Options"), {"10021"}),
        ("http://app/api/uploads", 200, {**GOOD, "X-Content-Type-Options": "sniff"}, {"10021"}),
        ("http://app/api/uploads", 200, _without("Cache-Control"), {"10015"}),
        ("http://app/api/uploads", 200, {**GOOD, "Cache-Control": "public, max-age=60"}, {"10015"}),
        ("http://app/healthz", 200, _without("Cache-Control"), set()),  # not an API response
        ("https://app/api/uploads", 200, GOOD, {"10035"}),
        ("https://app/api/uploads", 200, {**GOOD, "Strict-Transport-Security": "max-age=31536000"}, set()),
        ("http://app/api/uploads", 200, {**GOOD, "Server": "uvicorn"}, set()),
        ("http://app/api/uploads", 200, {**GOOD, "server": "nginx/1.25.3"}, {"10036"}),
        ("http://app/api/uploads", 200, {**GOOD, "X-Powered-By": "FastAPI"}, {"10037"}),
        ("http://app/api/uploads", 204, {}, set()),  # no body: nothing to frame, sniff or cache
        ("http://app/", 307, {"location": "/static/"}, set()),
    ],
)
def test_header_rules(url: str, status: int, headers: dict[str, str], expected: set[str]) -> None:
    found = {f.rule_id for f in check_response(SeenResponse("GET", url, status, headers))}
    assert found == expected


def test_findings_are_aggregated_per_plugin_and_gated_by_the_rules_file() -> None:
    headers = _without("X-Content-Type-Options")
    responses = [SeenResponse("GET", f"http://app/api/uploads/{i}?x=1", 200, headers) for i in range(3)]
    checks, findings = check_responses(responses, location=lambda url: "http://app/api/uploads/{id}")
    rules = parse_rules("10021\tFAIL\t(nosniff)\n10038\tFAIL\t(CSP)\n")
    results = {r.id: r for r in judge(checks, findings, rules)}
    failed = results["DAST-HDR-10021"]
    assert failed.status is Status.FAILED
    assert failed.location == "http://app/api/uploads/{id}"
    assert failed.measured["instances"] == 3
    assert "X-Content-Type-Options: <absent>" in failed.message
    assert results["DAST-HDR-10038"].status is Status.PASSED
    assert results["DAST-HDR-10038"].measured["responses_checked"] == 3


def test_warn_is_reported_as_warned_and_ignore_needs_its_url() -> None:
    responses = [
        SeenResponse("GET", "http://app/api/a", 200, _without("Cache-Control")),
        SeenResponse("GET", "http://app/api/b", 200, _without("X-Content-Type-Options")),
    ]
    checks, findings = check_responses(responses)
    rules = parse_rules("10015\tWARN\t(cache)\n10021\tIGNORE\t(nosniff) reason: legacy\t/api/b$\n")
    results = {r.id: r for r in judge(checks, findings, rules)}
    warned = results["DAST-HDR-10015"]
    assert warned.status is Status.WARNED and warned.waiver is None  # never waived by the rules file
    assert "WARN per <rules>:1" in warned.message
    ignored = results["DAST-HDR-10021"]
    assert ignored.status is Status.PASSED and ignored.waiver is None
    assert ignored.measured["ignored_instances"] == 1 and "ignored by rules that say why" in ignored.message
