"""Find and load what the policy stage checks: Terraform folders, Kubernetes manifests (see
:mod:`harness.stages.policy.manifests`), Dockerfiles, GitHub Actions workflows, and the files
checkov's secrets scan reads. Every object keeps the ``path:line`` where a reviewer would fix it;
paths are relative to the checked root, also through symlinked folders, and ``../x`` for folders
configured outside it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError
from harness.iac.terraform import END_LINE, FILE_KEY, START_LINE, iter_tf_dirs, load_terraform, parse_file
from harness.iac.workflows import iter_uses, load_workflow
from harness.k8s.sourcemap import SourceMap, compose_file, parse_path
from harness.stages.policy.manifests import load_manifests
from harness.stages.policy.model import Inputs, TfResource, Workflow, WorkflowUse

PRUNED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", ".tox", "__pycache__", ".mypy_cache",
                         ".ruff_cache", ".pytest_cache", ".terraform", "reports", ".harness"})
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class Sources:
    """What one run found, what it skipped (and why) and what could not be read."""

    root: Path
    inputs: Inputs = field(default_factory=Inputs)
    tf_dirs: list[Path] = field(default_factory=list)
    raw_manifests: list[Path] = field(default_factory=list)
    dockerfiles: list[Path] = field(default_factory=list)
    workflows: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # everything walked under the root
    problems: list[tuple[str, str]] = field(default_factory=list)  # (location, message)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (location, why it was not checked)
    renderers: set[str] = field(default_factory=set)  # e.g. "kustomize v5.5.0 (kubectl v1.32.4)"

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))

    def rel(self, path: Path) -> str:
        """``path`` for people: relative to the root as written (a symlinked folder keeps its name
        in the tree), else relative to the resolved root, else ``../...`` from the root."""
        absolute = Path(os.path.abspath(path))
        for base in (self.root, self.root.resolve()):
            if absolute.is_relative_to(base):
                return absolute.relative_to(base).as_posix()
        resolved = absolute.resolve()
        if resolved.is_relative_to(self.root.resolve()):
            return resolved.relative_to(self.root.resolve()).as_posix()
        return Path(os.path.relpath(absolute, self.root)).as_posix()


def discover(root: Path, terraform: Path, manifests: Path | Sequence[Path], exclude: tuple[str, ...] = (),
             *, parse_terraform: bool = True) -> Sources:
    """Load everything under ``root``; ``exclude`` are folder paths relative to ``root`` (also skipped
    inside the manifest folders). With ``parse_terraform=False`` only the Terraform folders are
    listed (see :func:`load_terraform_blocks`)."""
    sources = Sources(root=root)
    sources.files = list(walk(sources.root, exclude))
    sources.tf_dirs = list(iter_tf_dirs(terraform)) if terraform.is_dir() else []
    _stray_terraform(sources, terraform)
    if parse_terraform:
        load_terraform_blocks(sources)
    roots = [manifests] if isinstance(manifests, Path) else list(manifests)
    load_manifests(sources, _manifest_files(sources, roots, exclude))
    sources.dockerfiles = [p for p in sources.files if _is_dockerfile(p)]
    sources.workflows = [p for p in sources.files if p.parent.as_posix().endswith(".github/workflows")
                         and p.suffix in YAML_SUFFIXES]
    sources.inputs.workflows = [w for p in sources.workflows if (w := _load_workflow(sources, p))]
    return sources


def walk(root: Path, exclude: Sequence[str] = (), base: Path | None = None) -> Iterator[Path]:
    """Files under ``root`` without descending into virtualenvs, caches, VCS or excluded folders
    (``exclude`` relative to ``base``, by default ``root``)."""
    excluded = {(base or root).joinpath(e).resolve() for e in exclude}
    for current, dirs, names in os.walk(root):
        here = Path(current)
        dirs[:] = sorted(d for d in dirs if d not in PRUNED_DIRS and (here / d).resolve() not in excluded)
        yield from (here / n for n in sorted(names))


def _stray_terraform(sources: Sources, terraform: Path) -> None:
    """Terraform folders under the root that the configured Terraform path does not cover."""
    configured = terraform.resolve()
    stray = sorted({p.parent for p in sources.files if p.suffix == ".tf"
                    and not p.resolve().is_relative_to(configured)})
    if stray:
        sources.skipped.append((sources.rel(stray[0]), "Terraform outside the configured folder ("
                                f"{sources.rel(terraform)}; [paths] terraform in harness.toml), not checked: "
                                + ", ".join(sources.rel(d) for d in stray)))


def _manifest_files(sources: Sources, roots: Sequence[Path], exclude: Sequence[str]) -> list[Path]:
    """Files of every manifest folder, each once (folders may nest), ``[policy] exclude`` applied."""
    seen: dict[Path, Path] = {}
    for folder in (r for r in roots if r.is_dir()):
        for path in walk(folder, exclude, base=sources.root):
            seen.setdefault(path.resolve(), path)
    return list(seen.values())


def _is_dockerfile(path: Path) -> bool:
    return path.name == "Dockerfile" or path.name.startswith("Dockerfile.") or path.suffix == ".Dockerfile"


def _load_workflow(sources: Sources, path: Path) -> Workflow | None:
    """One workflow with the ``file:line`` of each ``uses:``; unreadable YAML is a problem of the run."""
    rel = sources.rel(path)
    try:
        data = load_workflow(path)
        nodes = compose_file(path.resolve())
    except (ConfigError, yaml.YAMLError) as exc:
        sources.problems.append((rel, str(exc).replace(str(path), rel)))
        return None
    # rendered={}: steps are found by position (GitHub runs them in order); the name matching that
    # SourceMap does for kustomize's containers would send two steps of the same name to the first
    workflow = Workflow(rel, data, source=SourceMap(rel, 1, nodes[0] if nodes else None, {}))
    workflow.uses = [WorkflowUse(rel, where.split("/")[2], value, workflow.locate(parse_path(where, data)))
                     for where, value in iter_uses(data)]
    return workflow


# --- Terraform ------------------------------------------------------------------------------------


def load_terraform_blocks(sources: Sources) -> None:
    """Parse every listed Terraform folder into ``sources.inputs`` (the slow part of discovery)."""
    for directory in sources.tf_dirs:
        rel = sources.rel(directory)
        try:
            tf = load_terraform(directory)
        except Exception as exc:  # a parse error names its file; keep checking the rest
            sources.problems.append((rel, str(exc)))
            continue
        sources.inputs.terraform[rel] = list(_blocks(tf, rel, "resource", two_labels=True))
        sources.inputs.terraform[rel] += list(_blocks(tf, rel, "data", two_labels=True, prefix="data."))
        sources.inputs.providers[rel] = list(_blocks(tf, rel, "provider", two_labels=False))
        sources.inputs.modules[rel] = [TfResource("module", b.type, b.body, b.location, rel)
                                       for b in _blocks(tf, rel, "module", two_labels=False)]
        sources.inputs.variables[rel] = {b.type: b.body for b in _blocks(tf, rel, "variable",
                                                                          two_labels=False)}
        sources.inputs.locals[rel] = {k: v for block in tf.get("locals", []) for k, v in block.items()
                                      if not k.startswith("__")}
        sources.inputs.tfvars[rel] = _tfvars(directory)


def _tfvars(directory: Path) -> dict[str, Any]:
    """Variable values Terraform itself loads automatically: ``terraform.tfvars`` then
    ``*.auto.tfvars`` in lexical order, later files winning (Terraform's "Variable Definition
    Precedence"; ``-var-file`` and environment variables are the caller's and unknown here)."""
    values: dict[str, Any] = {}
    files = [directory / "terraform.tfvars", *sorted(directory.glob("*.auto.tfvars"))]
    for path in (p for p in files if p.is_file()):
        try:
            values.update(parse_file(path))
        except Exception:  # an unreadable tfvars leaves variables unresolved: reported as skipped
            continue
    return values


def _blocks(tf: dict[str, Any], rel: str, key: str, *, two_labels: bool, prefix: str = ""
            ) -> Iterator[TfResource]:
    for entry in tf.get(key, []):
        for first, inner in entry.items():
            pairs = inner.items() if two_labels else [("", inner)]
            for name, body in pairs:
                if isinstance(body, dict):
                    where = f"{rel}/{body.get(FILE_KEY, '?')}:{body.get(START_LINE, '?')}"
                    yield TfResource(prefix + first, name, body, where, rel)


def tf_line_range(body: dict[str, Any]) -> tuple[int, int]:
    return int(body.get(START_LINE, 0)), int(body.get(END_LINE, 0))


__all__ = ["PRUNED_DIRS", "Sources", "discover", "load_terraform_blocks", "tf_line_range", "walk"]
