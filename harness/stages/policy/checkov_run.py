"""checkov in-process: stage the inputs in one folder, run every framework in one RunnerRegistry
pass, and turn its records into findings located in the user's files.

Rendered overlays do not exist on disk, so they are written to ``__rendered__/<overlay>.yaml`` in
the staging folder; the line ranges written there map back to the object's source ``path:line``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import StageError
from harness.stages.policy.inputs import Sources
from harness.stages.policy.model import Finding, K8sDoc

PINNED_CHECKOV = "3.3.30"
FRAMEWORKS = ("terraform", "kubernetes", "dockerfile", "github_actions", "secrets")
RENDERED = "__rendered__"
TF_SUFFIXES = (".tf", ".tfvars", ".hcl")


@dataclass(slots=True)
class Staged:
    """The staging folder and, per rendered file, ``[(first line, last line, object)]``."""

    directory: Path
    rendered: dict[str, list[tuple[int, int, K8sDoc]]] = field(default_factory=dict)


def checkov_version() -> str:
    from checkov.version import version

    return str(version)


def ensure_pinned(allow_drift: bool = False) -> str:
    """The installed checkov version; a StageError when it is not the pinned one."""
    found = checkov_version()
    if found != PINNED_CHECKOV and not allow_drift:
        raise StageError(f"checkov {found} is installed but the policy stage is pinned to "
                         f"{PINNED_CHECKOV}", hint=f"pip install checkov=={PINNED_CHECKOV}")
    return found


def stage_tree(sources: Sources, dest: Path) -> Staged:
    """Copy Terraform, raw manifests, Dockerfiles and workflows to ``dest`` at their relative paths
    and write each rendered overlay as one multi-document file."""
    staged = Staged(dest)
    for directory in sources.tf_dirs:
        for path in directory.iterdir():
            if path.is_file() and path.suffix in TF_SUFFIXES:
                _copy(sources, path, dest)
    for path in [*sources.raw_manifests, *sources.dockerfiles, *sources.workflows]:
        _copy(sources, path, dest)
    raw_groups = {sources.rel(p.parent) for p in sources.raw_manifests}
    for group, docs in sources.inputs.k8s.items():
        if group in raw_groups:
            _index_raw(staged, docs)
        else:
            rel = f"{RENDERED}/{group}.yaml"
            staged.rendered[rel] = _write_rendered(dest / rel, docs)
    return staged


def _index_raw(staged: Staged, docs: Sequence[K8sDoc]) -> None:
    """Plain manifest files are scanned as they are; remember which lines belong to which object."""
    by_file: dict[str, list[tuple[int, K8sDoc]]] = {}
    for doc in docs:
        path, line = doc.location.rsplit(":", 1)
        by_file.setdefault(path, []).append((int(line), doc))
    for path, entries in by_file.items():
        entries.sort(key=lambda e: e[0])
        ends = [start - 1 for start, _ in entries[1:]] + [10**9]
        staged.rendered[path] = [(start, end, doc) for (start, doc), end in zip(entries, ends, strict=True)]


def _copy(sources: Sources, path: Path, dest: Path) -> None:
    target = dest / sources.rel(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)


def _write_rendered(path: Path, docs: Sequence[K8sDoc]) -> list[tuple[int, int, K8sDoc]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    ranges: list[tuple[int, int, K8sDoc]] = []
    chunks: list[str] = []
    line = 1
    for doc in docs:
        text = yaml.safe_dump(doc.data, sort_keys=False)
        count = text.count("\n")
        ranges.append((line + 1, line + count, doc))
        chunks.append("---\n" + text)
        line += count + 1
    path.write_text("".join(chunks), encoding="utf-8")
    return ranges


def run_checkov(directory: Path, external_checks: Sequence[Path], skip_checks: Sequence[str] = (),
                frameworks: Sequence[str] = FRAMEWORKS, checks: Sequence[str] = ()) -> list[Any]:
    """One RunnerRegistry pass over ``directory`` with our custom checks; checkov Reports.
    ``checks`` limits the run to those ids (all checks when empty)."""
    from checkov.common.runners.runner_registry import RunnerRegistry
    from checkov.runner_filter import RunnerFilter

    runner_filter = RunnerFilter(framework=list(frameworks), checks=list(checks),
                                 skip_checks=list(skip_checks), download_external_modules=False,
                                 show_progress_bar=False)
    registry = RunnerRegistry("", runner_filter, *_runners(frameworks))
    try:
        reports = registry.run(root_folder=str(directory),
                               external_checks_dir=[str(p) for p in external_checks] or None)
    except Exception as exc:  # checkov raises anything; it is a tool failure, not a finding
        raise StageError(f"checkov failed: {type(exc).__name__}: {exc}") from exc
    return list(reports)


def _runners(frameworks: Sequence[str]) -> list[Any]:
    from checkov.dockerfile.runner import Runner as DockerfileRunner
    from checkov.github_actions.runner import Runner as GithubActionsRunner
    from checkov.kubernetes.runner import Runner as KubernetesRunner
    from checkov.secrets.runner import Runner as SecretsRunner
    from checkov.terraform.runner import Runner as TerraformRunner

    known: dict[str, Any] = {"terraform": TerraformRunner, "kubernetes": KubernetesRunner,
                             "dockerfile": DockerfileRunner, "github_actions": GithubActionsRunner,
                             "secrets": SecretsRunner}
    unknown = sorted(set(frameworks) - set(known))
    if unknown:
        raise StageError(f"policy.frameworks: unknown framework {unknown[0]!r}; known: {sorted(known)}")
    return [known[name]() for name in frameworks]


def to_findings(reports: Iterable[Any], staged: Staged) -> tuple[list[Finding], list[str]]:
    """Findings from checkov's passed and failed records, and its parsing errors."""
    findings: list[Finding] = []
    errors: list[str] = []
    for report in reports:
        errors += [f"checkov ({report.check_type}) could not parse {p}" for p in report.parsing_errors]
        for record in report.passed_checks:
            findings.append(_finding(record, staged, passed=True))
        for record in report.failed_checks:
            findings.append(_finding(record, staged, passed=False))
    return findings, errors


def _finding(record: Any, staged: Staged, *, passed: bool) -> Finding:
    rel = _relative(record, staged.directory)
    first = int((record.file_line_range or [0])[0])
    location, resource = f"{rel}:{first}", str(record.resource)
    for start, end, doc in staged.rendered.get(rel, []):
        if start - 1 <= first <= end:  # checkov counts from the "---" line of rendered documents
            location, resource = doc.location, doc.ref
            break
    if record.check_id.startswith(("CKV_SECRET", "CKV_DOCKER", "CKV2_DOCKER")):
        resource = location  # secrets are identified by where they are, not by a hash
    elif rel.endswith(".tf"):
        resource = f"{rel.rsplit('/', 1)[0]}:{resource}"  # the same name harness policies use
    message = "" if passed else f"{record.check_name} ({record.check_id})"
    return Finding(record.check_id, passed, resource, location, message, str(record.check_name), "checkov")


def _relative(record: Any, directory: Path) -> str:
    """The record's file relative to the scanned folder (``file_path`` is relative to the current
    directory for some runners and to the scanned folder for others; the absolute path is not)."""
    absolute = getattr(record, "file_abs_path", None)
    if absolute:
        try:
            return Path(absolute).resolve().relative_to(directory.resolve()).as_posix()
        except ValueError:
            pass
    return str(record.file_path).lstrip("/")


__all__ = ["FRAMEWORKS", "PINNED_CHECKOV", "Staged", "ensure_pinned", "run_checkov", "stage_tree",
           "to_findings"]
