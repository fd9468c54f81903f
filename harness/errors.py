"""The harness' exception tree: every exception class under ``harness/`` is drawn here (a test walks
the package and fails on one that is not, or that hangs elsewhere).

Every error the harness raises on purpose derives from :class:`HarnessError`; the CLI and the
pytest plugin print such errors as one readable line (exit code 2) instead of a traceback. Classes
defined elsewhere name their module::

    HarnessError
    ├── ConfigError      a config file or CLI option is wrong (names the file/option)
    │   └── ScenarioError      stages.functional.context: a scenario is wrong (an unknown variable...)
    ├── NotBuiltError    a registered target, stage or reporter whose implementation does not exist yet
    ├── TargetError      an environment could not be stood up, reached or torn down
    │   ├── TargetUnavailable  the run's target failed to come up (stages that need it say so)
    │   └── PrometheusApiError services.prometheus_api: the environment's Prometheus is unreachable
    │                          or refused a query
    ├── StageError       a stage could not run (a tool is missing or broke)
    ├── MissingToolError an engine the run needs is not installed (names it and how to install)
    ├── ReportError      a report could not be written or read
    ├── TerraformError   iac.terraform_cli: a terraform command failed (diagnostics, output tail)
    │   └── TerraformTimeout   it gave no answer in time and was stopped
    ├── ExprError        k8s.expr: an Argo analysis condition could not be parsed or evaluated
    │                    (an Error measurement, as Argo makes it)
    │   Outcomes, not faults: raised to end a step and caught by the code that records its result
    ├── StepFailed       stages.functional.context: an expectation was not met (the step failed)
    ├── StepSkipped      stages.functional.context: the environment lacks what the step needs
    ├── OutOfBudget      stages.dast.wire: the request budget is spent; probing stops
    └── HarnessStageFailed plugin: a stage item failed; pytest shows its failed and errored results

    KeyboardInterrupt (not an error: the user or the system asked the run to stop)
    └── RunInterrupted   SIGINT/SIGTERM/SIGHUP in the main thread (see harness.targets.lifecycle)
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises deliberately."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} (hint: {self.hint})"


class ConfigError(HarnessError):
    """A configuration file or command-line option is invalid."""

    @classmethod
    def at(cls, source: str, key: str, problem: str) -> ConfigError:
        """An error naming the file (or option) and the key inside it."""
        return cls(f"{source}: {key}: {problem}")


class TargetError(HarnessError):
    """An environment could not be stood up, reached, controlled or torn down."""


class NotBuiltError(HarnessError):
    """A registered name whose implementation is planned but not built yet."""


class TargetUnavailable(TargetError):
    """The run's target could not be stood up; every stage that needs it reports this as its error."""


class StageError(HarnessError):
    """A stage could not do its work because a tool is missing or broke."""


class MissingToolError(HarnessError):
    """An engine the run needs (terraform, promtool, LocalStack...) is not installed here."""


class ReportError(HarnessError):
    """A report could not be written or read."""


class RunInterrupted(KeyboardInterrupt):
    """A signal asked the run to stop; unwinds like Ctrl-C (``except KeyboardInterrupt`` sees it)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    def __str__(self) -> str:
        return f"interrupted by {self.signal_name}"


__all__ = ["ConfigError", "HarnessError", "MissingToolError", "NotBuiltError", "ReportError",
           "RunInterrupted", "StageError", "TargetError", "TargetUnavailable"]
