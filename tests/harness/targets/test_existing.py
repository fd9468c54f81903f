from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import ConfigError, TargetError
from harness.redact import Redactor
from harness.targets.base import AwsEndpoint, Environment, TestUser
from harness.targets.existing import ExistingTarget, load_environment, write_environment


def _environment() -> Environment:
    return Environment(
        target="local", api_url="http://127.0.0.1:8000", web_url="http://127.0.0.1:8000/",
        aws=AwsEndpoint("http://127.0.0.1:5000", "us-east-1", "k", "s", {"raw": "raw-uploads"}),
        users=[TestUser("alice", "tok-a"), TestUser("bob", "tok-b")],
        database_url="postgresql://u:p@127.0.0.1:5432/db", redis_url="redis://:p@127.0.0.1:6379/0",
        metrics_urls={"api": ["http://127.0.0.1:8000/metrics"]},
    )


def test_round_trip_through_the_up_json(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    write_environment(_environment(), path)
    assert path.stat().st_mode & 0o077 == 0  # holds tokens
    redactor = Redactor()
    env = ExistingTarget(path, redactor).up()
    assert (env.target, env.api_url) == ("existing", "http://127.0.0.1:8000")
    assert env.web_url == "http://127.0.0.1:8000/"
    assert [(u.name, u.token) for u in env.users] == [("alice", "tok-a"), ("bob", "tok-b")]
    assert env.aws.buckets == {"raw": "raw-uploads"}
    assert env.metrics_urls == {"api": ["http://127.0.0.1:8000/metrics"]}
    assert env.extra["origin_target"] == "local"
    assert "tok-a" not in redactor.redact("Authorization: token tok-a")  # the run's redactor learnt them


def test_no_control_handle_and_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    data = _environment().to_dict()
    path.write_text(json.dumps(data))
    env = ExistingTarget(path).up()
    assert env.control is None
    with pytest.raises(TargetError, match="'existing' has no control handle; needed to kill a worker"):
        env.require_control("kill a worker")


def test_minimal_file_staging_style(tmp_path: Path) -> None:
    path = tmp_path / "staging.json"
    data = {"api_url": "https://staging.example.com", "users": [{"name": "a", "token": "t"}]}
    path.write_text(json.dumps(data))
    env = load_environment(path)
    assert env.web_url == "https://staging.example.com"
    assert env.aws.endpoint_url is None and env.aws.region == "us-east-1"


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    path.write_text('{\n  "api_url": "http://x",\n  "users": [,]\n}')
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert str(info.value).startswith(f"{path}:3:")
    assert "not valid JSON" in str(info.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[]", "expected a JSON object, got list"),
        ("{}", "api_url: required"),
        ('{"api_url": 3}', "api_url: expected a string, got int"),
        ('{"api_url": "http://x", "users": [{"name": "a"}]}', "users[0]: expected string 'name' and"),
        ('{"api_url": "http://x", "aws": []}', "aws: expected an object, got list"),
    ],
)
def test_bad_content_is_a_readable_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    assert str(info.value) == f"{path}: {problem}" or str(info.value).startswith(f"{path}: {problem}")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        ExistingTarget(tmp_path / "nope.json").up()
    assert str(info.value).endswith("environment file not found (hint: write one with `harness up --json`)")


def test_down_stops_nothing(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    write_environment(_environment(), path)
    target = ExistingTarget(path)
    target.up()
    target.down()
    target.down()
    assert target.environment is None and path.exists()
