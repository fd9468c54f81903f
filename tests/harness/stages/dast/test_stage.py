"""The whole stage against the toy app: the good build passes, the weak build fails naming its flaws."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.results import Result, Status
from harness.stages.base import StageContext
from harness.stages.dast import DastStage
from harness.targets.base import AwsEndpoint, Environment, TestUser
from tests.harness.stages.dast.toy_app import TOKENS, build_app, serve
from tests.harness.stages.dast.zap_standin import ZapStandIn, serve_standin

ROOT = Path(__file__).resolve().parents[4]
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


@pytest.fixture(scope="module")
def weak_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Result], Path]]:
    run_dir = tmp_path_factory.mktemp("weak")
    with serve(build_app(weak=True)) as url:
        yield _run(url, run_dir, dast={"zap_path": "/nonexistent/zap.sh"}), run_dir


def test_good_app_passes_with_schemathesis_and_header_checks_really_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZAP_API_URL", raising=False)
    with serve(build_app(weak=False)) as url:
        results = _run(url, tmp_path, dast={"zap_path": "/nonexistent/zap.sh"})
    failed = [r.id for r in results.values() if r.status in (Status.FAILED, Status.ERROR)]
    assert failed == []
    st = results["DAST-schemathesis"]
    assert st.status is Status.PASSED and int(st.measured["requests"]) > 20
    assert results["ST-object_level_authorization"].status is Status.PASSED
    assert results["ST-ignored_auth"].status is Status.PASSED
    assert int(results["DAST-HDR-10038"].measured["responses_checked"]) > 20
    assert results["DAST-XSS-40012"].status is Status.PASSED
    assert results["DAST-zap"].status is Status.SKIPPED and "not on PATH" in results["DAST-zap"].message
    for evidence in st.evidence:
        assert (tmp_path / evidence).is_file()


def test_weak_app_fails_naming_the_idor(weak_results: tuple[dict[str, Result], Path]) -> None:
    results, _ = weak_results
    idor = results["ST-object_level_authorization"]
    assert idor.status is Status.FAILED
    assert idor.location is not None and idor.location.endswith("/api/uploads/{upload_id}")
    assert "`bob` received the `Upload` that `alice` owns" in idor.message
    assert "OWASP-A01" in idor.controls


def test_weak_app_fails_naming_the_reflected_xss(weak_results: tuple[dict[str, Result], Path]) -> None:
    results, _ = weak_results
    xss = results["DAST-XSS-40012"]
    assert xss.status is Status.FAILED and xss.location is not None and xss.location.endswith("/api/search")
    assert "<script>alert(7301)</script>" in xss.message


def test_weak_app_fails_the_header_checks(weak_results: tuple[dict[str, Result], Path]) -> None:
    results, _ = weak_results
    for plugin in ("10038", "10021", "10020", "10015"):
        assert results[f"DAST-HDR-{plugin}"].status is Status.FAILED, plugin
        assert results[f"DAST-HDR-{plugin}"].evidence[0].endswith(".json")  # the HAR it read


def test_no_token_reaches_results_or_evidence(weak_results: tuple[dict[str, Result], Path]) -> None:
    results, run_dir = weak_results
    text = "\n".join(r.message for r in results.values())
    text += "\n".join(p.read_text(errors="replace") for p in run_dir.rglob("*") if p.is_file())
    for token in TOKENS:
        assert token not in text


def test_existing_target_defaults_to_passive(tmp_path: Path) -> None:
    with serve(build_app(weak=True)) as url:
        results = _run(url, tmp_path, target="existing", dast={"zap_path": "/nonexistent/zap.sh"})
    st = results["DAST-schemathesis"]
    assert st.measured["scan_profile"] == "passive"
    assert "DAST-XSS-40012" not in results  # no crafted input against environments we do not own
    assert results["ST-unsupported_method"].status is Status.SKIPPED
    har = json.loads(next((tmp_path / e) for e in st.evidence if e.endswith(".json")).read_text())
    methods = {entry["request"]["method"] for entry in har["log"]["entries"]}
    assert methods and methods <= {"GET", "HEAD", "OPTIONS"}


def test_zap_when_reachable_is_driven_and_its_alerts_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = {"pluginId": "40018", "name": "SQL Injection", "riskcode": "3", "url": "", "method": "GET"}
    with serve(build_app(weak=False)) as url, serve_standin(ZapStandIn()) as standin:
        standin.alerts = [{**alert, "url": f"{url}/api/uploads"}]
        monkeypatch.setenv("ZAP_API_URL", standin.url)
        monkeypatch.setenv("ZAP_API_KEY", standin.api_key)
        results = _run(url, tmp_path, dast={"max_examples": 3, "zap_poll_interval_s": 0.05})
    assert results["DAST-zap"].status is Status.PASSED
    assert results["ZAP-40018"].status is Status.FAILED
    assert "replacer/action/addRule" in standin.names()
    assert any(e.endswith("zap-report.html") for e in results["DAST-zap"].evidence)


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
            dast={"zap_path": str(fake), "max_examples": 2, "zap_poll_interval_s": 0.05},
        )
    assert results["DAST-zap"].status is Status.PASSED, results["DAST-zap"].message
    assert results["DAST-zap"].message.startswith(f"ZAP via {fake} -daemon on 127.0.0.1:")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0]["name"] == "core/action/newSession" and calls[-1]["name"] == "core/action/shutdown"
    assert all(call["key_ok"] for call in calls)
