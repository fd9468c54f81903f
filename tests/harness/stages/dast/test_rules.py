from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.stages.dast.rules import Action, load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[4]


def test_shipped_rules_file_is_valid_and_covers_header_and_schemathesis_checks() -> None:
    from harness.stages.dast.headers import HEADER_RULES
    from harness.stages.dast.schemathesis_run import CHECKS

    rules = load_rules(ROOT / "policies" / "dast-rules.tsv")
    ids = rules.ids()
    assert {r.plugin_id for r in HEADER_RULES} <= ids
    assert {f"schemathesis:{name}" for name in CHECKS} <= ids
    assert rules.decide("10038").action is Action.FAIL
    assert all(r.reason for r in rules.rules if r.action is Action.IGNORE)


def test_baseline_line_with_and_without_url_regex() -> None:
    rules = parse_rules(
        "10038\tFAIL\t(CSP Header Not Set)\n"
        "10038\tIGNORE\t(CSP) reason: the docs page is third-party\t.*/docs$\n"
    )
    assert rules.decide("10038", "http://x/api/uploads").action is Action.FAIL
    decision = rules.decide("10038", "http://x/docs")
    assert decision.action is Action.IGNORE
    assert decision.rule is not None and decision.rule.reason == "the docs page is third-party"
    assert "<rules>:2" in decision.explanation


def test_unknown_ids_take_the_default_action() -> None:
    rules = parse_rules("# nothing\n\n", default=Action.FAIL)
    assert rules.decide("99999").action is Action.FAIL
    assert "default" in rules.decide("99999").explanation


def test_ignore_reason_may_be_a_trailing_comment() -> None:
    rules = parse_rules("10096\tIGNORE\t(Timestamp Disclosure)\t# epoch values are data\n")
    assert rules.rules[0].reason == "epoch values are data"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10096\tIGNORE\t(Timestamp Disclosure)\n", "IGNORE rule 10096 needs a reason"),
        ("10038\tBLOCK\t(CSP)\n", "action 'BLOCK' is not one of"),
        ("10038 FAIL (CSP)\n", "expected 3 or 4 tab-separated columns"),
        ("abc\tFAIL\t(x)\n", "neither a ZAP plugin id nor schemathesis:<check>"),
        ("10038\tFAIL\t(x)\t[unclosed\n", "does not compile"),
        ("10038\tFAIL\t(x)\n10038\tWARN\t(y)\n", "repeats rules.tsv:2"),
    ],
)
def test_invalid_lines_name_file_and_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_rules("# header\n" + text, source="rules.tsv")
    message = str(excinfo.value)
    assert problem in message
    assert message.startswith("rules.tsv:2:") or message.startswith("rules.tsv:3:")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read DAST rules"):
        load_rules(tmp_path / "absent.tsv")
