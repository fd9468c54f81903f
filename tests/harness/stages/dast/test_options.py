"""``[dast]`` options: which mode runs where, seeds, budgets per profile, exclusions, the login hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.cli import build_parser, load_config
from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.stages.dast.login import LoginConfig
from harness.stages.dast.options import PASSIVE_EXCLUDED_CHECKS, read_options
from harness.stages.dast.rules import default_rules_path
from harness.stages.dast.spec import ApiSpec, Exclusions, example_value

ROOT = Path(__file__).resolve().parents[4]


def _read(
    section: dict[str, Any] | None = None,
    *,
    target: str = "local",
    production: bool = False,
    profile: str = "pr",
    policies: Path = ROOT / "policies",
) -> Any:
    return read_options(
        section or {}, root=ROOT, policies=policies, profile=profile, target=target, production=production
    )


@pytest.mark.parametrize(
    ("target", "production", "section", "mode", "why"),
    [
        ("local", False, {}, "full", "may be attacked"),
        ("existing", False, {}, "full", "may be attacked"),
        ("existing", True, {}, "passive", '"production": true'),
        ("aws", False, {}, "passive", "not one the harness may attack"),
        ("existing", False, {"scan_profile": "passive"}, "passive", "scan_profile = 'passive'"),
        ("existing", True, {"scan_profile": "full"}, "full", "scan_profile = 'full'"),
    ],
)
def test_active_where_the_harness_may_attack(
    target: str, production: bool, section: dict[str, Any], mode: str, why: str
) -> None:
    options = _read(section, target=target, production=production)
    assert options.scan_profile == mode and why in options.mode_reason


def test_passive_mode_sends_only_safe_methods_and_drops_checks_that_cannot_run() -> None:
    st = _read({"scan_profile": "passive"}).schemathesis
    assert st.mode == "positive" and "stateful" not in st.phases
    joined = " ".join(st.extra_args)
    assert "^(GET|HEAD|OPTIONS)$" in joined
    for check in (
        "negative_data_rejection",
        "object_level_authorization",
        "use_after_free",
        "ensure_resource_availability",
    ):
        assert check in PASSIVE_EXCLUDED_CHECKS and check in joined


def test_a_fresh_seed_per_run_unless_one_is_given() -> None:
    seeds = {_read().seed for _ in range(5)}
    assert len(seeds) > 1 and not _read().seed_given
    given = _read({"seed": 1234})
    assert given.seed == given.schemathesis.seed == 1234 and given.seed_given


def test_dast_seed_on_the_command_line_replays_a_run() -> None:
    args = build_parser().parse_args(["verify", "--root", str(ROOT), "--dast-seed", "77", "--stages", "dast"])
    config = load_config(args)
    assert config.dast["seed"] == 77 and _read(config.dast).seed == 77
    with pytest.raises(ConfigError, match="--dast-seed"):
        HarnessConfig.defaults(ROOT).update(dast_seed="77")


def test_budgets_per_profile_in_requests_and_seconds() -> None:
    pr, nightly = _read(profile="pr"), _read(profile="nightly")
    assert pr.max_requests < nightly.max_requests and pr.max_seconds < nightly.max_seconds
    assert pr.schemathesis.max_time_s is None  # pr: bounded by examples
    assert nightly.schemathesis.max_time_s is not None  # nightly: fuzzes until its time budget
    assert nightly.schemathesis.max_time_s < nightly.max_seconds
    assert _read({"profiles": {"pr": {"max_requests": 123}}}).max_requests == 123


def test_the_built_in_rules_are_used_when_the_repository_has_none(tmp_path: Path) -> None:
    assert _read(policies=tmp_path).rules_path == default_rules_path()
    assert _read().rules_path == ROOT / "policies" / "dast-rules.tsv"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        # what the config schema cannot say (unknown keys and wrong types: tests/harness/core/test_config.py)
        ({"exclude_operations": ["createdb"]}, "exclude_operations: 'createdb' is not 'METHOD /path'"),
        (
            {"login": {"operation": "POST /login", "users": [{"name": "a", "password_env": "NOPE_PW_X"}]}},
            "environment variable NOPE_PW_X",
        ),
        ({"login": {"operation": "login"}}, "operation: expected 'METHOD /path'"),
    ],
)
def test_bad_options_are_one_clear_line(section: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match="dast") as excinfo:
        _read(section)
    assert problem in str(excinfo.value)


def test_excluded_operations_are_dropped_from_the_document_the_tools_get() -> None:
    document: dict[str, Any] = {
        "paths": {
            "/createdb": {"get": {}, "post": {}},
            "/api/notes/{id}": {"delete": {}},
            "/healthz": {"get": {}},
        }
    }
    spec = ApiSpec(document, "<t>", exclusions=Exclusions.parse(["GET /createdb", "* /api/notes/{id}"]))
    assert list(spec.filtered_document()["paths"]) == ["/createdb", "/healthz"]
    assert list(spec.filtered_document()["paths"]["/createdb"]) == ["post"]
    assert [o.label for o in spec.operations()] == ["POST /createdb", "GET /healthz"]
    assert spec.exclusions.blocks("DELETE", "/api/notes/7") and not spec.exclusions.blocks("GET", "/healthz")
    assert spec.documented("DELETE", "/api/notes/7") and not spec.documented("GET", "/debug")


def test_example_values_are_valid_for_their_schema() -> None:
    schema = {
        "type": "object",
        "required": ["email", "n", "name"],
        "properties": {
            "email": {"type": "string", "format": "email"},
            "n": {"type": "integer", "minimum": 3},
            "name": {"type": "string", "minLength": 20},
            "optional": {"type": "string"},
        },
    }
    value = example_value(schema)
    assert set(value) == {"email", "n", "name"} and "@" in value["email"] and value["n"] == 3
    assert len(value["name"]) >= 20


def test_login_users_take_their_passwords_from_the_environment() -> None:
    config = LoginConfig.parse(
        {
            "operation": "post /api/login",
            "token_path": "/data/token",
            "users": [{"name": "alice", "password_env": "PW"}],
        },
        environ={"PW": "s3cret"},
    )
    assert config is not None and config.method == "POST" and config.users[0].password == "s3cret"
    assert config.users[0].username == "alice" and LoginConfig.parse(None) is None


def test_an_environment_file_marks_production_with_a_boolean() -> None:
    from harness.targets.base import Environment

    assert Environment.from_dict({"api_url": "http://x", "production": True}).production is True
    assert Environment.from_dict({"api_url": "http://x"}).production is False
    assert Environment.from_dict({"api_url": "http://x", "production": True}).to_dict()["production"] is True
    with pytest.raises(ValueError, match="production: expected true or false"):
        Environment.from_dict({"api_url": "http://x", "production": "yes"})


def test_the_document_may_be_a_file_and_its_server_path_is_the_base(tmp_path: Path) -> None:
    from harness.stages.dast.spec import load_spec

    (tmp_path / "api.yaml").write_text(
        "openapi: 3.0.3\nservers: [{url: /v2}]\npaths:\n  /items/{id}:\n    get: {responses: {'200': {}}}\n"
    )
    spec = load_spec("api.yaml", "http://127.0.0.1:1", root=tmp_path, exclusions=Exclusions())
    assert spec.base_path == "/v2" and [o.label for o in spec.operations()] == ["GET /items/{id}"]
    assert spec.template_url("http://127.0.0.1:1/v2/items/7") == "http://127.0.0.1:1/v2/items/{id}"
    with pytest.raises(ConfigError, match=r"\[dast\] spec: .*missing.yaml"):
        load_spec("missing.yaml", "http://127.0.0.1:1", root=tmp_path, exclusions=Exclusions())
