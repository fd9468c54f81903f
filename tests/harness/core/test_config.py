from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import STAGE_NAMES, HarnessConfig
from harness.errors import ConfigError
from harness.stages import STAGES

DAST_KEYS = (
    "api_prefix, burst, default_action, exclude_operations, exclude_path_regex, expensive_operations, "
    "fill_time, login, max_examples, max_page_items, max_requests, max_seconds, phases, profiles, "
    "rate_limit, request_timeout_s, rules, scan_profile, schemathesis_args, seed, slow_response_s, "
    "spec, sqlmap_timeout_s, st_max_time_s, st_workers, zap_active_minutes, zap_api_key, zap_api_url, "
    "zap_path, zap_poll_interval_s, zap_shared_dir, zap_shared_dir_local, zap_spider_minutes, "
    "zap_target_host"
)
BAD_STAGE_OPTIONS = [
    ("[policy]\nbaselin = 'x'",
     "harness.toml: policy: unknown key 'baselin' (expected one of allow_checkov_drift, baseline, "
     "ecr_exempt_environments, edge_ingress_classes, edge_namespaces, exclude, frameworks, k8s_version, "
     "manual_environments, raw_bucket_patterns, required_tags, skip_checks, waivers)"),
    ("[policy]\nskip_checks = 'CKV_K8S_43'",
     "harness.toml: policy.skip_checks: expected a list, got 'CKV_K8S_43'"),
    ("[policy]\nallow_checkov_drift = 1",
     "harness.toml: policy.allow_checkov_drift: expected true or false, got 1"),
    ("[policy]\nframeworks = ['terraform', 'helm']",
     "harness.toml: policy.frameworks[1]: 'helm' is not one of terraform, kubernetes, dockerfile, "
     "github_actions, secrets"),
    ("[dast]\nmax_request = 100",
     f"harness.toml: dast: unknown key 'max_request' (expected one of {DAST_KEYS})"),
    ("[dast]\nrate_limit = 'fast'", "harness.toml: dast.rate_limit: expected a number, got 'fast'"),
    ("[dast]\nmax_requests = 0", "harness.toml: dast.max_requests: 0 is out of range (minimum 1)"),
    ("[dast]\nscan_profile = 'loud'", "harness.toml: dast.scan_profile: 'loud' is not one of full, passive"),
    ("[dast.profiles.nightly]\nmax_exampels = 5",
     f"harness.toml: dast.profiles.nightly: unknown key 'max_exampels' (expected one of {DAST_KEYS})"),
    ("[dast.profiles.nightly]\nmax_seconds = '2400'",
     "harness.toml: dast.profiles.nightly.max_seconds: expected an integer, got '2400'"),
    ("[dast.profiles.pr.login]\noperation = 'POST /login'",
     "harness.toml: dast.profiles.pr.login: not allowed here"),
    ("[dast.login]\noperation = 'POST /login'", "harness.toml: dast.login: 'users' is required"),
    ("[dast.login]\noperation = 'POST /login'\nusers = []",
     "harness.toml: dast.login.users: must not be empty"),
    ("[dast.login]\noperation = 'POST /login'\n[[dast.login.users]]\nname = 'alice'\npasswd_env = 'PW'",
     "harness.toml: dast.login.users[0]: unknown key 'passwd_env' (expected one of name, password_env, "
     "username)"),
]

# Snapshots of the one-line messages a user sees: file, key, problem.
BAD_CONFIGS = [
    (
        'stages = ["policy", "fuzz"]',
        "harness.toml: stages[1]: 'fuzz' is not one of policy, functional, dast, load",
    ),
    ('profile = "weekly"', "harness.toml: profile: 'weekly' is not one of pr, nightly"),
    ('stages = "policy"', "harness.toml: stages: expected a list, got 'policy'"),
    ('stages = ["load", "load"]', "harness.toml: stages: lists the same item twice"),
    ('target = ""', "harness.toml: target: must not be empty"),
    (
        "targte = 'local'",
        "harness.toml: unknown key 'targte' (expected one of dast, functional, load, paths, "
        "policy, profile, redact, stages, target, targets, terraform)",
    ),
    ("[paths]\nterraform = 3", "harness.toml: paths.terraform: expected a string, got 3"),
    (
        "[paths]\nchart = 'x'",
        "harness.toml: paths: unknown key 'chart' (expected one of manifests, policies, "
        "reports, scenarios, terraform)",
    ),
    ("policy = 1", "harness.toml: policy: expected a table, got 1"),
    ("[redact]\npatterns = [1]", "harness.toml: redact.patterns[0]: expected a string, got 1"),
    # the functional and load sections are typed: a typo is an error, not a silently ignored key
    (
        "[functional]\nconcurency = 2",
        "harness.toml: functional: unknown key 'concurency' (expected one of concurrency, directory, "
        "http_timeout_s, include_slow, isolated_users, limits, scenarios, skip)",
    ),
    ("[functional]\nconcurrency = 0", "harness.toml: functional.concurrency: 0 is out of range (minimum 1)"),
    ("[functional]\ninclude_slow = 'no'",
     "harness.toml: functional.include_slow: expected true or false, got 'no'"),
    ("[load]\nusers = 50",
     "harness.toml: load: unknown key 'users' (expected one of overlay, processes, scenarios)"),
    ("[load]\nprocesses = 1.5", "harness.toml: load.processes: expected an integer, got 1.5"),
    # so are [policy] and [dast], its profile tables and its login: refused at load, before any target
    *BAD_STAGE_OPTIONS,
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_invalid_config_names_file_and_key(project: Path, text: str, message: str) -> None:
    (project / "harness.toml").write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        HarnessConfig.discover(project)
    assert str(excinfo.value) == message


def test_invalid_toml_is_one_line(project: Path) -> None:
    (project / "harness.toml").write_text("stages = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^harness.toml: invalid TOML: ") as excinfo:
        HarnessConfig.discover(project)
    assert "\n" not in str(excinfo.value)


def test_defaults_when_no_config(tmp_path: Path) -> None:
    config = HarnessConfig.discover(tmp_path)
    assert (config.target, config.stages, config.profile, config.source) == (
        "local",
        STAGE_NAMES,
        "pr",
        "defaults",
    )
    assert config.paths.terraform == tmp_path.resolve() / "terraform"
    assert config.paths.reports == tmp_path.resolve() / "reports"


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text(
        '[paths]\nterraform = "infra/tf"\nreports = "out"\n', encoding="utf-8"
    )
    config = HarnessConfig.from_path(tmp_path / "harness.toml")
    assert config.paths.terraform == tmp_path.resolve() / "infra" / "tf"
    assert config.paths.reports == tmp_path.resolve() / "out"
    assert config.paths.manifests == tmp_path.resolve() / "manifests"


def test_tool_harness_in_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness]\nstages = ["dast", "policy"]\n[tool.harness.dast]\nrules = "zap.tsv"\n',
        encoding="utf-8",
    )
    config = HarnessConfig.discover(tmp_path)
    assert config.stages == ("policy", "dast")  # always run in the canonical order
    assert config.stage_options("dast") == {"rules": "zap.tsv"}
    assert config.source == "pyproject.toml [tool.harness]"
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\nprofile = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^pyproject.toml \[tool.harness\]: profile: 'x' is not one of"):
        HarnessConfig.discover(tmp_path)


def test_harness_toml_wins_over_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.harness]\nprofile = "nightly"\n', encoding="utf-8")
    assert HarnessConfig.discover(project).profile == "pr"


def test_target_sections_and_the_dast_section_are_read_by_their_owners(project: Path) -> None:
    """[targets.local] is checked by the schema (tests/harness/targets/test_local_options.py)."""
    (project / "harness.toml").write_text(
        "[load]\nprocesses = 2\n[dast]\nrate_limit = 5\n[targets.kind]\nnodes = 2\n"
        "[targets.local]\nready_timeout_s = 30\n",
        encoding="utf-8",
    )
    config = HarnessConfig.discover(project)
    assert config.load == {"processes": 2} and config.dast == {"rate_limit": 5}
    assert config.target_options("kind") == {"nodes": 2}
    assert config.target_options("local") == {"ready_timeout_s": 30}
    assert config.target_options("aws") == {}


def test_update_applies_and_validates_cli_overrides(config: HarnessConfig, tmp_path: Path) -> None:
    updated = config.update(
        target="existing:up.json", stages="load, policy", profile="nightly", reports=str(tmp_path / "out")
    )
    assert (updated.target, updated.stages, updated.profile) == (
        "existing:up.json",
        ("policy", "load"),
        "nightly",
    )
    assert updated.paths.reports == (tmp_path / "out").resolve()
    assert config.update(target=None, stages=None) == config
    assert config.stages == STAGE_NAMES  # update returns a copy


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"stages": "policy,fuzz"}, "--stages: 'fuzz' is not one of policy, functional, dast, load"),
        ({"profile": "weekly"}, "--profile: 'weekly' is not one of pr, nightly"),
        ({"target": ""}, "--target: must not be empty"),
        ({"stages": "policy,policy"}, "--stages: lists the same item twice"),
    ],
)
def test_update_errors_name_the_option(
    config: HarnessConfig, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        config.update(**overrides)
    assert str(excinfo.value) == message


def test_load_workers_on_the_command_line_sets_the_locust_processes(config: HarnessConfig) -> None:
    from harness.cli import build_parser, load_config

    args = build_parser().parse_args(["verify", "--root", str(config.root), "--load-workers", "2"])
    assert load_config(args).load["processes"] == 2
    assert config.update(load_workers=3).load == {**config.load, "processes": 3}
    for bad in (0, -1, "2", True):
        with pytest.raises(ConfigError, match=r"--load-workers: expected a whole number >= 1"):
            config.update(load_workers=bad)


def test_missing_root_and_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--root: .* is not a directory$"):
        HarnessConfig.discover(tmp_path / "nope")
    with pytest.raises(ConfigError, match=r"^--config: .*harness.toml: no such file$"):
        HarnessConfig.from_path(tmp_path / "harness.toml")


def test_repo_harness_toml_is_valid() -> None:
    root = Path(__file__).resolve().parents[3]
    config = HarnessConfig.from_path(root / "harness.toml")
    assert config.paths.policies == root / "policies"
    assert config.stages == STAGE_NAMES


def test_stage_registry_matches_config_schema() -> None:
    assert tuple(STAGES) == STAGE_NAMES
