"""Workflows and tox envs run what they claim (issue 12.8): every job that runs stages needing an
environment installs what they need, no command's failure is swallowed, every ``harness verify``
names real stages, and the nightly job's target reaches the harness (whose preflight fails it)."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from harness.config import STAGE_NAMES
from harness.iac.workflows import load_workflow
from harness.stages import load_stage

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
INSTALLS = re.compile(r"(^|\s)(sudo\s+(-E\s+)?)?\./dev (setup|system)\b")
SETUP_TERRAFORM = "hashicorp/setup-terraform@"
SWALLOWED = re.compile(r"\|\|\s*(true|:)\b|(^|;)\s*exit 0\s*$", re.MULTILINE)


def tox_envs() -> dict[str, list[str]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini", encoding="utf-8")
    sections = [s for s in parser.sections() if s.startswith("testenv:")]
    return {s.removeprefix("testenv:"): [c.strip() for c in parser[s].get("commands", "").splitlines()
                                         if c.strip()] for s in sections}


def verify_stages(command: str) -> tuple[str, ...] | None:
    """The stages a ``harness verify`` command runs (all when it names none); None: not a verify."""
    words = shlex.split(command.replace("{", "").replace("}", ""))
    if words[:2] != ["harness", "verify"]:
        return None
    if "--stages" not in words:
        return STAGE_NAMES
    return tuple(s for s in words[words.index("--stages") + 1].split(",") if s)


def needs_environment(stages: tuple[str, ...]) -> bool:
    return any(load_stage(name).NEEDS_ENVIRONMENT for name in stages)


def env_stages(env: str) -> tuple[str, ...]:
    return tuple(s for c in tox_envs().get(env, []) for s in (verify_stages(c) or ()))


def test_every_tox_verify_names_real_stages_and_nothing_is_ignored() -> None:
    envs = tox_envs()
    assert {"policy", "functional", "dast", "load", "verify"} <= set(envs)
    for env, commands in envs.items():
        for command in commands:
            assert not command.startswith("-"), f"tox -e {env}: '{command}' ignores its exit code"
            stages = verify_stages(command)
            if stages is not None:
                assert stages and set(stages) <= set(STAGE_NAMES), f"tox -e {env}: {command}"
    assert env_stages("verify") == STAGE_NAMES
    assert "--target {env:HARNESS_TARGET:local}" in " ".join(envs["verify"])


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if isinstance(s, dict)]


def _runs(job: dict[str, Any]) -> list[str]:
    return [str(s["run"]) for s in _steps(job) if "run" in s]


def _tox_envs_run(job: dict[str, Any]) -> list[str]:
    envs: list[str] = []
    matrix = ((job.get("strategy") or {}).get("matrix") or {}).get("env", [])
    for run in _runs(job):
        for match in re.finditer(r"tox -e \"?([\w$.{}\" -]+?)\"?(\s|$)", run):
            name = match.group(1)
            envs += [str(m) for m in matrix] if "TOX_ENV" in name or "matrix" in name else name.split(",")
    return envs


def _job_id(value: object) -> str:
    return value if isinstance(value, str) else ""


def _harness_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    jobs = []
    for path in WORKFLOWS:
        for name, job in (load_workflow(path).get("jobs") or {}).items():
            runs = " ".join(_runs(job))
            if "tox -e" in runs or "harness verify" in runs:
                jobs.append((path.name, name, job))
    return jobs


def _stages(job: dict[str, Any]) -> tuple[str, ...]:
    """The stages a job runs, through tox envs or ``harness verify`` lines."""
    stages = [s for env in _tox_envs_run(job) for s in env_stages(env)]
    stages += [s for run in _runs(job) for line in run.splitlines() if "harness verify" in line
               for s in (verify_stages(line[line.index("harness verify"):]) or ())]
    return tuple(dict.fromkeys(stages))


def _needs_engines(stages: tuple[str, ...]) -> bool:
    """The policy stage runs promtool and terraform; every stage needing an environment stands a
    target up, and every target applies a Terraform env (local/kind: terraform/envs/local)."""
    return "policy" in stages or needs_environment(stages)


@pytest.mark.parametrize(("workflow", "name", "job"), _harness_jobs(), ids=_job_id)
def test_jobs_that_run_stages_install_what_they_need(workflow: str, name: str, job: dict[str, Any]) -> None:
    stages = _stages(job)
    if _needs_engines(stages):
        assert any(INSTALLS.search(run) for run in _runs(job)), (
            f"{workflow}: job {name} runs {sorted(stages)} but never runs ./dev setup or ./dev system")


@pytest.mark.parametrize(("workflow", "name", "job"), _harness_jobs(), ids=_job_id)
def test_jobs_that_run_terraform_install_it(workflow: str, name: str, job: dict[str, Any]) -> None:
    """GitHub's ubuntu-24.04 image has no Terraform (actions/runner-images#9848), and ``./dev``
    does not install it: a job whose stages run it must use setup-terraform, at the one version
    every workflow pins."""
    stages = _stages(job)
    if not _needs_engines(stages):
        return
    setup = [s for s in _steps(job) if str(s.get("uses", "")).startswith(SETUP_TERRAFORM)]
    assert setup, f"{workflow}: job {name} runs {sorted(stages)} without hashicorp/setup-terraform"
    top = load_workflow(ROOT / ".github" / "workflows" / workflow).get("env") or {}
    env = {**top, **(job.get("env") or {})}
    version = str(setup[0]["with"]["terraform_version"]).replace("${{ env.TERRAFORM_VERSION }}",
                                                                  str(env.get("TERRAFORM_VERSION")))
    assert version == pinned_terraform(), f"{workflow}: job {name} installs Terraform {version}"


def pinned_terraform() -> str:
    """The Terraform version the infra workflow (the one that applies real environments) pins."""
    return str(load_workflow(ROOT / ".github" / "workflows" / "infra.yml")["env"]["TERRAFORM_VERSION"])


@pytest.mark.parametrize(("workflow", "name", "job"), _harness_jobs(), ids=_job_id)
def test_no_job_swallows_a_failing_run(workflow: str, name: str, job: dict[str, Any]) -> None:
    assert job.get("continue-on-error") in (None, False), f"{workflow}: {name}"
    for step in _steps(job):
        run = str(step.get("run", ""))
        if "tox" in run or "harness" in run:
            assert step.get("continue-on-error") in (None, False), f"{workflow}: {name}: {run}"
            assert not SWALLOWED.search(run), f"{workflow}: {name}: {run}"


def test_the_nightly_job_hands_its_target_to_the_harness() -> None:
    """The kind target stands the cluster up itself: the job runs `tox -e verify` with the target
    and never creates a cluster in a step (a cluster that does not come up must fail the harness
    run, hence the job; see test_preflight for the exit 2)."""
    job = load_workflow(ROOT / ".github" / "workflows" / "nightly.yml")["jobs"]["verify-kind"]
    assert job["env"]["HARNESS_TARGET"] == "kind"
    assert "verify" in _tox_envs_run(job)
    assert "HARNESS_*" in (ROOT / "tox.ini").read_text(encoding="utf-8")  # passed through to the run
    runs = "\n".join(_runs(job))
    assert "kind create cluster" not in runs and "kubectl apply" not in runs


def test_the_nightly_job_runs_the_load_workers_inside_the_cluster() -> None:
    """``--load-workers N`` (N > 1) reaches ``harness verify`` on kind: the load stage then asks the
    target for its workers, a Job in the cluster (issue 14), which only this job can exercise."""
    job = load_workflow(ROOT / ".github" / "workflows" / "nightly.yml")["jobs"]["verify-kind"]
    found = re.search(r"tox -e verify -- .*--load-workers (\d+)", "\n".join(_runs(job)))
    assert found is not None and int(found.group(1)) > 1
    assert all("{posargs}" in c for c in tox_envs()["verify"])  # tox hands them to harness verify


def test_the_swallow_detector_catches_what_it_should() -> None:
    assert SWALLOWED.search("tox -e verify || true")
    assert SWALLOWED.search("harness verify\nexit 0")
    assert not SWALLOWED.search("tox -e verify")
    assert verify_stages('harness verify --stages "" --target x') == ()
