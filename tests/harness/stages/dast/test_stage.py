"""The whole stage against the toy app: ZAP driven (a stand-in, or zap.sh as a daemon); reflected XSS."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.config import HarnessConfig
from harness.results import Result, ResultKind, Status
from harness.stages.base import StageContext
from harness.stages.dast.attack_ssrf import listening
from harness.stages.dast.options import read_options
from harness.stages.dast.reflect import probe_reflection
from harness.stages.dast.rules import load_rules
from harness.stages.dast.scan_state import ScanConfig, ScanState
from harness.stages.dast.spec import ApiSpec
from harness.stages.dast.stage import DastRun
from harness.stages.dast.tools import ZapStep
from harness.targets.base import AwsEndpoint, Environment, TestUser
from tests.harness.stages.dast.toy_app import TOKENS, build_app, serve
from tests.harness.stages.dast.zap_standin import ZapStandIn, serve_standin

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.slow


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


def _zap(url: str, run_dir: Path, dast: dict[str, Any]) -> tuple[dict[str, Result], dict[str, Any]]:
    """The ZAP step of the stage alone (what these tests judge), against the toy app."""
    users = [TestUser(name, token) for token, name in TOKENS.items()]
    env = Environment(
        target="local", api_url=url, web_url=url, aws=AwsEndpoint(None, "us-east-1", "", ""), users=users
    )
    config = HarnessConfig(root=ROOT, paths=HarnessConfig.defaults(ROOT).paths, dast=dict(dast))
    options = read_options(
        config.dast, root=ROOT, policies=config.paths.policies, profile="pr", target="local"
    )
    run = DastRun(StageContext(config, env, run_dir, "pr"), env, options, load_rules(options.rules_path))
    run.dir.mkdir(parents=True, exist_ok=True)
    with listening() as listener:
        listener.documents["/openapi.json"] = ("application/json", httpx.get(f"{url}/openapi.json").content)
        results = ZapStep(run, listener).run()
    return {r.id: r for r in results}, run.facts


def test_an_interrupted_stage_keeps_the_finished_steps_and_writes_run_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stage yields each step's results as it finishes: closing it after the first result (what
    the engine's interruption does) still writes run.json, which that result cites, and redacts."""
    monkeypatch.delenv("ZAP_API_URL", raising=False)
    users = [TestUser(name, token) for token, name in TOKENS.items()]
    with serve(build_app(weak=False)) as url:
        env = Environment(
            target="local", api_url=url, web_url=url, aws=AwsEndpoint(None, "us-east-1", "", ""), users=users
        )
        config = HarnessConfig(root=ROOT, paths=HarnessConfig.defaults(ROOT).paths,
                               dast={"zap_path": str(tmp_path / "no-zap.sh")})
        options = read_options(config.dast, root=ROOT, policies=config.paths.policies, profile="pr",
                               target="local")
        ctx = StageContext(config, env, tmp_path, "pr")
        ctx.redactor.register(*TOKENS)
        steps = DastRun(ctx, env, options, load_rules(options.rules_path)).execute()
        first = next(iter(steps))
        steps.close()
    run_json = tmp_path / "evidence" / "dast" / "run.json"
    assert json.loads(run_json.read_text())["seed"] == options.seed
    assert str(run_json.relative_to(tmp_path)) in first.evidence, (first.id, first.status)
    for path in (tmp_path / "evidence" / "dast").rglob("*"):
        if path.is_file():
            assert not any(token in path.read_text(errors="replace") for token in TOKENS), path


def test_zap_when_reachable_is_driven_and_its_alerts_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = {"pluginId": "40018", "name": "SQL Injection", "riskcode": "3", "url": "", "method": "GET"}
    with serve(build_app(weak=False)) as url, serve_standin(ZapStandIn()) as standin:
        standin.alerts = [{**alert, "url": f"{url}/api/uploads"}]
        monkeypatch.setenv("ZAP_API_URL", standin.url)
        monkeypatch.setenv("ZAP_API_KEY", standin.api_key)
        results, facts = _zap(
            url, tmp_path, {"zap_poll_interval_s": 0.05, "exclude_operations": ["GET /createdb"]}
        )
    assert results["DAST-zap"].kind is ResultKind.SUMMARY and results["ZAP-40018"].status is Status.FAILED
    assert results["ZAP-40018"].proven_on == "ZAP unknown"  # the stand-in has no version view
    assert "replacer/action/addRule" in standin.names()
    assert any(e.endswith("zap-report.html") for e in facts["zap"]["evidence"])
    excluded = [p.get("regex") for p in standin.params("ascan/action/excludeFromScan")]
    assert ".*/createdb(\\?.*)?$" in excluded  # an excluded operation is out of ZAP's scope too


def test_a_zap_that_sent_nothing_is_a_tool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(build_app(weak=False)) as url, serve_standin(ZapStandIn(messages=0)) as standin:
        monkeypatch.setenv("ZAP_API_URL", standin.url)
        monkeypatch.setenv("ZAP_API_KEY", standin.api_key)
        results, _ = _zap(url, tmp_path, {"zap_poll_interval_s": 0.05})
    assert results["DAST-zap"].status is Status.ERROR and "sent no request" in results["DAST-zap"].message


def test_zap_sh_on_path_is_started_as_a_local_daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZAP_API_URL", raising=False)
    fake = tmp_path / "zap.sh"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name("fake_zap.py")} "$@"\n')
    fake.chmod(0o755)
    log = tmp_path / "zap-calls.jsonl"
    monkeypatch.setenv("FAKE_ZAP_LOG", str(log))
    with serve(build_app(weak=False)) as url:
        results, facts = _zap(url, tmp_path / "run", {"zap_path": str(fake), "zap_poll_interval_s": 0.05})
    assert results["DAST-zap"].kind is ResultKind.SUMMARY, results["DAST-zap"].message
    assert facts["zap"]["via"].startswith(f"{fake} -daemon on 127.0.0.1:")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0]["name"] == "core/action/newSession" and calls[-1]["name"] == "core/action/shutdown"
    assert all(call["key_ok"] for call in calls)
