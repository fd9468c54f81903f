"""The stage extension point: a stage turns work against an Environment into Results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.results import Result
    from harness.targets.base import Environment


@dataclass(slots=True)
class StageContext:
    """What a stage receives: the config, the environment (None for env-less stages such as
    policy), and the directory where it may write evidence (paths in results are relative to the
    run directory, e.g. ``evidence/policy/checkov.json``)."""

    config: HarnessConfig
    environment: Environment | None
    run_dir: Path
    profile: str

    @property
    def evidence_dir(self) -> Path:
        path = self.run_dir / "evidence"
        path.mkdir(parents=True, exist_ok=True)
        return path


class Stage(Protocol):
    NAME: str
    NEEDS_ENVIRONMENT: bool

    def run(self, ctx: StageContext) -> list[Result]: ...


__all__ = ["Stage", "StageContext"]
