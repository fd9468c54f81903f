"""The harness' exception tree.

Every error the harness raises on purpose derives from :class:`HarnessError`; the CLI and the
pytest plugin print such errors as one readable line (exit code 2) instead of a traceback::

    HarnessError
    ├── ConfigError      a config file or CLI option is wrong (names the file/option)
    ├── NotBuiltError    a registered target or stage whose implementation does not exist yet
    ├── TargetError      an environment could not be stood up, reached or torn down
    │   └── TargetUnavailable  the run's target failed to come up (stages that need it say so)
    ├── StageError       a stage could not run (a tool is missing or broke)
    ├── MissingToolError an engine the run needs is not installed (names it and how to install)
    └── ReportError      a report could not be written or read

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
