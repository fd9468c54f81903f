from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.results import Severity
from harness.stages.dast.rules import Action, default_rules_path, load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[4]


def _enabled_rule_ids() -> set[str]:
    """Every rule id a finding of an enabled scanner or check can carry."""
    from harness.stages.dast.catalog import CHECKS as HARNESS_CHECKS
    from harness.stages.dast.headers import HEADER_RULES
    from harness.stages.dast.reflect import RULE
    from harness.stages.dast.schemathesis_run import CHECKS
    from harness.stages.dast.zap import API_ACTIVE_SCANNERS

    return (
        {r.plugin_id for r in HEADER_RULES}
        | {f"schemathesis:{name}" for name in CHECKS}
        | {c.rule_id for c in HARNESS_CHECKS}
        | set(API_ACTIVE_SCANNERS.split(","))
        | {RULE.rule_id}
    )


@pytest.mark.parametrize(
    "path", [ROOT / "policies" / "dast-rules.tsv", default_rules_path()], ids=["repository", "built-in"]
)
def test_every_enabled_scanner_and_check_has_a_rule(path: Path) -> None:
    rules = load_rules(path)
    assert sorted(_enabled_rule_ids() - rules.ids()) == []
    assert rules.decide("10038").action is Action.FAIL
    assert all(r.reason for r in rules.rules if r.action is Action.IGNORE)


def test_the_built_in_rules_are_the_repository_rules_without_its_own_exceptions() -> None:
    repository, built_in = load_rules(ROOT / "policies" / "dast-rules.tsv"), load_rules(default_rules_path())
    assert built_in.ids() == repository.ids()
    assert all(r.url_regex is None for r in built_in.rules)  # nothing app-specific ships with the harness


def test_unlisted_ids_fail_when_high_or_medium_and_warn_when_low() -> None:
    rules = parse_rules("# nothing\n")
    assert rules.decide("99999", severity=Severity.HIGH).action is Action.FAIL
    assert rules.decide("99999", severity=Severity.MEDIUM).action is Action.FAIL
    assert rules.decide("99999", severity=Severity.LOW).action is Action.WARN
    assert rules.decide("99999", severity=Severity.INFO).action is Action.WARN
    assert "default for its severity" in rules.decide("99999").explanation


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


def test_a_configured_default_action_replaces_the_severity_default() -> None:
    rules = parse_rules("# nothing\n\n", default=Action.WARN)
    assert rules.decide("99999", severity=Severity.CRITICAL).action is Action.WARN


def test_ignore_reason_may_be_a_trailing_comment() -> None:
    rules = parse_rules("10096\tIGNORE\t(Timestamp Disclosure)\t# epoch values are data\n")
    assert rules.rules[0].reason == "epoch values are data"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10096\tIGNORE\t(Timestamp Disclosure)\n", "IGNORE rule 10096 needs a reason"),
        ("10038\tBLOCK\t(CSP)\n", "action 'BLOCK' is not one of"),
        ("10038 FAIL (CSP)\n", "expected 3 or 4 tab-separated columns"),
        ("abc\tFAIL\t(x)\n", "not a ZAP plugin id, schemathesis:<check> or harness:<check>"),
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
