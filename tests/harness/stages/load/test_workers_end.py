"""How a Locust run ends with the target's workers: the tokens' file always goes, the workers are
always released, and a release that fails is told with the error it followed, never instead of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import StageError, TargetError
from harness.stages.load.workers import end_run, raise_failures
from harness.targets.base import LoadFiles


class Workers:
    """A LoadWorkers whose release fails as a cluster's can (a Job the API would not delete)."""

    where = "Job harness-load/locust-workers on kind"

    def __init__(self, failed: list[str] | None = None, release_fails: bool = True) -> None:
        self.failed, self.release_fails, self.released = failed or [], release_fails, 0

    def start(self, count: int, master_port: int, files: LoadFiles) -> str:
        return "http://api"

    def failures(self) -> list[str]:
        return self.failed

    def release(self) -> None:
        self.released += 1
        if self.release_fails:
            raise TargetError("could not delete Job locust-workers: 500")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text('{"tokens": ["t"]}')
    return path


def test_a_failed_release_after_a_clean_run_is_the_error(tmp_path: Path) -> None:
    workers, config = Workers(), _config(tmp_path)
    with pytest.raises(TargetError, match="could not delete Job"):
        end_run(None, workers, config, None, lambda p: None)
    assert workers.released == 1 and not config.exists()


def test_a_failed_release_after_a_failure_is_told_with_it(tmp_path: Path) -> None:
    workers, config = Workers(), _config(tmp_path)
    with pytest.raises(StageError, match=r"^pod w-1: exited 137; and releasing the load workers: could not"):
        end_run(None, workers, config, StageError("pod w-1: exited 137"), lambda p: None)
    assert not config.exists()


def test_ctrl_c_stays_the_interrupt_with_the_release_failure_as_a_note(tmp_path: Path) -> None:
    interrupt, config = KeyboardInterrupt(), _config(tmp_path)
    end_run(None, Workers(), config, interrupt, lambda p: None)  # the caller re-raises the interrupt
    assert "could not delete Job" in " ".join(getattr(interrupt, "__notes__", [])) and not config.exists()


def test_failed_workers_stop_the_run_naming_them() -> None:
    raise_failures("quick", Workers(release_fails=False))  # none failed: nothing raised
    with pytest.raises(StageError, match=r"'quick': 2 load worker\(s\) failed \(Job .*\): pod a: x; pod b"):
        raise_failures("quick", Workers(["pod a: x", "pod b: y"]))
