"""The load scenarios' ``alerts`` key (judged against a real Prometheus in
tests/harness/targets/local/test_prometheus_live.py)."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.results import Status
from harness.stages.load.alert_checks import alert_results, validate_alerts


@pytest.mark.parametrize(("spec", "problem"), [
    ({"fire": ["no spaces"]}, "not an alert name"),
    ({"fires": ["A"]}, "expected a mapping"),
    ({"none": False}, "alerts.none"),
])
def test_mistakes_name_the_key(spec: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        validate_alerts(spec, "scenarios/load/x.yaml")


def test_without_prometheus_the_checks_are_skipped_not_passed() -> None:
    results = alert_results("x", {"none": True, "cannot_fire": {"A": "why not"}}, None, 0.0)
    assert [(r.id, r.status) for r in results] == [("LOAD-x-alert-A", Status.SKIPPED),
                                                  ("LOAD-x-alerts", Status.SKIPPED)]
