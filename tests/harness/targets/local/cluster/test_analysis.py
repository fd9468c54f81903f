"""AnalysisTemplate/AnalysisRun semantics, with cases from the Argo Rollouts documentation.

Doc = https://argo-rollouts.readthedocs.io/en/stable/features/analysis/ ("Analysis doc").
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.targets.local.cluster.analysis import (
    AnalysisRun,
    AnalysisTemplate,
    MetricSpec,
    Phase,
    measurement_phase,
    parse_duration,
    substitute_args,
)


@pytest.mark.parametrize(
    ("success", "failure", "value", "expected"),
    [
        # Analysis doc, "Analysis": only successCondition -> Failed when it is false
        ("result[0] >= 0.95", None, [0.99], Phase.SUCCESSFUL),
        ("result[0] >= 0.95", None, [0.80], Phase.FAILED),
        # "Failure conditions": only failureCondition -> Successful when it is false
        (None, "result[0] >= 100", [50], Phase.SUCCESSFUL),
        (None, "result[0] >= 100", [150], Phase.FAILED),
        # "Inconclusive runs": success >= 0.9, failure < 0.5, 0.5..0.9 inconclusive
        ("result[0] >= 0.90", "result[0] < 0.50", [0.95], Phase.SUCCESSFUL),
        ("result[0] >= 0.90", "result[0] < 0.50", [0.40], Phase.FAILED),
        ("result[0] >= 0.90", "result[0] < 0.50", [0.70], Phase.INCONCLUSIVE),
        # neither condition: always Successful (the gap our canary-rollback scenario exposes)
        (None, None, [0.0], Phase.SUCCESSFUL),
        # a condition that cannot be evaluated (empty vector) is an Error measurement
        ("result[0] >= 0.95", None, [], Phase.ERROR),
    ],
)
def test_measurement_phase(success: str | None, failure: str | None, value: Any, expected: Phase) -> None:
    metric = MetricSpec("m", success_condition=success, failure_condition=failure)
    assert measurement_phase(metric, value) is expected


def _run(**spec: Any) -> AnalysisRun:
    return AnalysisRun.create("r", [MetricSpec("m", **spec)], 0.0)


def test_failure_limit_fails_when_exceeded() -> None:
    # Analysis doc, "Analysis": interval 5m, failureLimit 3 -> "the fourth failure fails the run".
    run = _run(success_condition="result[0] >= 0.95", failure_limit=3, interval_s=300.0)
    for i in range(3):
        run.record("m", i * 300.0, [0.5])
        assert run.phase() is Phase.RUNNING
    run.record("m", 900.0, [0.5])
    assert run.phase() is Phase.FAILED


def test_default_failure_limit_zero_fails_on_first() -> None:
    run = _run(success_condition="result[0] >= 0.95", interval_s=10.0, count=5)
    run.record("m", 0.0, [0.5])
    assert run.phase() is Phase.FAILED


def test_count_completes_successfully_below_failure_limit() -> None:
    # Analysis doc: with count, the metric succeeds after count measurements unless failures exceeded
    run = _run(success_condition="result[0] >= 0.95", failure_limit=1, interval_s=10.0, count=3)
    for t, v in ((0.0, 0.99), (10.0, 0.5), (20.0, 0.99)):
        run.record("m", t, [v])
    assert run.phase() is Phase.SUCCESSFUL


def test_no_count_no_interval_is_one_measurement() -> None:
    # Analysis doc, "Analysis with a single measurement" (no interval, no count)
    run = _run(success_condition="result[0] >= 0.95")
    assert run.phase() is Phase.RUNNING
    assert [m.name for m in run.due(0.0)] == ["m"]
    run.record("m", 0.0, [0.99])
    assert run.phase() is Phase.SUCCESSFUL
    assert run.due(100.0) == []


def test_consecutive_error_limit_default_four() -> None:
    # Analysis doc, "Error handling": consecutiveErrorLimit defaults to 4; the 5th error errors the run
    run = _run(success_condition="result[0] >= 0.95", interval_s=1.0)
    for i in range(4):
        run.record("m", float(i), error="connection refused")
    assert run.phase() is Phase.RUNNING
    run.record("m", 4.0, error="connection refused")
    assert run.phase() is Phase.ERROR


def test_successful_measurement_resets_consecutive_errors() -> None:
    run = _run(success_condition="result[0] >= 0.95", interval_s=1.0)
    for i in range(4):
        run.record("m", float(i), error="x")
    run.record("m", 4.0, [1.0])
    run.record("m", 5.0, error="x")
    assert run.results["m"].consecutive_error == 1
    assert run.phase() is Phase.RUNNING


def test_inconclusive_limit() -> None:
    run = _run(
        success_condition="result[0] >= 0.9",
        failure_condition="result[0] < 0.5",
        interval_s=1.0,
        inconclusive_limit=1,
    )
    run.record("m", 0.0, [0.7])
    assert run.phase() is Phase.RUNNING
    run.record("m", 1.0, [0.7])
    assert run.phase() is Phase.INCONCLUSIVE


def test_interval_and_initial_delay_schedule() -> None:
    run = AnalysisRun.create("r", [MetricSpec("m", interval_s=30.0, initial_delay_s=10.0)], 0.0)
    assert run.due(5.0) == []
    assert len(run.due(10.0)) == 1
    run.record("m", 10.0, [1.0])
    assert run.due(39.0) == []
    assert len(run.due(40.0)) == 1


def test_run_phase_is_the_worst_metric() -> None:
    run = AnalysisRun.create(
        "r",
        [
            MetricSpec("a", success_condition="result >= 1"),
            MetricSpec("b", success_condition="result >= 1", interval_s=5.0),
        ],
        0.0,
    )
    run.record("a", 0.0, 0)
    assert run.phase() is Phase.FAILED  # one failed metric fails the run even while b runs


def test_run_due_turns_exceptions_into_errors() -> None:
    run = _run(success_condition="result[0] >= 0.95")

    def broken(spec: MetricSpec) -> Any:
        raise ConnectionError("prometheus down")

    [(name, measurement)] = run.run_due(0.0, broken)
    assert (name, measurement.phase) == ("m", Phase.ERROR)
    assert "prometheus down" in measurement.message


TEMPLATE: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisTemplate",
    "metadata": {"name": "success-rate"},
    "spec": {
        "args": [{"name": "service-name"}, {"name": "window", "value": "1m"}],
        "metrics": [
            {
                "name": "success-rate",
                "interval": "30s",
                "count": 4,
                "failureLimit": 1,
                "successCondition": "result[0] >= 0.95",
                "provider": {
                    "prometheus": {
                        "address": "http://prometheus:9090",
                        "query": 'sum(rate(http_requests_total{service="{{args.service-name}}",status!~"5.."}'
                        "[{{args.window}}]))",
                    }
                },
            }
        ],
    },
}


def test_template_parsing_and_args() -> None:
    template = AnalysisTemplate.from_manifest(TEMPLATE)
    [spec] = template.metric_specs({"service-name": "api-canary"})
    assert spec.interval_s == 30.0 and spec.count == 4 and spec.failure_limit == 1
    assert spec.consecutive_error_limit == 4 and spec.inconclusive_limit == 0
    assert spec.query == 'sum(rate(http_requests_total{service="api-canary",status!~"5.."}[1m]))'
    with pytest.raises(ValueError, match="service-name"):
        template.metric_specs()


def test_durations_and_substitution() -> None:
    assert parse_duration("1h30m") == 5400.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration("45") == 45.0
    assert parse_duration(None) is None
    with pytest.raises(ValueError):
        parse_duration("5 minutes")
    assert substitute_args("{{ args.a }}-{{args.b}}", {"a": "1", "b": "2"}) == "1-2"
