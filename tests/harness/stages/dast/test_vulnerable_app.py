"""``harness verify --target existing:`` against a planted-flaw API, its clean twin, and in passive mode.

The API runs as a process of its own (``vulnerable_server.py``), as a foreign API would; the stage
only gets an environment file (two users' tokens) and a ``[dast]`` section. One run per app, shared
by the tests of a module: together they take about a minute on two cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.stages.dast import sqlmap
from harness.stages.dast.catalog import CHECKS
from tests.harness.stages.dast.vulnerable_api import PASSWORDS
from tests.harness.stages.dast.vulnerable_server import ROOT, Served, serve

pytestmark = pytest.mark.slow
CONFIG = """
[dast]
exclude_operations = ["GET /createdb"]   # destructive: must never be called
slow_response_s = 0.4
max_examples = 3                         # bounded for ./dev test: the benchmark runs the profiles
phases = "fuzzing"
zap_path = "/nonexistent/zap.sh"
"""
# Each planted flaw (vulnerable_api.py's docstring) -> the result that must name it, and where.
PLANTED = {
    "SQL injection in a path parameter": ("DAST-INJ-sql-injection", "/api/users/{username}"),
    "another user's password changed": ("DAST-API1-bola-write", "/api/users/{username}/password"),
    "another user's object read": ("DAST-API1-bola-read", "/api/notes/{note_id}"),
    "mass assignment of an admin flag at sign-up": ("DAST-API3-mass-assignment", "/api/signup"),
    "a debug endpoint exposing every user's password": ("DAST-API3-data-exposure", "/debug/users"),
    "... and not in the document": ("DAST-API9-undocumented-route", "/debug/users"),
    "user enumeration at login": ("DAST-API2-user-enumeration", "/api/login"),
    "a ReDoS-prone field": ("DAST-API4-slow-input", "/api/check-email"),
    "no rate limiting": ("DAST-API4-rate-limit", "/api/login"),
    "a JWT signed with a weak key": ("DAST-API2-jwt-weak-secret", "/api/"),
    "SSRF": ("DAST-API7-ssrf", "/api/avatar"),
    "a regular user calls an admin operation": ("DAST-API5-function-level", "/api/admin/users"),
    "uncapped page size": ("DAST-API4-page-size", "/api/notes"),
    "SQL error text in an answer": ("DAST-API8-error-disclosure", "/api/users/{username}"),
}


@dataclass(slots=True)
class Run:
    code: int
    run_dir: Path
    served: Served
    results: dict[str, dict[str, Any]]

    def files(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.run_dir.rglob("*") if p.is_file())


def _verify(served: Served, directory: Path, config: str = CONFIG) -> Run:
    (directory / "harness.toml").write_text(config)
    code = main(
        [
            "verify",
            "--config",
            str(directory / "harness.toml"),
            "--root",
            str(ROOT),
            "--target",
            f"existing:{served.env_file}",
            "--stages",
            "dast",
            "--reports",
            str(directory / "reports"),
            "--plain",
            "--no-bundle",
        ]
    )
    run_dir = next((directory / "reports").glob("*/results.json")).parent
    record = json.loads((run_dir / "results.json").read_text())
    return Run(code, run_dir, served, {r["id"]: r for r in record["results"]})


def _facts(run: Run) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((run.run_dir / "evidence/dast/run.json").read_text())
    return facts


@pytest.fixture(scope="module")
def weak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    directory = tmp_path_factory.mktemp("weak")
    with serve("weak", directory) as served:
        yield _verify(served, directory)


@pytest.mark.parametrize("flaw", list(PLANTED))
def test_every_planted_flaw_is_named(weak: Run, flaw: str) -> None:
    result_id, where = PLANTED[flaw]
    result = weak.results[result_id]
    assert result["status"] == "failed", result["message"]
    assert where in result["location"]
    assert weak.code == 1


def test_findings_carry_the_exchange_and_both_users_and_no_secret(weak: Run) -> None:
    write = weak.results["DAST-API1-bola-write"]
    assert "users: alice, bob" in write["message"] and "bob's PUT on alice's object" in write["message"]
    [instances] = [e for e in write["evidence"] if e.endswith("DAST-API1-bola-write.json")]
    [first, *_] = json.loads((weak.run_dir / instances).read_text())
    assert first["users"] == ["alice", "bob"] and "Authorization: Bearer <token of bob>" in first["request"]
    assert first["response"].startswith("204")
    text = weak.files()
    for user in weak.served.users:
        assert user["token"] not in text
    for password in PASSWORDS.values():  # /debug/users lists them: evidence must not
        assert password not in text


def test_sql_injection_is_confirmed_by_sqlmap_when_it_is_installed(weak: Run) -> None:
    sql = weak.results["DAST-INJ-sql-injection"]
    if sqlmap.locate() is None:
        assert "not confirmed: sqlmap is not installed" in sql["message"]
        return
    assert "confirmed by sqlmap" in sql["proven_on"] and "sqlmap" in sql["message"]
    [output] = [e for e in sql["evidence"] if "/sqlmap/" in e]
    assert "injection point" in (weak.run_dir / output).read_text()


def test_the_excluded_destructive_operation_is_never_called(weak: Run) -> None:
    assert weak.served.createdb_calls() == 0
    # Nothing of the reference app leaks into a foreign API's scan (its paths are not probed here).
    assert not [rid for rid, r in weak.results.items() if "/api/uploads" in (r["location"] or "")]
    document = json.loads((weak.run_dir / "evidence/dast/openapi.json").read_text())
    assert "get" not in document["paths"].get("/createdb", {})


def test_the_report_says_mode_seed_and_what_proved_each_result(weak: Run) -> None:
    facts = _facts(weak)
    seed = facts["seed"]
    assert facts["scan_mode"].startswith("active") and facts["replay"].endswith(f"--dast-seed {seed}")
    st = facts["tools"]["schemathesis"]
    assert int(st["requests"]) > 0 and int(st["harness_probe_requests"]) > 0 and st["version"]
    sql = weak.results["DAST-INJ-sql-injection"]
    assert sql["measured"]["seed"] == seed and f"replay: --dast-seed {seed}" in sql["message"]
    assert weak.results["DAST-schemathesis"]["kind"] == "summary"  # a tool run is never evidence
    missing = [rid for rid, r in weak.results.items() if not r.get("proven_on")]
    assert missing == []
    assert weak.results["DAST-API1-bola-read"]["proven_on"].endswith("'s loop")  # a Schemathesis check


def test_the_clean_twin_passes(tmp_path: Path) -> None:
    with serve("clean", tmp_path) as served:
        run = _verify(served, tmp_path)
    bad = {rid: r["message"][:300] for rid, r in run.results.items() if r["status"] in ("failed", "error")}
    assert bad == {} and run.code == 0
    for check in CHECKS:
        result = run.results[check.result_id]
        assert result["status"] == "passed" or (result["status"] == "skipped" and result["message"]), (
            check.name
        )
    assert run.results["DAST-API2-expired-token"]["status"] == "skipped"  # no token the harness could sign
    assert served.createdb_calls() == 0


def test_production_gets_a_passive_scan_that_still_names_what_reading_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAST_TEST_PW_ALICE", PASSWORDS["alice"])
    monkeypatch.setenv("DAST_TEST_PW_BOB", PASSWORDS["bob"])
    login = """
[dast.login]
operation = "POST /api/login"
token_path = "/token"
users = [{name = "alice", password_env = "DAST_TEST_PW_ALICE"},
         {name = "bob", password_env = "DAST_TEST_PW_BOB"}]
"""
    with serve("weak", tmp_path, production=True) as served:
        env = json.loads(served.env_file.read_text())
        env["users"] = [{"name": u["name"], "token": "stale-token-from-yesterday"} for u in env["users"]]
        served.env_file.write_text(json.dumps(env))
        run = _verify(served, tmp_path, CONFIG.replace("max_examples = 3", "max_examples = 2") + login)
    mode = _facts(run)["scan_mode"]
    assert mode.startswith("passive") and '"production": true' in mode
    for result_id in (
        "DAST-INJ-sql-injection",
        "DAST-API1-bola-write",
        "DAST-API3-mass-assignment",
        "DAST-API4-rate-limit",
        "ST-negative_data_rejection",
        "ST-object_level_authorization",
        "ST-use_after_free",
        "ST-ensure_resource_availability",
    ):
        assert run.results[result_id]["status"] == "skipped", result_id
        assert "passive mode" in run.results[result_id]["message"]
    assert run.results["DAST-API3-data-exposure"]["status"] == "failed"  # a GET shows it
    har = json.loads(next((run.run_dir / "evidence/dast/schemathesis").glob("har*.json")).read_text())
    entries = har["log"]["entries"]
    assert {e["request"]["method"] for e in entries} <= {"GET", "HEAD", "OPTIONS"}
    assert any(
        e["response"]["status"] == 200 and "/api/notes" in e["request"]["url"] for e in entries
    )  # logged in
    assert served.createdb_calls() == 0
    assert PASSWORDS["alice"] not in run.files()
