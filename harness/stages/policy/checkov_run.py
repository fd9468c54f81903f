"""checkov in-process: stage the inputs in one folder, run every framework in one RunnerRegistry
pass, and turn its records into findings located in the user's files.

Rendered overlays do not exist on disk, so they are written to ``__rendered__/<overlay>.yaml`` in
the staging folder; the line ranges written there map back to the object, and checkov's evaluated
keys (``spec/template/spec/containers/[0]/securityContext/privileged``) through the object's source
map to the line that wrote the field, in the base or in the patch. Folders configured outside the
root are staged under ``__up__`` for each ``..``.

The secrets scan reads the real files (every file checkov's own secrets runner would read under the
root, minus pruned and excluded folders), not the staging copy: a secret is reported in the file and
at the line that holds it, kustomize sources and non-manifest YAML included.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import StageError
from harness.k8s.sourcemap import parse_path, value_at
from harness.stages.policy.checkov_fields import field_read
from harness.stages.policy.inputs import Sources
from harness.stages.policy.model import Finding, K8sDoc

PINNED_CHECKOV = "3.3.30"
FRAMEWORKS = ("terraform", "kubernetes", "dockerfile", "github_actions", "secrets")
RENDERED = "__rendered__"
UP = "__up__"
TF_SUFFIXES = (".tf", ".tfvars", ".hcl")
_DUMPER: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present


@dataclass(slots=True)
class Staged:
    """The staging folder and, per rendered file, ``[(first line, last line, object)]``; the real
    files the secrets scan reads and how to show them."""

    directory: Path
    rendered: dict[str, list[tuple[int, int, K8sDoc]]] = field(default_factory=dict)
    secret_files: list[Path] = field(default_factory=list)
    sources: Sources | None = None

    def shown(self, path: Path) -> str:
        return self.sources.rel(path) if self.sources else path.as_posix()


def staged_name(rel: str) -> str:
    """Where a file shown as ``rel`` lives in the staging folder (``..`` becomes ``__up__``)."""
    return "/".join(UP if part == ".." else part for part in rel.split("/"))


def shown_name(staged: str) -> str:
    return "/".join(".." if part == UP else part for part in staged.split("/"))


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
    staged = Staged(dest, sources=sources)
    staged.secret_files = secret_files(sources)
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
            rel = staged_name(f"{RENDERED}/{group}.yaml")
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
        ranges = [(start, end, doc) for (start, doc), end in zip(entries, ends, strict=True)]
        staged.rendered[staged_name(path)] = ranges


def _copy(sources: Sources, path: Path, dest: Path) -> None:
    target = dest / staged_name(sources.rel(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)


def secret_files(sources: Sources) -> list[Path]:
    """The files checkov's secrets runner reads when it walks a folder (``_find_files_from_root_folder``
    in checkov/secrets/runner.py: IaC suffixes and Dockerfiles, no lock files, nothing under a hidden
    or ignored folder, see ``filter_ignored_paths``), from the walked tree plus Terraform folders
    configured outside it."""
    from checkov.common.models.consts import SUPPORTED_FILE_EXTENSIONS
    from checkov.common.runners.base_runner import IGNORE_HIDDEN_DIRECTORY_ENV
    from checkov.common.util.dockerfile import is_dockerfile
    from checkov.secrets.git_types import PROHIBITED_FILES
    from checkov.secrets.utils import EXCLUDED_PATHS

    def read(path: Path, base: Path) -> bool:
        parts = path.relative_to(base).parts
        hidden = IGNORE_HIDDEN_DIRECTORY_ENV and any(p.startswith(".") for p in parts)
        kind = is_dockerfile(path.name) or (path.suffix in SUPPORTED_FILE_EXTENSIONS
                                            and path.name not in PROHIBITED_FILES)
        return kind and not hidden and not set(parts) & set(EXCLUDED_PATHS)

    found = [p for p in sources.files if read(p, sources.root)]
    for directory in (d for d in sources.tf_dirs if sources.rel(d).startswith("../")):
        found += [p for p in sorted(directory.iterdir()) if p.is_file() and read(p, directory)]
    return found


def _write_rendered(path: Path, docs: Sequence[K8sDoc]) -> list[tuple[int, int, K8sDoc]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    ranges: list[tuple[int, int, K8sDoc]] = []
    chunks: list[str] = []
    line = 1
    for doc in docs:
        text = yaml.dump(doc.data, Dumper=_DUMPER, sort_keys=False)
        count = text.count("\n")
        ranges.append((line + 1, line + count, doc))
        chunks.append("---\n" + text)
        line += count + 1
    path.write_text("".join(chunks), encoding="utf-8")
    return ranges


def run_checkov(directory: Path, external_checks: Sequence[Path], skip_checks: Sequence[str] = (),
                frameworks: Sequence[str] = FRAMEWORKS, checks: Sequence[str] = (),
                secret_files: Sequence[Path] | None = None) -> list[Any]:
    """One RunnerRegistry pass over ``directory`` with our custom checks; checkov Reports.
    ``checks`` limits the run to those ids (all checks when empty); ``secret_files``, when given, are
    what the secrets runner reads instead of ``directory``."""
    from checkov.common.runners.runner_registry import RunnerRegistry
    from checkov.runner_filter import RunnerFilter

    runner_filter = RunnerFilter(framework=list(frameworks), checks=list(checks),
                                 skip_checks=list(skip_checks), download_external_modules=False,
                                 show_progress_bar=False)
    registry = RunnerRegistry("", runner_filter, *_runners(frameworks, secret_files))
    try:
        reports = registry.run(root_folder=str(directory),
                               external_checks_dir=[str(p) for p in external_checks] or None)
    except Exception as exc:  # checkov raises anything; it is a tool failure, not a finding
        raise StageError(f"checkov failed: {type(exc).__name__}: {exc}") from exc
    return list(reports)


RUNNER_MODULES = {name: f"checkov.{name}.runner" for name in FRAMEWORKS}


def preload(frameworks: Sequence[str]) -> None:
    """Import checkov's registry and runners (seconds of CPU) while something else waits, e.g. on
    kustomize; any failure is left to the real import, which reports it."""
    try:
        importlib.import_module("checkov.common.runners.runner_registry")
        for name in frameworks:
            if name in RUNNER_MODULES:
                importlib.import_module(RUNNER_MODULES[name])
    except Exception:  # the import in run_checkov raises it again, as a StageError
        pass


def _runners(frameworks: Sequence[str], secret_files: Sequence[Path] | None) -> list[Any]:
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
    if secret_files is not None:
        known["secrets"] = _files_runner(SecretsRunner, [str(p) for p in secret_files])
    return [known[name]() for name in frameworks]


def _files_runner(base: Any, files: list[str]) -> Any:
    """A checkov runner class that scans ``files`` whatever folder the registry hands it."""

    class FilesRunner(base):  # type: ignore[misc]
        def run(self, root_folder: str | None, external_checks_dir: list[str] | None = None,
                files: list[str] | None = None, runner_filter: Any = None,
                collect_skip_comments: bool = True) -> Any:
            return super().run(None, external_checks_dir, list(scanned), runner_filter, collect_skip_comments)

    scanned = files
    return FilesRunner


def to_findings(reports: Iterable[Any], staged: Staged, proven_on: str = ""
                ) -> tuple[list[Finding], list[str]]:
    """Findings from checkov's passed and failed records, and its parsing errors."""
    findings: list[Finding] = []
    errors: list[str] = []
    for report in reports:
        errors += [f"checkov ({report.check_type}) could not parse {p}" for p in report.parsing_errors]
        for record in report.passed_checks:
            findings.append(_finding(record, staged, passed=True, proven_on=proven_on))
        for record in report.failed_checks:
            findings.append(_finding(record, staged, passed=False, proven_on=proven_on))
    return findings, errors


def _finding(record: Any, staged: Staged, *, passed: bool, proven_on: str) -> Finding:
    message = "" if passed else f"{record.check_name} ({record.check_id})"
    if record.check_id.startswith("CKV_SECRET"):  # the real file, at the secret's own line
        location = f"{staged.shown(Path(record.file_abs_path))}:{int((record.file_line_range or [0])[0])}"
        return Finding(record.check_id, passed, location, location, message, str(record.check_name),
                       "checkov", proven_on=proven_on)
    rel = _relative(record, staged.directory)
    first = int((record.file_line_range or [0])[0])
    location, resource, renderer = f"{shown_name(rel)}:{first}", str(record.resource), ""
    doc = _document(staged, rel, first)
    if doc is not None:
        location = doc.locate(_field_path(record, doc) if not passed else ())
        resource, renderer = doc.ref, doc.rendered_by
    if record.check_id.startswith(("CKV_DOCKER", "CKV2_DOCKER")):
        resource = location  # one Dockerfile instruction, identified by where it is
    elif rel.endswith(".tf"):
        resource = f"{shown_name(rel).rsplit('/', 1)[0]}:{resource}"  # the same name harness policies use
    engine = " / ".join(p for p in (proven_on, renderer) if p)
    return Finding(record.check_id, passed, resource, location, message, str(record.check_name), "checkov",
                   proven_on=engine)


def _document(staged: Staged, rel: str, first: int) -> K8sDoc | None:
    for start, end, doc in staged.rendered.get(rel, []):
        if start - 1 <= first <= end:  # checkov counts from the "---" line of rendered documents
            return doc
    return None


def _field_path(record: Any, doc: K8sDoc) -> str | tuple[str | int, ...]:
    """The field a failed check evaluated: checkov's first evaluated key, else the field the check
    read (:mod:`harness.stages.policy.checkov_fields`), else none (the object's line)."""
    keys = (getattr(record, "check_result", None) or {}).get("evaluated_keys") or []
    if not keys:
        return field_read(str(record.check_id), doc.data)
    key = str(keys[0])
    # checkov's container checks without evaluated_container_keys write "initContainers" for any
    # container (checkov/kubernetes/checks/resource/base_container_check.py, _check_containers)
    pod, found, _ = key.partition("/initContainers/")
    if found and not _has(doc.data, f"{pod}/initContainers") and _has(doc.data, f"{pod}/containers"):
        key = key.replace("/initContainers/", "/containers/", 1)
    return key


def _has(data: Any, path: str) -> bool:
    return value_at(data, parse_path(path, data))[0]


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


__all__ = ["FRAMEWORKS", "PINNED_CHECKOV", "Staged", "ensure_pinned", "run_checkov", "secret_files",
           "shown_name", "stage_tree", "staged_name", "to_findings"]
