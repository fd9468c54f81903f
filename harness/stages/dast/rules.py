"""The DAST rules file: ZAP's baseline format, governing ZAP alerts, our header checks and Schemathesis.

One rule a line, tab-separated, exactly as ``zap-baseline.py -c`` reads it::

    10038<TAB>FAIL<TAB>(Content Security Policy (CSP) Header Not Set)
    10096<TAB>IGNORE<TAB>(Timestamp Disclosure) reason: epoch seconds in our JSON are not secrets
    schemathesis:not_a_server_error<TAB>FAIL<TAB>(5xx on any generated input)
    10049<TAB>IGNORE<TAB>(Storable and Cacheable Content) reason: health probes<TAB>.*/healthz$

Columns: rule id (a ZAP plugin id, ``schemathesis:<check>`` or ``harness:<check>``), action (IGNORE,
INFO, WARN, FAIL), name (free text), optional URL regex (the rule applies only to matching URLs; a
rule with a regex wins over the same id without one). ``#`` starts a comment line. An IGNORE rule
must carry a reason: ``reason:`` in the name column or a trailing ``# comment``. Errors name
``file:line``.

A finding whose rule id the file does not list fails when its severity is critical, high or medium,
and is reported as warned when low or info (``[dast] default_action`` replaces that choice). The
rules file never waives: FAIL gates, WARN and INFO are ``warned``, IGNORE drops the instance.
When a repository has no rules file, the one shipped with the harness is used (:func:`default_rules_path`).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import ConfigError
from harness.results import Severity

SCHEMATHESIS_PREFIX = "schemathesis:"
_ID = re.compile(r"^(?:\d{1,6}|schemathesis:[a-z_]+|harness:[a-z_]+)$")
GATING_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)


class Action(enum.StrEnum):
    IGNORE = "IGNORE"
    INFO = "INFO"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def gates(self) -> bool:
        """Whether a finding under this action fails the run."""
        return self is Action.FAIL


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    action: Action
    name: str
    url_regex: re.Pattern[str] | None
    reason: str
    source: str  # file:line, for reports

    def applies_to(self, url: str | None) -> bool:
        return self.url_regex is None or (url is not None and self.url_regex.search(url) is not None)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules say about one finding: the action, and which rule (if any) said so."""

    action: Action
    rule: Rule | None

    @property
    def explanation(self) -> str:
        if self.rule is None:
            return f"{self.action.value} (no rule in the rules file: the default for its severity)"
        why = f": {self.rule.reason}" if self.rule.reason else ""
        return f"{self.action.value} per {self.rule.source}{why}"


@dataclass(slots=True)
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    default: Action | None = None  # None: FAIL for critical/high/medium, WARN for low/info
    source: str = "<none>"

    def decide(self, rule_id: str, url: str | None = None, severity: Severity = Severity.MEDIUM) -> Decision:
        """The most specific matching rule (one with a URL regex beats one without), else the default."""
        matching = [r for r in self.rules if r.rule_id == rule_id and r.applies_to(url)]
        matching.sort(key=lambda r: r.url_regex is None)
        if matching:
            return Decision(matching[0].action, matching[0])
        if self.default is not None:
            return Decision(self.default, None)
        return Decision(Action.FAIL if severity in GATING_SEVERITIES else Action.WARN, None)

    def ids(self) -> set[str]:
        return {r.rule_id for r in self.rules}


def default_rules_path() -> Path:
    """The rules file shipped with the harness (used when a repository has none)."""
    return Path(__file__).with_name("dast-rules.tsv")


def load_rules(path: Path, *, default: Action | None = None, shown_as: str | None = None) -> RuleSet:
    """Read and validate a rules file; raises :class:`ConfigError` naming ``file:line``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read DAST rules: {exc.strerror}") from None
    return parse_rules(text, source=shown_as or str(path), default=default)


def parse_rules(text: str, *, source: str = "<rules>", default: Action | None = None) -> RuleSet:
    rules: list[Rule] = []
    seen: dict[tuple[str, str], str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        rule = _parse_line(raw, where)
        if rule is None:
            continue
        key = (rule.rule_id, rule.url_regex.pattern if rule.url_regex else "")
        if key in seen:
            raise ConfigError(f"{where}: rule {rule.rule_id} repeats {seen[key]} (same id and URL regex)")
        seen[key] = where
        rules.append(rule)
    return RuleSet(rules=rules, default=default, source=source)


def parse_action(value: str, where: str) -> Action:
    try:
        return Action(value.strip().upper())
    except ValueError:
        raise ConfigError(f"{where}: action {value!r} is not one of IGNORE, INFO, WARN, FAIL") from None


def _parse_line(raw: str, where: str) -> Rule | None:
    line, _, comment = raw.partition("\t#")
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    columns = [c.strip() for c in line.rstrip("\n").split("\t")]
    if len(columns) < 3 or len(columns) > 4:
        raise ConfigError(f"{where}: expected 3 or 4 tab-separated columns (id, action, name[, url regex]), "
                          f"got {len(columns)}")
    rule_id, action_text, name = columns[:3]
    if not _ID.match(rule_id):
        raise ConfigError(f"{where}: rule id {rule_id!r} is not a ZAP plugin id, schemathesis:<check> or "
                          "harness:<check>")
    action = parse_action(action_text, where)
    reason = _reason(name, comment)
    if action is Action.IGNORE and not reason:
        raise ConfigError(f"{where}: IGNORE rule {rule_id} needs a reason ('reason: ...' in the name column "
                          "or a trailing '# comment')")
    return Rule(rule_id, action, name, _regex(columns[3] if len(columns) == 4 else "", where), reason, where)


def _reason(name: str, comment: str) -> str:
    _, found, after = name.partition("reason:")
    if found and after.strip():
        return after.strip()
    return comment.strip().lstrip("#").strip()


def _regex(text: str, where: str) -> re.Pattern[str] | None:
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(f"{where}: URL regex {text!r} does not compile: {exc}") from None


__all__ = ["SCHEMATHESIS_PREFIX", "Action", "Decision", "Rule", "RuleSet", "default_rules_path", "load_rules",
           "parse_action", "parse_rules"]
