"""The policy stage's checks by the engines themselves - Terraform (fmt, validate, test) and promtool
(check rules, test rules) - run in a background thread while checkov runs, so that on two cores
the stage costs little more wall time than before."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from harness.iac.terraform_cli import TerraformSettings
from harness.results import Result
from harness.stages.base import shown_path
from harness.stages.policy.options import PolicyOptions
from harness.stages.policy.promtool_checks import PromtoolChecks, rule_test_files
from harness.stages.policy.terraform_checks import TerraformChecks

LOG_NAME = "terraform.log"


class EngineChecks:
    """``with EngineChecks(config, options, evidence_dir): ...`` then :meth:`results`."""

    def __init__(self, config: Any, options: PolicyOptions, evidence_dir: Path) -> None:
        self.evidence_dir = evidence_dir
        self.terraform = TerraformChecks(options.terraform, shown_path(options.terraform, options.root),
                                         TerraformSettings.from_config(config), evidence_dir / LOG_NAME)
        tests = rule_test_files(options.policy_dirs())
        self.promtool = PromtoolChecks(options.manifest_dirs, tests, options.root)
        self.timings: dict[str, float] = {}
        self._found: list[Result] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="policy-engines", daemon=True)

    def __enter__(self) -> EngineChecks:
        self.evidence_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()

    def results(self) -> list[Result]:
        """The engines' results (raises what broke them, e.g. a missing binary)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._found

    def _work(self) -> None:
        try:
            for name, checks in (("promtool", self.promtool), ("terraform", self.terraform)):
                started = time.perf_counter()
                found = checks.run()
                self.timings[name] = time.perf_counter() - started
                for result in found:
                    result.duration_s = self.timings[name] / max(len(found), 1)
                    if name == "terraform" and result.status.value in ("failed", "error"):
                        result.evidence.append(self._log_evidence())
                self._found += found
        except BaseException as exc:  # handed to the stage's thread by results()
            self._error = exc


    def _log_evidence(self) -> str:
        """The terraform log, relative to the run dir (``<run>/evidence/policy/terraform.log``)."""
        return (self.evidence_dir / LOG_NAME).relative_to(self.evidence_dir.parents[1]).as_posix()


__all__ = ["EngineChecks"]
