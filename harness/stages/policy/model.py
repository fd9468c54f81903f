"""Plain data the policy stage works on: loaded manifests and Terraform, and raw findings.

Everything here is I/O-free so that policies can be tested with tables of hand-written documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.k8s.sourcemap import SourceMap


@dataclass(slots=True, frozen=True)
class Finding:
    """One policy verdict on one resource, before catalog metadata, waivers and baseline apply.

    ``skip`` (the reason) marks a verdict that could not be reached, e.g. tags computed by an
    expression that cannot be evaluated offline: reported ``skipped``, never passed or failed.
    ``proven_on`` names what produced it (``checkov 3.3.30``, ``harness policies 0.1.0`` and the
    renderer of the object, e.g. ``kustomize v5.5.0``)."""

    id: str
    passed: bool
    resource: str
    location: str
    message: str = ""
    title: str = ""
    engine: str = "harness"  # harness | checkov | schema
    skip: str = ""
    proven_on: str = ""

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skip

    @property
    def fingerprint(self) -> str:
        """Identity that survives line moves: the baseline and waivers match on it."""
        path = self.location.rsplit(":", 1)[0]
        return f"{self.id}|{self.resource}|{path}"


@dataclass(slots=True)
class K8sDoc:
    """One Kubernetes object with where it was written (``path:line``) and the rendered group it
    belongs to (an overlay such as ``production``, or ``raw`` for files outside any kustomization)."""

    data: dict[str, Any]
    location: str
    group: str
    source: SourceMap | None = None
    rendered_by: str = ""  # e.g. "kustomize v5.5.0 (kubectl v1.32.4)", "helm v3.16.0"; "" = as written

    def locate(self, path: str | Sequence[str | int] = ()) -> str:
        """``file:line`` where the field at ``path`` was written (the object itself for ``()``)."""
        return _locate(self.source, self.location, path)

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "default")

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` plus the group, the resource name shown in results."""
        return f"{self.group}:{self.kind}/{self.namespace}/{self.name}"


@dataclass(slots=True)
class TfResource:
    """One ``resource``/``data``/``provider`` block with its labels and location."""

    type: str
    name: str
    body: dict[str, Any]
    location: str
    module_dir: str

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def ref(self) -> str:
        return f"{self.module_dir}:{self.address}"


@dataclass(slots=True, frozen=True)
class WorkflowUse:
    """One ``uses:`` of a GitHub Actions workflow (a step's action or a job's reusable workflow) and
    the ``file:line`` that wrote it."""

    file: str
    job: str
    uses: str
    location: str

    @property
    def ref(self) -> str:
        """``file:jobs/<job>/<action>``: the identity waivers and the baseline match, which survives
        steps being added (no step index) and the pin being updated (no ``@ref``)."""
        return f"{self.file}:jobs/{self.job}/{self.uses.split('@', 1)[0]}"


@dataclass(slots=True)
class Workflow:
    """One GitHub Actions workflow file as GitHub reads it (``on`` stays a key), its ``uses:``, and
    where each field was written."""

    file: str
    data: dict[str, Any]
    uses: list[WorkflowUse] = field(default_factory=list)
    source: SourceMap | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:1"

    @property
    def ref(self) -> str:
        return self.file

    def locate(self, path: str | Sequence[str | int] = ()) -> str:
        """``file:line`` of the field at ``path``, a sequence (``("jobs", "test", "steps", 0)``); a
        missing field lands on its closest written parent."""
        return _locate(self.source, self.location, path)


@dataclass(slots=True)
class Inputs:
    """Everything the harness policies read: manifests grouped by rendered overlay, Terraform by
    folder, GitHub Actions workflows, plus the options that tune some rules."""

    k8s: dict[str, list[K8sDoc]] = field(default_factory=dict)
    terraform: dict[str, list[TfResource]] = field(default_factory=dict)
    providers: dict[str, list[TfResource]] = field(default_factory=dict)
    modules: dict[str, list[TfResource]] = field(default_factory=dict)
    variables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    locals: dict[str, dict[str, Any]] = field(default_factory=dict)
    tfvars: dict[str, dict[str, Any]] = field(default_factory=dict)  # terraform.tfvars, *.auto.tfvars
    workflows: list[Workflow] = field(default_factory=list)  # .github/workflows/*.y(a)ml
    options: dict[str, Any] = field(default_factory=dict)

    def docs(self, *kinds: str) -> Iterator[K8sDoc]:
        for group in self.k8s.values():
            yield from (doc for doc in group if not kinds or doc.kind in kinds)

    def resources(self, *types: str) -> Iterator[TfResource]:
        for blocks in self.terraform.values():
            yield from (block for block in blocks if not types or block.type in types)


def _locate(source: SourceMap | None, location: str, path: str | Sequence[str | int]) -> str:
    if source is None or not path:
        return location
    file, line = source.locate(path)
    return f"{file}:{line}"


def unwrap(value: Any) -> Any:
    """python-hcl2 (checkov's fork) wraps attribute values in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def get(body: dict[str, Any], *path: str, default: Any = None) -> Any:
    """Nested attribute lookup through hcl2's list wrapping: ``get(body, "rule", "expiration")``."""
    current: Any = body
    for key in path:
        current = unwrap(current)
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return unwrap(current)


def as_list(value: Any) -> list[Any]:
    """A repeated block or attribute as a list, whatever the parser did with it."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def as_dict(value: Any) -> dict[str, Any]:
    value = unwrap(value)
    return value if isinstance(value, dict) else {}


__all__ = ["Finding", "Inputs", "K8sDoc", "TfResource", "Workflow", "WorkflowUse", "as_dict", "as_list",
           "get", "unwrap"]
