from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.targets.spec import TargetSpec, parse_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("local", TargetSpec("local")),
        (" LOCAL ", TargetSpec("local")),
        ("local?app=0", TargetSpec("local", "", {"app": "0"})),
        ("existing:up.json", TargetSpec("existing", "up.json")),
        ("existing:/tmp/run/up.json", TargetSpec("existing", "/tmp/run/up.json")),
        ("kind://harness?reuse=1", TargetSpec("kind", "harness", {"reuse": "1"})),
        ("aws://staging", TargetSpec("aws", "staging")),
        ("aws://staging/eu-west-1", TargetSpec("aws", "staging/eu-west-1")),
    ],
)
def test_parse_spec(spec: str, expected: TargetSpec) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "   ", ":up.json", "lo cal", "kind://x?reuse"])
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="--target"):
        parse_spec(spec)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_flag(value: str, expected: bool) -> None:
    assert parse_spec(f"kind://h?reuse={value}").flag("reuse") is expected
    assert parse_spec("kind://h").flag("reuse", default=True) is True


def test_str_round_trips() -> None:
    assert str(parse_spec("kind://harness?reuse=1")) == "kind:harness?reuse=1"
    assert parse_spec(str(parse_spec("existing:a.json"))) == TargetSpec("existing", "a.json")
