"""The authoring API for harness policies (``policies/rules/*.py``) and their loader.

A harness policy is a function over :class:`Inputs` that yields one :class:`Verdict` per subject it
judged; ``problem=None`` means the subject passed, ``skip`` says why it could not be judged (e.g. an
expression that cannot be evaluated offline: reported skipped, never passed). ``path`` names the
field at fault, so the result points at the line that wrote it (in the base or in the patch). These
are the rules checkov cannot express: relations between objects, across overlays and across the
Terraform/Kubernetes boundary::

    @rule("EU-K8S-012", "HPA keeps at least two replicas")
    def hpa_min_two(inputs: Inputs) -> Iterator[Verdict]:
        for hpa in inputs.docs("HorizontalPodAutoscaler"):
            low = int(hpa.spec.get("minReplicas", 1)) < 2
            yield Verdict(hpa, "minReplicas < 2" if low else None, path="spec/minReplicas")
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness.errors import StageError
from harness.k8s import specs
from harness.k8s.specs import WORKLOAD_KINDS
from harness.stages.policy.model import Finding, Inputs, K8sDoc, TfResource, Workflow, WorkflowUse

PROVEN_ON = f"harness policies {harness.__version__}"


@dataclass(slots=True, frozen=True)
class Verdict:
    """A rule's judgement of one subject; ``problem`` is None when it passed, ``skip`` (the reason)
    when it could not be judged; ``path`` is the field at fault (``spec/minReplicas``)."""

    subject: K8sDoc | TfResource | Workflow | WorkflowUse
    problem: str | None = None
    path: str | Sequence[str | int] = ()
    skip: str | None = None


RuleFunc = Callable[[Inputs], Iterable[Verdict]]


@dataclass(slots=True, frozen=True)
class Rule:
    id: str
    title: str
    func: RuleFunc
    source: str

    def evaluate(self, inputs: Inputs) -> list[Finding]:
        return [self._finding(v) for v in self.func(inputs)]

    def _finding(self, verdict: Verdict) -> Finding:
        subject = verdict.subject
        rendered_by = subject.rendered_by if isinstance(subject, K8sDoc) else ""
        location = subject.location
        if (verdict.problem is not None or verdict.skip) and isinstance(subject, K8sDoc | Workflow):
            location = subject.locate(verdict.path)  # a problem points at the field that has it
        return Finding(
            id=self.id,
            passed=verdict.problem is None and not verdict.skip,
            resource=subject.ref,
            location=location,
            message=verdict.problem or verdict.skip or "",
            title=self.title,
            skip=verdict.skip or "",
            proven_on=" / ".join(p for p in (PROVEN_ON, rendered_by) if p),
        )


def rule(policy_id: str, title: str) -> Callable[[RuleFunc], RuleFunc]:
    """Mark a function in ``policies/rules/*.py`` as the harness policy ``policy_id``."""

    def mark(func: RuleFunc) -> RuleFunc:
        func.policy_id = policy_id  # type: ignore[attr-defined]
        func.policy_title = title  # type: ignore[attr-defined]
        return func

    return mark


def load_rules(directories: Sequence[Path]) -> list[Rule]:
    """Import every ``*.py`` (not ``_*``) of each directory and collect the marked functions."""
    found: dict[str, Rule] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for item in _import(path).__dict__.values():
                policy_id = getattr(item, "policy_id", None)
                if callable(item) and isinstance(policy_id, str):
                    if policy_id in found and found[policy_id].source != str(path):
                        raise StageError(f"{path}: policy id {policy_id} is already defined in "
                                         f"{found[policy_id].source}")
                    found[policy_id] = Rule(policy_id, str(item.policy_title), item, str(path))
    return sorted(found.values(), key=lambda r: r.id)


def _import(path: Path) -> Any:
    name = f"harness_policies_{abs(hash(str(path.resolve())))}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StageError(f"{path}: cannot import policy module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise StageError(f"{path}: policy module failed to import: {exc}") from exc
    return module


# --- helpers shared by the Kubernetes rules -------------------------------------------------------


def pod_template(doc: K8sDoc) -> dict[str, Any]:
    """The pod template of a workload (``{}`` when it has none, e.g. a Rollout with workloadRef)."""
    return specs.pod_template(doc.data)


def pod_labels(doc: K8sDoc) -> dict[str, str]:
    labels = pod_template(doc).get("metadata", {}).get("labels", {})
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def containers(pod_spec: dict[str, Any], *, init: bool = True) -> list[dict[str, Any]]:
    keys = ("containers", "initContainers") if init else ("containers",)
    return [c for key in keys for c in pod_spec.get(key) or [] if isinstance(c, dict)]


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for ``matchLabels``/``matchExpressions`` or a plain map
    (a Service's selector). An empty selector matches nothing here: a Service without one selects
    no pods, and a workload without one is invalid anyway."""
    if not selector:
        return False
    structured = "matchLabels" in selector or "matchExpressions" in selector
    match_labels = (selector.get("matchLabels") or {}) if structured else selector
    expressions = (selector.get("matchExpressions") or []) if structured else []
    if not match_labels and not expressions:
        return False
    if any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    return all(_expression_holds(e, labels) for e in expressions)


def _expression_holds(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), [str(v) for v in expr.get("values", [])]
    checks: dict[str, Callable[[], bool]] = {
        "In": lambda: labels.get(key) in values,
        "NotIn": lambda: labels.get(key) not in values,
        "Exists": lambda: key in labels,
        "DoesNotExist": lambda: key not in labels,
    }
    return checks.get(op, lambda: False)()


def by_name(docs: Iterable[K8sDoc], kind: str) -> dict[tuple[str, str], K8sDoc]:
    """``{(namespace, name): doc}`` for one kind."""
    return {(d.namespace, d.name): d for d in docs if d.kind == kind}


def groups(inputs: Inputs) -> Iterator[tuple[str, list[K8sDoc]]]:
    """Each rendered overlay on its own: relations are resolved inside one environment."""
    yield from inputs.k8s.items()


__all__ = [
    "WORKLOAD_KINDS",
    "Inputs",
    "K8sDoc",
    "Rule",
    "TfResource",
    "Verdict",
    "Workflow",
    "WorkflowUse",
    "by_name",
    "containers",
    "groups",
    "load_rules",
    "pod_labels",
    "pod_template",
    "rule",
    "selector_matches",
]
