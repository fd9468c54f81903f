"""The safe expr-lang subset: conditions from the Argo Rollouts analysis documentation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from harness.k8s.expr import ExprError, evaluate_condition, parse


@pytest.mark.parametrize(
    ("condition", "result", "expected"),
    [
        # Argo docs, "Analysis": successCondition: result[0] >= 0.95
        ("result[0] >= 0.95", [0.97], True),
        ("result[0] >= 0.95", [0.90], False),
        # Argo docs, "Failure conditions": failureCondition: result[0] >= 100
        ("result[0] >= 100", [150.0], True),
        # Argo docs, "Inconclusive runs": success >= 0.9 / failure < 0.5
        ("result[0] < 0.50", [0.7], False),
        # Argo docs, "Handling Metric Results: NaN and Infinity"
        ("isNaN(result) || result >= 0.95", math.nan, True),
        ("isInf(result) || result >= 0.95", math.inf, True),
        ("result >= 0.95", math.nan, False),
        # empty-result guard used in our AnalysisTemplates
        ("len(result) == 0 || isNaN(result[0])", [], True),
        ("len(result) == 0 || isNaN(result[0])", [0.1], False),
        ("default(result, 0) > 0.5", None, False),
        ("result[0] > 0.5 and result[1] > 0.5", [0.6, 0.7], True),
        ("not (result[0] > 0.5)", [0.6], False),
        ("!(result[0] > 0.5) || result[0] * 10 - 1 == 5", [0.6], True),
        ("asInt(result[0]) % 2 == 1", [3.0], True),
        ('result["status"] == "ok"', {"status": "ok"}, True),
        ("result[-1] >= 1e-3", [0.5, 0.002], True),
        ('"a" in result', ["a", "b"], True),
    ],
)
def test_conditions(condition: str, result: Any, expected: bool) -> None:
    assert evaluate_condition(condition, result) is expected


@pytest.mark.parametrize(
    ("condition", "result"),
    [
        ("result[0] >= 0.95", []),  # index out of range: an Error measurement in Argo
        ("result[0] >= ", [1.0]),  # syntax
        ("result >= 0.95", "x"),  # type
        ("result[0]", [1.0]),  # not a bool
        ("__import__('os')", None),  # unknown function: nothing from Python is reachable
        ("foo > 1", 1),  # unknown name
        ("result[0] ; 1", [1.0]),  # stray character
    ],
)
def test_errors(condition: str, result: Any) -> None:
    with pytest.raises(ExprError):
        evaluate_condition(condition, result)


def test_precedence() -> None:
    assert parse("1 + 2 * 3 == 7 && 10 / 4 == 2.5").condition() is True
    assert parse("true || false && false").condition() is True
    assert parse("-2 * -3").evaluate() == 6
    assert parse("1 / 0").evaluate() == math.inf
    assert parse("'a' + 'b' == \"ab\"").condition() is True
