from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import StageError
from harness.results import Severity, Status
from harness.stages.dast.findings import judge
from harness.stages.dast.rules import parse_rules
from harness.stages.dast.zap import (
    SSE_EXCLUDE,
    ZapEndpoint,
    ZapOptions,
    ZapScan,
    alert_findings,
    client,
    locate_zap,
)
from tests.harness.stages.dast.zap_standin import ZapStandIn, serve_standin

APP = "http://127.0.0.1:8000"
TOKEN = "tok-alice-0123456789"
AUTH = ("X-Api-Key", TOKEN)  # the app profile's header and value: ZAP sets it as given


def _alert(i: int, plugin: str = "10038", risk: str = "2") -> dict[str, Any]:
    return {
        "pluginId": plugin,
        "name": "Content Security Policy (CSP) Header Not Set",
        "riskcode": risk,
        "url": f"{APP}/api/uploads/{i}",
        "method": "GET",
        "evidence": f"Authorization: Bearer {TOKEN}",
        "cweid": "693",
        "wascid": "15",
        "solution": "Send a CSP.",
    }


def _scan(standin: ZapStandIn, tmp_path: Path, *, active: bool = True, page_size: int = 200) -> Any:
    zap = client(ZapEndpoint(standin.url, standin.api_key, "test"))
    options = ZapOptions(active=active, page_size=page_size, poll_interval_s=0)
    return ZapScan(zap, options, sleep=lambda _: None).run(APP, f"{APP}/openapi.json", AUTH, tmp_path)


def test_full_scan_calls_zap_in_order(tmp_path: Path) -> None:
    with serve_standin(ZapStandIn(alerts=[_alert(1)])) as standin:
        outcome = _scan(standin, tmp_path)
    names = standin.names()
    order = [
        "core/action/newSession",
        "context/action/newContext",
        "context/action/excludeFromContext",
        "replacer/action/addRule",
        "openapi/action/importUrl",
        "spider/action/scan",
        "spider/view/status",
        "pscan/view/recordsToScan",
        "ascan/action/addScanPolicy",
        "ascan/action/disableAllScanners",
        "ascan/action/enableScanners",
        "ascan/action/setOptionMaxScanDurationInMins",
        "ascan/action/scan",
        "ascan/view/status",
        "alert/view/alerts",
        "core/other/htmlreport",
        "core/other/jsonreport",
        "reports/action/generate",
    ]
    positions = [names.index(name) for name in order]
    assert positions == sorted(positions), names
    assert names.count("spider/view/status") == 2 and names.count("ascan/view/status") == 3
    # passive scanning is drained after the spider and again after the active scan
    assert (
        names.index("spider/view/status")
        < names.index("pscan/view/recordsToScan")
        < names.index("ascan/action/scan")
    )
    last_drain = max(i for i, n in enumerate(names) if n == "pscan/view/recordsToScan")
    assert last_drain > names.index("ascan/view/status")
    assert all(c.api_key == standin.api_key for c in standin.calls)
    assert len(outcome.alerts) == 1 and outcome.measured["zap_messages"] == 42
    assert sorted(p.name for p in outcome.reports) == [
        "zap-report.html",
        "zap-report.json",
        "zap-report.sarif.json",
    ]


def test_auth_header_sse_exclusion_and_api_policy(tmp_path: Path) -> None:
    with serve_standin(ZapStandIn()) as standin:
        _scan(standin, tmp_path)
    rule = standin.params("replacer/action/addRule")[0]
    assert rule["matchType"] == "REQ_HEADER" and rule["matchString"] == "X-Api-Key"
    assert rule["replacement"] == TOKEN
    for name in (
        "context/action/excludeFromContext",
        "spider/action/excludeFromScan",
        "ascan/action/excludeFromScan",
    ):
        assert SSE_EXCLUDE in [p.get("regex") for p in standin.params(name)], name
    assert standin.params("context/action/includeInContext")[0]["regex"].startswith(
        "http://127\\.0\\.0\\.1:8000"
    )
    assert standin.params("openapi/action/importUrl")[0] == {"url": f"{APP}/openapi.json", "contextId": "1"}
    scan = standin.params("ascan/action/scan")[0]
    assert scan["scanPolicyName"] == "harness-api" and scan["contextId"] == "1"
    assert "40018" in standin.params("ascan/action/enableScanners")[0]["ids"].split(",")
    assert standin.params("ascan/action/setOptionMaxScanDurationInMins")[0]["Integer"] == "5"


def test_sarif_is_fetched_from_a_directory_shared_with_zap(tmp_path: Path) -> None:
    shared, evidence = tmp_path / "shared", tmp_path / "evidence"
    shared.mkdir()
    with serve_standin(ZapStandIn()) as standin:
        zap = client(ZapEndpoint(standin.url, standin.api_key, "test"))
        options = ZapOptions(poll_interval_s=0, shared_dir_zap=str(shared), shared_dir_local=str(shared))
        outcome = ZapScan(zap, options, sleep=lambda _: None).run(APP, APP, None, evidence)
    assert standin.params("reports/action/generate")[0]["reportDir"] == str(shared)
    assert (evidence / "zap-report.sarif.json") in outcome.reports
    assert (evidence / "zap-report.sarif.json").read_text().startswith('{"version": "2.1.0"')


def test_passive_profile_sends_no_attacks(tmp_path: Path) -> None:
    with serve_standin(ZapStandIn()) as standin:
        _scan(standin, tmp_path, active=False)
    assert not [n for n in standin.names() if n.startswith("ascan/action/scan")]
    assert "openapi/action/importUrl" not in standin.names()
    assert "spider/action/scan" in standin.names()


def test_alerts_are_paged(tmp_path: Path) -> None:
    with serve_standin(ZapStandIn(alerts=[_alert(i) for i in range(7)])) as standin:
        outcome = _scan(standin, tmp_path, page_size=3)
    pages = standin.params("alert/view/alerts")
    assert [(p["start"], p["count"]) for p in pages] == [("0", "3"), ("3", "3"), ("6", "3")]
    assert len(outcome.alerts) == 7


def test_a_stuck_spider_is_a_tool_error(tmp_path: Path) -> None:
    clock = iter(range(0, 10_000, 30))
    with serve_standin(ZapStandIn(spider_status=["10"])) as standin:
        zap = client(ZapEndpoint(standin.url, standin.api_key, "test"))
        scan = ZapScan(
            zap, ZapOptions(poll_interval_s=0), sleep=lambda _: None, clock=lambda: float(next(clock))
        )
        with pytest.raises(StageError, match="spider did not finish"):
            scan.run(APP, f"{APP}/openapi.json", AUTH, tmp_path)


def test_wrong_api_key_is_a_tool_error(tmp_path: Path) -> None:
    with serve_standin(ZapStandIn()) as standin:
        zap = client(ZapEndpoint(standin.url, "wrong", "test"))
        with pytest.raises(StageError, match="ZAP API call failed"):
            ZapScan(zap, ZapOptions(poll_interval_s=0), sleep=lambda _: None).run(APP, APP, None, tmp_path)


def test_locate_zap_prefers_env_then_config_then_path_else_skips(tmp_path: Path) -> None:
    env_endpoint = locate_zap({}, {"ZAP_API_URL": "http://zap:8090", "ZAP_API_KEY": "k"})
    assert isinstance(env_endpoint, ZapEndpoint) and env_endpoint.api_key == "k"
    configured = locate_zap({"zap_api_url": "http://z:1"}, {"ZAP_API_KEY": "k2", "PATH": ""})
    assert isinstance(configured, ZapEndpoint)
    assert configured.origin == "config" and configured.api_key == "k2"
    fake = tmp_path / "zap.sh"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    on_path = locate_zap({"zap_path": str(fake)}, {})
    assert isinstance(on_path, ZapEndpoint) and on_path.origin == str(fake)
    reason = locate_zap({"zap_path": str(tmp_path / "nope.sh")}, {})
    assert isinstance(reason, str) and "ZAP_API_URL is not set" in reason and "not on PATH" in reason


def test_alerts_become_results_with_redacted_evidence() -> None:
    findings = alert_findings(
        [_alert(1), _alert(2), _alert(3, plugin="10096", risk="0")],
        lambda text: text.replace(TOKEN, "[REDACTED]"),
    )
    rules = parse_rules("10038\tFAIL\t(CSP)\n10096\tIGNORE\t(ts) reason: epoch values are data\n")
    results = {r.id: r for r in judge([], findings, rules)}
    csp = results["ZAP-10038"]
    assert csp.status is Status.FAILED and csp.severity is Severity.MEDIUM
    assert csp.measured["instances"] == 2 and "CWE-693" in csp.controls
    assert TOKEN not in csp.message and "[REDACTED]" in csp.message
    assert results["ZAP-10096"].status is Status.PASSED  # IGNORE with a reason drops the instance
