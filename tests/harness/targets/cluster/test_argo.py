"""The Argo Rollouts plugin's patches (promote.go getPatches, abort.go), as tables."""

from __future__ import annotations

from typing import Any

import pytest

from harness.targets.cluster import argo

STEPS = [{"setWeight": 5}, {"pause": {"duration": "2m"}}, {"analysis": {}}, {"setWeight": 25}, {"pause": {}}]


def _rollout(paused: bool = False, **status: Any) -> dict[str, Any]:
    return {"spec": {"paused": paused, "strategy": {"canary": {"steps": STEPS}}}, "status": status}


@pytest.mark.parametrize(
    ("rollout", "spec", "status"),
    [
        # paused at an indefinite pause: the controller's pause condition is cleared, the index stays
        (
            _rollout(currentStepIndex=4, pauseConditions=[{"reason": "CanaryPauseStep"}]),
            None,
            {"status": {"pauseConditions": None}},
        ),
        # in the middle of an analysis step (no pause condition): advance one step
        (_rollout(currentStepIndex=2), None, {"status": {"pauseConditions": None, "currentStepIndex": 3}}),
        # already past the last step: never beyond len(steps)
        (_rollout(currentStepIndex=5), None, {"status": {"pauseConditions": None, "currentStepIndex": 5}}),
        # paused by hand (spec.paused): unpause the spec too
        (
            _rollout(True, currentStepIndex=1, pauseConditions=[{"reason": "PausedByUser"}]),
            {"spec": {"paused": False}},
            {"status": {"pauseConditions": None}},
        ),
        # inconclusive analysis that paused the controller: clear both and advance
        (
            _rollout(
                currentStepIndex=2,
                controllerPause=True,
                pauseConditions=[{"reason": "InconclusiveAnalysisRun"}],
                canary={"currentStepAnalysisRunStatus": {"status": "Inconclusive"}},
            ),
            None,
            {"status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": 3}},
        ),
    ],
)
def test_promote_sends_what_the_plugin_sends(rollout: dict[str, Any], spec: Any, status: Any) -> None:
    assert argo.promote(rollout) == argo.Patches(spec, status)


def test_promote_full_only_when_there_is_a_new_version() -> None:
    assert argo.promote_full(_rollout(currentPodHash="b", stableRS="a")).status == {
        "status": {"promoteFull": True}
    }
    assert argo.promote_full(_rollout(currentPodHash="a", stableRS="a")) == argo.Patches()


def test_abort_and_set_weight() -> None:
    assert argo.abort().status == {"status": {"abort": True}}
    assert argo.set_weight(_rollout(), 25).status == {"status": {"currentStepIndex": 3}}
    assert argo.set_weight(_rollout(), 0) == argo.abort()
    with pytest.raises(
        ValueError, match=r"no step of the Rollout sets weight 50 \(its steps set \[5, 25\]\)"
    ):
        argo.set_weight(_rollout(), 50)
