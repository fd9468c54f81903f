"""The stage extension point: a stage turns work against an Environment into Results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.app_profile import AppProfile, load_app_profile
from harness.redact import Redactor

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.results import Result
    from harness.targets.base import Environment


@dataclass(slots=True)
class StageContext:
    """What a stage receives: the config, the environment (None for env-less stages such as
    policy), and the directory where it may write evidence (paths in results are relative to the
    run directory, e.g. ``evidence/policy/checkov.json``), and the run's redactor (register the
    secrets the stage creates; redact what it writes before the run's end)."""

    config: HarnessConfig
    environment: Environment | None
    run_dir: Path
    profile: str
    redactor: Redactor = field(default_factory=Redactor)
    _app: AppProfile | None = field(default=None, init=False, repr=False)

    @property
    def app_profile(self) -> AppProfile:
        """What the stages need to know about the app: the project's ``scenarios/app.yaml``, read
        once per context (every step of a stage sees the same profile)."""
        if self._app is None:
            self._app = load_app_profile(self.config.paths.scenarios)
        return self._app

    @property
    def evidence_dir(self) -> Path:
        path = self.run_dir / "evidence"
        path.mkdir(parents=True, exist_ok=True)
        return path


def shown_path(path: Path, root: Path) -> str:
    """``path`` as results and messages show it: relative to ``root`` when inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


class Stage(Protocol):
    """A stage yields its results as they finish (a list will do): the engine records each one as
    it comes, so a run interrupted mid-stage keeps the results yielded before the signal."""

    NAME: str
    NEEDS_ENVIRONMENT: bool

    def run(self, ctx: StageContext) -> Iterable[Result]: ...


__all__ = ["Stage", "StageContext", "shown_path"]
