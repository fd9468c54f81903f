"""The harness' exception tree.

Every error the harness raises on purpose derives from :class:`HarnessError`; the CLI and the
pytest plugin print such errors as one readable line (exit code 2) instead of a traceback::

    HarnessError
    ├── ConfigError      a config file or CLI option is wrong (names the file/option)
    ├── TargetError      an environment could not be stood up, reached or torn down
    │   └── NotBuiltError   a registered target/stage whose implementation does not exist yet
    ├── StageError       a stage could not run (a tool is missing or broke)
    ├── MissingToolError an engine the run needs is not installed (names it and how to install)
    └── ReportError      a report could not be written or read
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


class NotBuiltError(TargetError):
    """A registered name whose implementation is planned but not built yet."""


class StageError(HarnessError):
    """A stage could not do its work because a tool is missing or broke."""


class MissingToolError(HarnessError):
    """An engine the run needs (terraform, promtool, LocalStack...) is not installed here."""


class ReportError(HarnessError):
    """A report could not be written or read."""


__all__ = [
    "ConfigError",
    "HarnessError",
    "MissingToolError",
    "NotBuiltError",
    "ReportError",
    "StageError",
    "TargetError",
]
