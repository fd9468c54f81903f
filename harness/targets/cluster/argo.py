"""The patches the Argo Rollouts kubectl plugin sends, computed from a Rollout (pure, no I/O).

Mirrors argoproj/argo-rollouts ``pkg/kubectl-argo-rollouts/cmd``:

* ``promote`` = ``promote.go`` ``PromoteRollout``/``getPatches`` (default case): unpause the spec
  when ``spec.paused``; then on the status subresource clear ``pauseConditions`` when there are
  any, else (a canary in the middle of a step: analysis, or a timed pause the controller has not
  marked) advance ``currentStepIndex`` by one, never past the last step. The inconclusive-analysis
  case (``controllerPause`` with an Inconclusive step AnalysisRun) clears both and advances too.
* ``promote --full`` = ``promoteFullPatch`` ``{"status": {"promoteFull": true}}``, sent only when
  ``currentPodHash != stableRS`` (there is something to promote).
* ``abort`` = ``abort.go`` ``abortPatch`` ``{"status": {"abort": true}}``.
* ``set_weight``: the plugin has no such command (``set`` has only ``image``): the canary weight is
  a step of the Rollout spec. We move ``currentStepIndex`` to the first ``setWeight: W`` step, the
  ``setCurrentStepIndex`` patch the plugin's ``promote --skip-current-step`` sends; a weight no
  step sets cannot be reached without rewriting the spec, and is refused.

Since Rollouts v0.10 these go to the ``status`` subresource (the plugin falls back to the main
resource only on a NotFound from v0.9 controllers, which we do not support).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Patches:
    """What to send: a spec merge patch and/or a status merge patch (None = nothing)."""

    spec: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


def _steps(rollout: dict[str, Any]) -> list[dict[str, Any]]:
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    steps: list[dict[str, Any]] = canary.get("steps") or []
    return steps


def _current_step(rollout: dict[str, Any]) -> int:
    """``replicasetutil.GetCurrentCanaryStep``: the status index, 0 when unset."""
    return int((rollout.get("status") or {}).get("currentStepIndex") or 0)


def _inconclusive(status: dict[str, Any]) -> bool:
    run = (status.get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
    return run.get("status") == "Inconclusive"


def promote(rollout: dict[str, Any]) -> Patches:
    """``kubectl argo rollouts promote NAME``."""
    spec, status = rollout.get("spec") or {}, rollout.get("status") or {}
    spec_patch = {"spec": {"paused": False}} if spec.get("paused") else None
    steps, pauses = _steps(rollout), status.get("pauseConditions") or []
    advanced = min(_current_step(rollout) + 1, len(steps))
    if _inconclusive(status) and pauses and status.get("controllerPause"):
        return Patches(spec_patch, {"status": {"pauseConditions": None, "controllerPause": False,
                                               "currentStepIndex": advanced}})
    if pauses:
        return Patches(spec_patch, {"status": {"pauseConditions": None}})
    if steps:
        return Patches(spec_patch, {"status": {"pauseConditions": None, "currentStepIndex": advanced}})
    return Patches(spec_patch, None)


def promote_full(rollout: dict[str, Any]) -> Patches:
    """``kubectl argo rollouts promote NAME --full``."""
    status = rollout.get("status") or {}
    if status.get("currentPodHash") == status.get("stableRS"):
        return Patches()
    return Patches(None, {"status": {"promoteFull": True}})


def abort() -> Patches:
    """``kubectl argo rollouts abort NAME``."""
    return Patches(None, {"status": {"abort": True}})


def set_weight(rollout: dict[str, Any], weight: int) -> Patches:
    """Jump to the first step that sets ``weight`` (0 aborts); ValueError when no step sets it."""
    if weight == 0:
        return abort()
    steps = _steps(rollout)
    for index, step in enumerate(steps):
        if step.get("setWeight") == weight:
            return Patches(None, {"status": {"currentStepIndex": index}})
    written = sorted({int(s["setWeight"]) for s in steps if "setWeight" in s})
    raise ValueError(f"no step of the Rollout sets weight {weight} (its steps set {written or 'none'}); "
                     "Argo Rollouts weights are steps of the spec")


__all__ = ["Patches", "abort", "promote", "promote_full", "set_weight"]
