"""Terraform's own verdicts on ``terraform/``: ``fmt -check``, ``init -backend=false`` + ``validate``
of every root under ``envs/``, and ``terraform test`` (``mock_provider``) wherever ``tests/*.tftest.hcl``
exist. Each check is a result with the file:line of Terraform's JSON diagnostics.

The tree is copied to a temp dir first: nothing (``.terraform/``, lock files) is written into the
checkout. A provider the configured plugin mirror does not hold is a *skipped* result naming it
(offline machines); without a mirror ``init`` downloads providers as usual.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from harness.iac.terraform_cli import (
    Diagnostic,
    TerraformError,
    TerraformRunner,
    TerraformSettings,
    json_lines,
)
from harness.results import Result, Severity, Status

STAGE = "policy"
CONTROLS = ["EU-C-IAC-01"]
_NOT_IN_MIRROR = "was not found in any of the search locations"
FMT_TITLE = "Terraform files are formatted (terraform fmt)"


@dataclass(slots=True)
class TerraformChecks:
    """Runs the checks over ``tree`` (the repo's ``terraform/``); ``shown`` prefixes locations."""

    tree: Path
    shown: str
    settings: TerraformSettings
    log: Path
    workers: int = 2
    results: list[Result] = field(default_factory=list)

    def run(self) -> list[Result]:
        if not self.tree.is_dir():
            return []
        self.settings.executable()  # a missing binary: one clear line, before any work
        with tempfile.TemporaryDirectory(prefix="harness-tf-policy-") as tmp:
            copy = Path(tmp) / "terraform"
            shutil.copytree(self.tree, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
            self.results.append(self._fmt(copy))
            roots = _roots(copy)
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tf-policy") as pool:
                for found in pool.map(lambda d: self._root(copy, d), roots):
                    self.results += found
        return self.results

    def _runner(self, cwd: Path) -> TerraformRunner:
        return TerraformRunner(self.settings, cwd, log=self.log)

    def _fmt(self, copy: Path) -> Result:
        done = self._runner(copy).run(["fmt", "-check", "-recursive", "-list=true", "-no-color"], check=False)
        version = self._runner(copy).version().proven_on()
        files = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        if done.returncode == 0:
            return _result("TF-FMT", FMT_TITLE, Status.PASSED, Severity.LOW, self.shown,
                           "terraform fmt -check -recursive: nothing to change", version)
        message = "not in canonical format: " + ", ".join(files) if files else _first_line(done.stderr)
        return _result("TF-FMT", FMT_TITLE, Status.FAILED, Severity.LOW,
                       f"{self.shown}/{files[0]}" if files else self.shown, message, version,
                       remediation="run `terraform fmt -recursive terraform`")

    def _root(self, copy: Path, root: Path) -> list[Result]:
        rel = root.relative_to(copy).as_posix()
        runner = self._runner(root)
        try:
            runner.init(backend=False)
        except TerraformError as exc:
            return [self._init_problem(rel, exc)]
        version = runner.version().proven_on()
        found = [self._validate(runner, rel, version)] if rel.startswith("envs/") else []
        if list((root / "tests").glob("*.tftest.hcl")):
            found += self._tests(runner, rel, version)
        return found

    def _init_problem(self, rel: str, exc: TerraformError) -> Result:
        where = f"{self.shown}/{rel}"
        details = [d.detail for d in (exc.completed.errors if exc.completed else [])]
        missing = [_short(d.split(_NOT_IN_MIRROR)[0].rsplit("provider ", 1)[-1]) for d in details
                   if _NOT_IN_MIRROR in d]
        if missing and self.settings.plugin_dir is not None:
            providers = ", ".join(sorted(set(missing)))
            return _result("TF-VALIDATE", f"terraform validate: {rel}", Status.SKIPPED, Severity.HIGH, where,
                           f"not validated here: the plugin mirror {self.settings.plugin_dir} has no "
                           f"{providers} (validated where the registry is reachable)", self._core_version())
        return _result("TF-VALIDATE", f"terraform validate: {rel}", Status.ERROR, Severity.HIGH, where,
                       f"terraform init failed: {exc}", None)

    def _core_version(self) -> str:
        return self._runner(self.tree).version().proven_on()

    def _validate(self, runner: TerraformRunner, rel: str, version: str) -> Result:
        done = runner.validate()
        title = f"terraform validate: {rel}"
        base = f"{self.shown}/{rel}"
        if not done.errors:
            warnings = [d.text() for d in done.diagnostics]
            note = f" ({len(warnings)} warning(s): {'; '.join(warnings)[:300]})" if warnings else ""
            return _result("TF-VALIDATE", title, Status.PASSED, Severity.HIGH, base,
                           "init -backend=false + validate: valid" + note, version)
        first = done.errors[0]
        message = "; ".join(f"{d.location(base) or base}: {d.text()}" for d in done.errors)
        return _result("TF-VALIDATE", title, Status.FAILED, Severity.HIGH, first.location(base) or base,
                       message[:2000], version)

    def _tests(self, runner: TerraformRunner, rel: str, version: str) -> list[Result]:
        done = runner.run(["test", "-json", "-no-color"], check=False)
        base = f"{self.shown}/{rel}"
        runs = [m["test_run"] for m in json_lines(done.stdout)
                if m.get("type") == "test_run" and (m.get("test_run") or {}).get("progress") == "complete"]
        failures = _failures_by_run(done.stdout)
        found = [self._test_result(run, base, version, failures.get(run.get("run", ""), [])) for run in runs]
        if not runs and done.returncode != 0:
            reasons = "; ".join(d.text() for d in done.errors) or _first_line(done.stderr)
            found.append(_result("TF-TEST", f"terraform test: {rel}", Status.ERROR, Severity.HIGH, base,
                                 f"terraform test could not run: {reasons}"[:2000], version))
        return found

    def _test_result(self, run: dict[str, str], base: str, version: str,
                     problems: list[Diagnostic]) -> Result:
        path, name, status = run.get("path", ""), run.get("run", "?"), run.get("status", "error")
        where = f"{base}/{path}"
        title = f"terraform test: {Path(path).name.removesuffix('.tftest.hcl')} / {name}"
        if status == "pass":
            return _result("TF-TEST", title, Status.PASSED, Severity.HIGH, where, f"run {name!r}: pass",
                           version)
        located = problems[0].location(base) if problems else None
        text = "; ".join(d.text() for d in problems) or f"run {name!r}: {status}"
        return _result("TF-TEST", title, Status.FAILED if status == "fail" else Status.ERROR, Severity.HIGH,
                       located or where, text[:2000], version)


def _failures_by_run(stdout: str) -> dict[str, list[Diagnostic]]:
    """``terraform test -json`` diagnostics keyed by the run that produced them (``@testrun``)."""
    found: dict[str, list[Diagnostic]] = {}
    for message in json_lines(stdout):
        if message.get("type") == "diagnostic" and message.get("@testrun"):
            diagnostic = Diagnostic.from_json(message.get("diagnostic") or {})
            if diagnostic.severity == "error":
                found.setdefault(str(message["@testrun"]), []).append(diagnostic)
    return found


def _roots(copy: Path) -> list[Path]:
    """Every env root, then every module with tests (a module's code is validated through envs)."""
    envs = sorted(d for d in (copy / "envs").glob("*") if d.is_dir() and any(d.glob("*.tf")))
    tested = sorted(d for d in (copy / "modules").glob("*") if list((d / "tests").glob("*.tftest.hcl")))
    return envs + tested


def _short(address: str) -> str:
    return address.strip().removeprefix("registry.terraform.io/")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and "CLI configuration" not in line]
    return lines[0] if lines else "no output"


def _result(result_id: str, title: str, status: Status, severity: Severity, location: str, message: str,
            proven_on: str | None, *, remediation: str | None = None) -> Result:
    return Result(result_id, STAGE, title, status, severity, controls=list(CONTROLS), location=location,
                  message=message, proven_on=proven_on, remediation=remediation)


__all__ = ["TerraformChecks"]
