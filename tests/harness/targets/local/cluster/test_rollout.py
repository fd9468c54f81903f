"""Canary step machine, with cases from the Argo Rollouts documentation.

Doc = https://argo-rollouts.readthedocs.io/en/stable/features/canary/ ("Canary doc") and
.../features/analysis/ ("Analysis doc").
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.targets.local.cluster.analysis import AnalysisTemplate, MetricSpec
from harness.targets.local.cluster.rollout import CanaryRollout, CanaryStep, CanaryStrategy


def _rollout_manifest(steps: list[Any], background: dict[str, Any] | None = None) -> dict[str, Any]:
    canary: dict[str, Any] = {"steps": steps}
    if background:
        canary["analysis"] = background
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "api"},
        "spec": {"strategy": {"canary": canary}},
    }


def _template(name: str, condition: str | None, **extra: Any) -> AnalysisTemplate:
    metric: dict[str, Any] = {"name": name, "provider": {"prometheus": {"query": "q"}}, **extra}
    if condition:
        metric["successCondition"] = condition
    return AnalysisTemplate.from_manifest(
        {"kind": "AnalysisTemplate", "metadata": {"name": name}, "spec": {"metrics": [metric]}}
    )


# Canary doc, "Overview": setWeight 20, pause {}, setWeight 40, pause 10s, 60, 80 (pause 10 each)
DOC_STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 40},
    {"pause": {"duration": 10}},
    {"setWeight": 60},
    {"pause": {"duration": 10}},
    {"setWeight": 80},
    {"pause": {"duration": 10}},
]


def _never(spec: MetricSpec) -> Any:
    raise AssertionError("no analysis expected")


def test_parse_steps() -> None:
    strategy = CanaryStrategy.from_manifest(_rollout_manifest(DOC_STEPS))
    assert strategy.steps[0] == CanaryStep("setWeight", weight=20)
    assert strategy.steps[1] == CanaryStep("pause", duration_s=None)
    assert strategy.steps[3] == CanaryStep("pause", duration_s=10.0)
    assert [s.weight for s in strategy.steps if s.kind == "setWeight"][-1] == 80


def test_doc_example_walks_every_step_and_promotes() -> None:
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(DOC_STEPS)), {}, 0.0)
    rollout.reconcile(0.0, _never)
    assert (rollout.weight, rollout.status) == (20, "Paused")  # "pause: {}" waits for promote
    rollout.reconcile(1000.0, _never)
    assert rollout.weight == 20
    rollout.promote()
    rollout.reconcile(1000.0, _never)
    assert (rollout.weight, rollout.status) == (40, "Paused")
    rollout.reconcile(1010.0, _never)
    assert rollout.weight == 60
    rollout.reconcile(1020.0, _never)
    rollout.reconcile(1030.0, _never)
    assert (rollout.weight, rollout.status) == (100, "Healthy")
    assert [e.weight for e in rollout.events if e.kind == "weight"] == [20, 40, 60, 80]


ANALYSIS_STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {"duration": "10s"}},
    {
        "analysis": {
            "templates": [{"templateName": "success-rate"}],
            "args": [{"name": "service-name", "value": "api"}],
        }
    },
    {"setWeight": 50},
    {"pause": {"duration": "10s"}},
]


def _run_to_end(rollout: CanaryRollout, value: Any, until: float = 300.0) -> None:
    t = 0.0
    while not rollout.done and t <= until:
        rollout.reconcile(t, lambda spec: value)
        t += 1.0


def test_failing_analysis_step_aborts_to_weight_zero() -> None:
    # Analysis doc, "Canary deployment with analysis": a failed AnalysisRun aborts the rollout,
    # which "scales down the canary and shifts traffic back to the stable version".
    templates = {"success-rate": _template("success-rate", "result[0] >= 0.95", interval="2s", count=3)}
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(ANALYSIS_STEPS)), templates, 0.0)
    _run_to_end(rollout, [0.5])
    assert rollout.aborted and rollout.weight == 0
    assert max(e.weight for e in rollout.events) == 20  # never reached 50
    assert "Failed" in rollout.message


def test_healthy_analysis_step_proceeds() -> None:
    templates = {"success-rate": _template("success-rate", "result[0] >= 0.95", interval="2s", count=3)}
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(ANALYSIS_STEPS)), templates, 0.0)
    _run_to_end(rollout, [0.99])
    assert (rollout.status, rollout.weight) == ("Healthy", 100)
    assert [m.phase.value for run in rollout.runs for r in run.results.values() for m in r.measurements] == [
        "Successful"
    ] * 3


def test_analysis_without_conditions_promotes_a_bad_canary() -> None:
    # Analysis doc: with neither successCondition nor failureCondition every measurement is Successful.
    templates = {"success-rate": _template("success-rate", None, interval="2s", count=3)}
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(ANALYSIS_STEPS)), templates, 0.0)
    _run_to_end(rollout, [0.0])
    assert rollout.status == "Healthy"


def test_background_analysis_aborts_mid_rollout() -> None:
    # Analysis doc, "Background analysis": runs from startingStep while the steps proceed.
    steps = [{"setWeight": 20}, {"pause": {"duration": 30}}, {"setWeight": 40}, {"pause": {"duration": 30}}]
    background = {"templates": [{"templateName": "error-rate"}], "startingStep": 1}
    templates = {"error-rate": _template("error-rate", "result[0] >= 0.95", interval="5s", failureLimit=2)}
    rollout = CanaryRollout(
        CanaryStrategy.from_manifest(_rollout_manifest(steps, background)), templates, 0.0
    )
    _run_to_end(rollout, [0.1])
    assert rollout.aborted and rollout.weight == 0
    run = rollout.background_run
    assert run is not None and run.results["error-rate"].failed == 3  # failureLimit 2 exceeded


def test_background_analysis_terminates_successfully_on_completion() -> None:
    steps = [{"setWeight": 50}, {"pause": {"duration": 12}}]
    background = {"templates": [{"templateName": "error-rate"}]}
    templates = {"error-rate": _template("error-rate", "result[0] >= 0.95", interval="5s")}
    rollout = CanaryRollout(
        CanaryStrategy.from_manifest(_rollout_manifest(steps, background)), templates, 0.0
    )
    _run_to_end(rollout, [0.99])
    assert rollout.status == "Healthy"
    assert rollout.background_run is not None and rollout.background_run.results["error-rate"].count == 3


def test_inconclusive_pauses_until_promoted() -> None:
    # Analysis doc, "Inconclusive runs": the rollout pauses until promoted or aborted.
    metric = {
        "name": "r",
        "successCondition": "result >= 0.9",
        "failureCondition": "result < 0.5",
        "provider": {"prometheus": {"query": "q"}},
    }
    templates = {
        "r": AnalysisTemplate.from_manifest(
            {"kind": "AnalysisTemplate", "metadata": {"name": "r"}, "spec": {"metrics": [metric]}}
        )
    }
    steps = [{"setWeight": 10}, {"analysis": {"templates": [{"templateName": "r"}]}}, {"setWeight": 60}]
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(steps)), templates, 0.0)
    rollout.reconcile(0.0, lambda s: 0.7)
    rollout.reconcile(5.0, lambda s: 0.7)
    assert (rollout.status, rollout.weight) == ("Paused", 10)
    rollout.promote()
    rollout.reconcile(6.0, lambda s: 0.7)
    assert rollout.status == "Healthy"


def test_manual_abort_and_unknown_template() -> None:
    rollout = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(DOC_STEPS)), {}, 0.0)
    rollout.reconcile(0.0, _never)
    rollout.abort(1.0, "operator")
    assert (rollout.weight, rollout.status) == (0, "Degraded")
    rollout.reconcile(100.0, _never)
    assert rollout.weight == 0
    bad = CanaryRollout(CanaryStrategy.from_manifest(_rollout_manifest(ANALYSIS_STEPS)), {}, 0.0)
    with pytest.raises(ValueError, match="success-rate"):
        _run_to_end(bad, [1.0])


def test_parse_rejects_non_canary() -> None:
    with pytest.raises(ValueError, match="canary"):
        CanaryStrategy.from_manifest(
            {"kind": "Rollout", "metadata": {"name": "x"}, "spec": {"strategy": {"blueGreen": {}}}}
        )
    with pytest.raises(ValueError, match="unsupported"):
        CanaryStep.from_dict({"experiment": {}})
