"""What the engine emits while it runs, and the handler protocol that consumes it.

Events out, handlers in: terminal progress, plain CI lines and the report writer are all
:class:`EventHandler` objects; the CLI and the pytest plugin only choose which handlers to attach.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.results import Provenance, Result, RunRecord, StageSummary

if TYPE_CHECKING:
    from harness.targets.base import Environment


@dataclass(slots=True, frozen=True)
class RunStarted:
    run_id: str
    run_dir: Path
    stages: tuple[str, ...]
    provenance: Provenance


@dataclass(slots=True, frozen=True)
class TargetStarting:
    spec: str


@dataclass(slots=True, frozen=True)
class TargetReady:
    environment: Environment


@dataclass(slots=True, frozen=True)
class StageStarted:
    name: str
    index: int
    total: int


@dataclass(slots=True, frozen=True)
class ResultRecorded:
    result: Result


@dataclass(slots=True, frozen=True)
class StageFinished:
    summary: StageSummary


@dataclass(slots=True, frozen=True)
class TargetStopped:
    spec: str
    error: str | None = None


@dataclass(slots=True, frozen=True)
class RunFinished:
    """The (redacted) record of the run; reports are written while this event is handled."""

    record: RunRecord
    run_dir: Path


Event = (RunStarted | TargetStarting | TargetReady | StageStarted | ResultRecorded | StageFinished
         | TargetStopped | RunFinished)


class EventHandler(Protocol):
    """Consumes engine events. ``shutdown()`` runs once, after the last event, even on errors."""

    def start(self) -> None: ...

    def handle_event(self, event: Event) -> None: ...

    def shutdown(self) -> None: ...


class BaseHandler:
    """A handler that ignores everything; subclass and override what you need."""

    def start(self) -> None:
        return None

    def handle_event(self, event: Event) -> None:
        return None

    def shutdown(self) -> None:
        return None


__all__ = ["BaseHandler", "Event", "EventHandler", "ResultRecorded", "RunFinished", "RunStarted",
           "StageFinished", "StageStarted", "TargetReady", "TargetStarting", "TargetStopped"]
