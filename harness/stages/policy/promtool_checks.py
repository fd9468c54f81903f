"""Prometheus' own verdicts on the alerts the manifests ship: ``promtool check rules`` on the
``spec.groups`` of every PrometheusRule under ``manifests/``, and ``promtool test rules`` with the
rule unit tests kept in ``policies/prometheus-tests/*.yaml`` (alerts fire on the series they should,
and only on those).

A test file names the rules it loads as ``<PrometheusRule name>.rules.yaml`` (``rule_files``); the
harness writes each PrometheusRule's groups under that name next to a copy of the tests.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import MissingToolError
from harness.results import Result, Severity, Status
from harness.services.prometheus import tool_version
from harness.stages.base import shown_path

STAGE = "policy"
CONTROLS = ["EU-C-OBS-02"]
TESTS_DIR = "prometheus-tests"
INSTALL_HINT = "apt-get install prometheus (Debian ships promtool with it), or ./dev setup"
TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One PrometheusRule: where it is declared and its rule groups."""

    name: str
    source: str  # file it came from, relative to the repo root
    groups: list[dict[str, Any]]


def find_rule_sets(manifests: Path, root: Path) -> list[RuleSet]:
    """Every PrometheusRule object in the YAML files under ``manifests``."""
    found: dict[str, RuleSet] = {}
    for path in sorted([*manifests.rglob("*.yaml"), *manifests.rglob("*.yml")]):
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError:
            continue  # unreadable YAML is reported by the manifest checks
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                name = str((doc.get("metadata") or {}).get("name", path.stem))
                groups = list((doc.get("spec") or {}).get("groups") or [])
                found.setdefault(name, RuleSet(name, shown_path(path, root), groups))
    return list(found.values())


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise MissingToolError("promtool not found on PATH (the policy stage checks the PrometheusRules "
                               "with it)", hint=INSTALL_HINT)
    return found


def promtool_version(binary: str) -> str:
    return f"promtool {tool_version(binary)} (Prometheus)"


class PromtoolChecks:
    """``check rules`` per PrometheusRule, ``test rules`` per test file."""

    def __init__(self, manifests: Path | Sequence[Path], tests: list[Path], root: Path) -> None:
        dirs = [manifests] if isinstance(manifests, Path) else list(manifests)
        self.rule_sets = [r for d in dirs if d.is_dir() for r in find_rule_sets(d, root)]
        self.tests = tests
        self.root = root

    def run(self) -> list[Result]:
        if not self.rule_sets and not self.tests:
            return []
        binary = promtool()
        version = promtool_version(binary)
        with tempfile.TemporaryDirectory(prefix="harness-promtool-") as tmp:
            work = Path(tmp)
            for rule_set in self.rule_sets:
                (work / f"{rule_set.name}.rules.yaml").write_text(
                    yaml.safe_dump({"groups": rule_set.groups}, sort_keys=False), encoding="utf-8")
            results = [self._check(binary, work, r, version) for r in self.rule_sets]
            results += [self._test(binary, work, t, version) for t in self.tests]
        return results

    def _check(self, binary: str, work: Path, rule_set: RuleSet, version: str) -> Result:
        done = _run([binary, "check", "rules", f"{rule_set.name}.rules.yaml"], work)
        title = f"PrometheusRule {rule_set.name} is valid (promtool check rules)"
        rules = sum(len(g.get("rules") or []) for g in rule_set.groups)
        if done.returncode == 0:
            return _result("PROM-RULES-CHECK", title, Status.PASSED, Severity.MEDIUM, rule_set.source,
                           f"{rules} rule(s) in {len(rule_set.groups)} group(s): SUCCESS", version)
        return _result("PROM-RULES-CHECK", title, Status.FAILED, Severity.MEDIUM, rule_set.source,
                       _problems(done), version)

    def _test(self, binary: str, work: Path, test: Path, version: str) -> Result:
        copy = work / f"test-{test.name}"
        shutil.copyfile(test, copy)
        done = _run([binary, "test", "rules", copy.name], work)
        title = f"alerts fire when they should, and only then ({test.name}, promtool test rules)"
        shown = shown_path(test, self.root)
        if done.returncode == 0:
            return _result("PROM-RULES-TEST", title, Status.PASSED, Severity.HIGH, shown,
                           "promtool test rules: SUCCESS", version)
        return _result("PROM-RULES-TEST", title, Status.FAILED, Severity.HIGH, shown, _problems(done),
                       version)


def rule_test_files(policy_dirs: list[Path]) -> list[Path]:
    """The rule unit tests of every policy dir (``<dir>/prometheus-tests/*.yaml``)."""
    return sorted(p for d in policy_dirs for p in (d / TESTS_DIR).glob("*.y*ml"))


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
                          stdin=subprocess.DEVNULL)


def _problems(done: subprocess.CompletedProcess[str]) -> str:
    text = "\n".join(line.rstrip() for line in (done.stdout + done.stderr).splitlines() if line.strip())
    return text[:3000] or f"promtool exited {done.returncode}"


def _result(result_id: str, title: str, status: Status, severity: Severity, location: str, message: str,
            proven_on: str) -> Result:
    return Result(result_id, STAGE, title, status, severity, controls=list(CONTROLS), location=location,
                  message=message, proven_on=proven_on)


__all__ = ["PromtoolChecks", "RuleSet", "find_rule_sets", "promtool", "rule_test_files"]
