"""The stage's own probes, the SSRF listener and the prober's promises (scope, exclusions, budget)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness.stages.dast import attack_ssrf, probes
from harness.stages.dast.spec import Exclusions
from harness.stages.dast.verdicts import Records
from harness.stages.dast.wire import OutOfBudget, Prober, Req
from tests.harness.stages.dast.stub_api import Call, base, findings, scan_state, spec_of, stub

LOGIN = {
    "paths": {
        "/api/login": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    }
}


def _checks(tmp_path: Path) -> set[str]:
    return {f["check"] for f in findings(tmp_path)}


@pytest.mark.parametrize(("telling", "found"), [(True, {"user_enumeration"}), (False, set())])
def test_login_answers_that_tell_users_apart(tmp_path: Path, telling: bool, found: set[str]) -> None:
    def api(call: Call) -> tuple[int, Any]:
        known = call.body["username"] == "alice"
        if telling and not known:
            return 404, {"error": f"no such user {call.body['username']}"}
        return 401, {"error": "invalid credentials"}

    with stub(api) as url:
        state = scan_state(tmp_path, url, LOGIN)
        probes.user_enumeration(state, spec_of(LOGIN), ["alice"])
        state.close()
    assert _checks(tmp_path) == found


@pytest.mark.parametrize(("limited", "found"), [(True, set()), (False, {"rate_limit"})])
def test_a_burst_of_failed_logins_must_meet_429(tmp_path: Path, limited: bool, found: set[str]) -> None:
    attempts: list[str] = []

    def api(call: Call) -> tuple[int, Any]:
        attempts.append(call.body["username"])
        if limited and len(attempts) > 5:
            return 429, {"error": "slow down"}
        return 401, {"error": "invalid credentials"}

    with stub(api) as url:
        state = scan_state(tmp_path, url, LOGIN)
        probes.rate_limit(state, spec_of(LOGIN), 12, [])
        state.close()
    assert _checks(tmp_path) == found
    assert len(attempts) == (6 if limited else 12)  # bounded: the burst stops at the first 429


def test_cors_reflecting_any_origin_with_credentials(tmp_path: Path) -> None:
    spec = {"paths": {"/api/me": {"get": {"responses": {"200": {"description": "ok"}}}}}}

    def reflect(call: Call) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": call.headers.get("origin", ""),
            "Access-Control-Allow-Credentials": "true",
        }

    with stub(lambda call: (200, {"me": 1}), reflect) as url:
        state = scan_state(tmp_path / "a", url, spec)
        probes.cors(state, spec_of(spec))
        state.close()
    with stub(
        lambda call: (200, {"me": 1}), lambda call: {"Access-Control-Allow-Origin": "https://app.example"}
    ) as url:
        state = scan_state(tmp_path / "b", url, spec)
        probes.cors(state, spec_of(spec))
        state.close()
    assert _checks(tmp_path / "a") == {"cors_credentials"} and _checks(tmp_path / "b") == set()


def test_credentials_in_urls_are_read_from_the_document(tmp_path: Path) -> None:
    spec = {
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "api_key"}}},
        "paths": {
            "/api/feed": {
                "get": {
                    "parameters": [{"name": "token", "in": "query"}],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    state = scan_state(tmp_path, "http://127.0.0.1:1", spec)
    probes.credentials_in_url(state, spec_of(spec))
    state.close()
    details = [f["detail"] for f in findings(tmp_path)]
    assert len(details) == 2 and "'api_key'" in details[0] and "'token'" in details[1]


def test_undocumented_debug_routes_are_found_and_documented_ones_are_not(tmp_path: Path) -> None:
    spec = {"paths": {"/admin": {"get": {"responses": {"200": {"description": "ok"}}}}}}

    def api(call: Call) -> tuple[int, Any]:
        return (200, {"users": []}) if call.path in ("/debug/vars", "/admin") else (404, {"error": "nope"})

    with stub(api) as url:
        state = scan_state(tmp_path, url, spec)
        probes.inventory(state, spec_of(spec))
        state.close()
    assert [f["label"] for f in findings(tmp_path)] == ["GET /debug/vars"]


def test_ssrf_hits_on_the_listener_become_findings(tmp_path: Path) -> None:
    spec = {
        "paths": {
            "/api/avatar": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"url": {"type": "string", "format": "uri"}},
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        }
    }

    def fetching(call: Call) -> tuple[int, Any]:
        with urllib.request.urlopen(call.body["url"], timeout=2) as fetched:  # the planted flaw
            return 200, {"bytes": len(fetched.read())}

    with attack_ssrf.listening() as listener, stub(fetching) as url:
        state = scan_state(tmp_path, url, spec, ssrf_base=listener.url)
        req, resp = base(state, "POST", "/api/avatar", json={"url": "http://127.0.0.1:1/x"}, has_json=True)
        attack_ssrf.plant(state, spec_of(spec).operations()[0], req, resp)
        state.close()
        nonces = listener.nonces()
    records = Records().read(tmp_path / "findings.jsonl")
    assert len(records.ssrf) == 1 and nonces == {records.ssrf[0]["nonce"]}
    [hit] = records.ssrf_hits(nonces)
    assert hit["check"] == "ssrf" and "/ssrf/" in hit["request"]
    assert records.ssrf_hits(set()) == []


def test_the_prober_keeps_to_the_origin_the_exclusions_and_the_budget() -> None:
    prober = Prober(
        "http://127.0.0.1:1",
        exclusions=Exclusions.parse(["GET /createdb", "* /admin/{x}"]),
        max_requests=1,
        timeout_s=0.5,
    )
    with pytest.raises(ValueError, match="outside the API's origin"):
        prober.send(Req("GET", "http://169.254.169.254", "/latest/meta-data"))
    with pytest.raises(ValueError, match="excluded operation: GET /createdb"):
        prober.send(Req("GET", "http://127.0.0.1:1", "/createdb"))
    with pytest.raises(ValueError, match="excluded operation: DELETE /admin/7"):
        prober.send(Req("DELETE", "http://127.0.0.1:1", "/admin/{x}", path_values={"x": 7}))
    assert prober.send(Req("GET", "http://127.0.0.1:1", "/healthz")).status == 0  # refused connection
    with pytest.raises(OutOfBudget):
        prober.send(Req("GET", "http://127.0.0.1:1", "/healthz"))
    prober.close()


def test_the_ledger_keeps_what_only_one_user_was_answered(tmp_path: Path) -> None:
    state = scan_state(tmp_path, "http://127.0.0.1:1", {"paths": {}})
    state.own("alice", ["7", "shared", "9"])
    state.own("bob", ["shared"])
    state.own("alice", ["7"])  # seen again: now the newest
    assert state.owned_only_by("alice") == ["alice", "9", "7"]
    state.close()
    stats = [json.loads(line) for line in (tmp_path / "findings.jsonl").read_text().splitlines()]
    assert stats[-1]["kind"] == "stats"


def test_a_findings_file_cut_mid_line_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"kind": "finding", "check": "ssrf"}\n{"kind": "stats", "tried": {"ss')
    records = Records().read(path)
    assert len(records.findings) == 1 and records.errors == [
        "f.jsonl:2: a broken line (the writer was stopped)"
    ]
