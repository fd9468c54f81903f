"""The functional stage: scenarios of ``scenarios/functional`` run against the Environment.

Layers: :mod:`.scenario` (format and validation) <- :mod:`.payloads`, :mod:`.client`,
:mod:`.backends` <- :mod:`.context` <- ``steps_*`` (what each step does) <- :mod:`.runner`
(one scenario) <- :mod:`.stage` (all of them, results and evidence).
"""

from __future__ import annotations

from harness.stages.functional.runner import Outcome, RunnerOptions, ScenarioRunner
from harness.stages.functional.scenario import Scenario, load_scenario, load_scenarios, validate_scenario
from harness.stages.functional.stage import FunctionalStage, run_scenarios

__all__ = [
    "FunctionalStage",
    "Outcome",
    "RunnerOptions",
    "Scenario",
    "ScenarioRunner",
    "load_scenario",
    "load_scenarios",
    "run_scenarios",
    "validate_scenario",
]
