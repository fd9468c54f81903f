"""The whole stage against the toy app: ZAP driven (a stand-in, or zap.sh as a daemon); reflected XSS."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.config import HarnessConfig
from harness.results import Result, Status
from harness.stages.base import StageContext
from harness.stages.dast import DastStage
from harness.stages.dast.reflect import probe_reflection
from harness.stages.dast.scan_state import ScanConfig, ScanState
from harness.stages.dast.spec import ApiSpec
from harness.targets.base import AwsEndpoint, Environment, TestUser
from tests.harness.stages.dast.toy_app import TOKENS, build_app, serve
from tests.harness.stages.dast.zap_standin import ZapStandIn, serve_standin

ROOT = Path(__file__).resolve().parents[4]
QUICK = {"scan_profile": "passive", "max_examples": 2, "phases": "fuzzing"}  # ZAP is what these tests judge
pytestmark = pytest.mark.slow


def _run(
    url: str,
    run_dir: Path,
    *,
    target: str = "local",
    dast: dict[str, object] | None = None,
) -> dict[str, Result]:
    users = [TestUser(name, token) for token, name in TOKENS.items()]
    env = Environment(
        target=target, api_url=url, web_url=url, aws=AwsEndpoint(None, "us-east-1", "", ""), users=users
    )
    config = HarnessConfig.defaults(ROOT)
    if dast is not None:
        config = HarnessConfig(root=config.root, paths=config.paths, dast=dict(dast))
    results = DastStage().run(StageContext(config, env, run_dir, "pr"))
    assert len({r.id for r in results}) == len(results), "one result per id"
    return {r.id: r for r in results}


def _facts(run_dir: Path) -> dict[str, Any]:
    """What each tool did, as the stage records it."""
    tools: dict[str, Any] = json.loads((run_dir / "evidence/dast/run.json").read_text())["tools"]
    return tools


def test_reflected_xss_in_an_html_answer_is_found_and_escaping_passes(tmp_path: Path) -> None:
    for weak, found in ((True, 1), (False, 0)):
        with serve(build_app(weak=weak)) as url:
            spec_file = tmp_path / f"{weak}.json"
            spec_file.write_text(json.dumps(httpx.get(f"{url}/openapi.json").json()))
            state = ScanState(
                ScanConfig(
                    api_url=url,
                    findings_path=str(tmp_path / f"{weak}.jsonl"),
                    spec_path=str(spec_file),
                    users=[{"name": n, "token": t} for t, n in TOKENS.items()],
                    checks=[],
                )
            )
            check, findings = probe_reflection(state, ApiSpec(json.loads(spec_file.read_text()), url), "test")
            state.close()
        assert len(findings) == found and int(check.measured["requests"]) == 1
        if findings:
            assert findings[0].url is not None and findings[0].url.endswith("/api/search")
            assert "<script>alert(7301)</script>" in findings[0].evidence
            assert "Authorization: Bearer <token of alice>" in findings[0].request


def test_zap_when_reachable_is_driven_and_its_alerts_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = {"pluginId": "40018", "name": "SQL Injection", "riskcode": "3", "url": "", "method": "GET"}
    with serve(build_app(weak=False)) as url, serve_standin(ZapStandIn()) as standin:
        standin.alerts = [{**alert, "url": f"{url}/api/uploads"}]
        monkeypatch.setenv("ZAP_API_URL", standin.url)
        monkeypatch.setenv("ZAP_API_KEY", standin.api_key)
        results = _run(url, tmp_path, dast={**QUICK, "zap_poll_interval_s": 0.05})
    zap = _facts(tmp_path)["zap"]
    assert "DAST-zap" not in results and results["ZAP-40018"].status is Status.FAILED
    assert results["ZAP-40018"].proven_on == "ZAP unknown"  # the stand-in has no version view
    assert "replacer/action/addRule" in standin.names()
    assert any(e.endswith("zap-report.html") for e in zap["evidence"])


def test_zap_sh_on_path_is_started_as_a_local_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAP_API_URL", raising=False)
    fake = tmp_path / "zap.sh"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name("fake_zap.py")} "$@"\n')
    fake.chmod(0o755)
    log = tmp_path / "zap-calls.jsonl"
    monkeypatch.setenv("FAKE_ZAP_LOG", str(log))
    with serve(build_app(weak=False)) as url:
        results = _run(
            url,
            tmp_path / "run",
            dast={**QUICK, "zap_path": str(fake), "zap_poll_interval_s": 0.05},
        )
    assert "DAST-zap" not in results, results["DAST-zap"].message
    assert _facts(tmp_path / "run")["zap"]["via"].startswith(f"{fake} -daemon on 127.0.0.1:")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0]["name"] == "core/action/newSession" and calls[-1]["name"] == "core/action/shutdown"
    assert all(call["key_ok"] for call in calls)
