from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.stages.dast.schemathesis_run import (
    CHECKS,
    FAILURE_CHECKS,
    SchemathesisOptions,
    build_command,
    har_responses,
    junit_findings,
    run_schemathesis,
    write_auth,
)
from harness.targets.base import TestUser

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis">
  <testcase name="GET /api/uploads/{upload_id}" time="0.05">
    <failure type="failure" message="ST101, ST402">1. Test Case ID: vS7i53

- ST402 Object-level authorization bypass

    `bob` received the `Upload` that `alice` owns

2. Test Case ID: Ab12Cd

- Server error

- ST101 Server error

[500] Internal Server Error

Reproduce with:

    curl -X GET -H 'Authorization: [Filtered]' http://127.0.0.1:1/api/uploads/x</failure>
  </testcase>
  <testcase name="GET /healthz" time="0.01" />
  <testcase name="Stateful tests" time="0.3">
    <failure type="failure" message="ST101">1. Test Case ID: Mnlmt3

- ST101 Server error

[500] Internal Server Error

Reproduce with:

    curl -X POST -H 'Authorization: [Filtered]' 'http://127.0.0.1:1/api/uploads?x=1'</failure>
  </testcase>
  <testcase name="POST /api/uploads" time="0.01"><error message="boom">Connection refused</error></testcase>
</testsuite></testsuites>
"""


def test_failure_codes_match_the_installed_schemathesis() -> None:
    from schemathesis.failure_codes import FAILURE_CLASSES

    installed = {
        cls.code: cls.checks[0] if cls.checks else "custom"
        for cls in FAILURE_CLASSES
        if not cls.code.startswith(("ST113", "ST114", "ST115", "ST206"))
    }  # GraphQL only
    assert {code: FAILURE_CHECKS[code] for code in installed} == installed
    assert set(FAILURE_CHECKS.values()) - {"custom"} <= set(CHECKS)


def test_junit_failures_become_findings_per_code(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    findings, errors = junit_findings(junit, "http://127.0.0.1:1/")
    assert [f.result_id for f in findings] == [
        "ST-object_level_authorization",
        "ST-not_a_server_error",
        "ST-not_a_server_error",
    ]
    assert findings[2].url == "http://127.0.0.1:1/api/uploads"  # stateful: from the reproduction
    assert findings[0].url == "http://127.0.0.1:1/api/uploads/{upload_id}"
    assert "`bob` received" in findings[0].evidence and "Test Case ID: Ab12Cd" not in findings[0].evidence
    assert findings[0].rule_id == "schemathesis:object_level_authorization"
    assert errors == ["POST /api/uploads: Connection refused"]


def test_command_has_all_checks_seed_budget_and_no_secrets(tmp_path: Path) -> None:
    users = [TestUser("alice", "secret-token-a"), TestUser("bob", "secret-token-b")]
    config = write_auth(tmp_path, users)
    assert config is not None
    options = SchemathesisOptions(
        max_examples=7, seed=99, max_time_s=60, max_response_time_s=2.0, rate_per_s=5
    )
    command = build_command(str(tmp_path / "openapi.json"), "http://app", options, tmp_path, config)
    assert command[:3] == [sys.executable, "-m", "schemathesis.cli"]
    joined = " ".join(command)
    for part in (
        "--checks all",
        "--continue-on-failure",
        "--seed 99",
        "--max-examples 7",
        "--max-time 60",
        "--max-response-time 2.0",
        "--rate-limit 5/s",
        "--report junit,har,json",
        "--mode all",
        "stateful",
        f"{tmp_path / 'openapi.json'} --url http://app",
        "--exclude-path-regex /events$",
        "--generation-database none",
    ):
        assert part in joined
    assert "--wait-for-schema" not in joined  # a file: nothing to wait for
    assert "secret-token" not in joined
    assert 'peers = ["alice", "bob"]' in config.read_text()
    wfc = json.loads((tmp_path / "wfc-auth.json").read_text())
    assert wfc["auth"][1]["fixedHeaders"][0]["value"] == "Bearer secret-token-b"
    assert (tmp_path / "wfc-auth.json").stat().st_mode & 0o077 == 0


def test_a_login_hook_becomes_wfc_login_entries_that_schemathesis_refreshes(tmp_path: Path) -> None:
    from harness.stages.dast.login import LoginConfig

    login = LoginConfig.parse(
        {
            "operation": "POST /api/login",
            "token_path": "/token",
            "refresh_s": 60,
            "users": [{"name": "alice", "username": "alice", "password_env": "PW_A"}],
        },
        environ={"PW_A": "pw-of-alice"},
    )
    users = [TestUser("alice", "t-alice-0000"), TestUser("bob", "t-bob-00000")]
    config = write_auth(tmp_path, users, login, "http://app/prefix")
    assert config is not None and "refresh_interval = 60" in config.read_text()
    alice, bob = json.loads((tmp_path / "wfc-auth.json").read_text())["auth"]
    assert alice["loginEndpointAuth"]["endpoint"] == "/prefix/api/login"
    assert alice["loginEndpointAuth"]["payloadUserPwd"]["password"] == "pw-of-alice"
    assert alice["loginEndpointAuth"]["token"]["extractSelector"] == "/token"
    assert bob["fixedHeaders"][0]["value"] == "Bearer t-bob-00000"


def test_tokens_go_in_the_app_profiles_header(tmp_path: Path) -> None:
    """An app with ``auth: {header: X-Api-Key, scheme: ""}`` gets its bare token in that header."""
    from harness.app_profile import AppProfile
    from harness.stages.dast.login import LoginConfig

    login = LoginConfig.parse({"operation": "POST /login", "users": [{"name": "alice", "password_env": "P"}]},
                              environ={"P": "pw"})
    app = AppProfile(auth_header="X-Api-Key", auth_scheme="")
    users = [TestUser("alice", "t-a-123456"), TestUser("bob", "t-b-123456")]
    write_auth(tmp_path, users, login, "http://a", app)
    alice, bob = json.loads((tmp_path / "wfc-auth.json").read_text())["auth"]
    assert alice["loginEndpointAuth"]["token"]["sendName"] == "X-Api-Key"
    assert alice["loginEndpointAuth"]["token"]["sendTemplate"] == "{token}"
    assert bob["fixedHeaders"] == [{"name": "X-Api-Key", "value": "t-b-123456"}]


def test_single_user_has_no_peers_and_no_user_no_auth(tmp_path: Path) -> None:
    config = write_auth(tmp_path, [TestUser("alice", "t-a-123456")])
    assert config is not None and "peers =" not in config.read_text()
    assert write_auth(tmp_path, []) is None


def test_har_responses(tmp_path: Path) -> None:
    har = tmp_path / "har.json"
    entry = {
        "request": {"method": "GET", "url": "http://app/api/uploads"},
        "response": {"status": 200, "headers": [{"name": "x-content-type-options", "value": "nosniff"}]},
    }
    har.write_text(json.dumps({"log": {"entries": [entry, {"request": {}, "response": {}}]}}))
    [seen] = har_responses(har)
    assert seen.status == 200 and seen.header("X-Content-Type-Options") == "nosniff"


def test_an_unreachable_schema_is_a_tool_error_not_a_pass(tmp_path: Path) -> None:
    from harness.errors import StageError
    from harness.services.process import free_port

    options = SchemathesisOptions(max_examples=1, wait_for_schema_s=1.0, timeout_s=120)
    command = build_command(f"http://127.0.0.1:{free_port()}/openapi.json", None, options, tmp_path, None)
    with pytest.raises(StageError, match="schemathesis exited with"):
        run_schemathesis(command, options, tmp_path, cwd=tmp_path, env={})
