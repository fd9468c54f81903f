"""Cross-object checks of a rendered overlay: every name one object refers to must exist.

Schema validation sees one object at a time; these checks see the set, catching a Rollout whose
canary Service is missing, an HPA aimed at nothing, a pod reading a Secret no ExternalSecret makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.k8s.documents import Document, name_of
from harness.k8s.specs import WORKLOAD_KINDS, pod_spec, pod_template
from harness.k8s.validate import ValidationIssue, describe


def check_references(docs: list[Document]) -> list[ValidationIssue]:
    """Every dangling reference in a set of objects (empty when the set is self-consistent)."""
    index = _Index(docs)
    issues: list[ValidationIssue] = []
    for doc in docs:
        for path, message in _doc_problems(doc, index):
            issues.append(ValidationIssue(describe(doc), path, message))
    return issues


class _Index:
    def __init__(self, docs: list[Document]) -> None:
        self.names: dict[str, set[str]] = {}
        self.secret_keys: dict[str, set[str]] = {}
        self.configmap_keys: dict[str, set[str]] = {}
        self.pod_labels: list[dict[str, str]] = []
        self.template_args: dict[str, set[str]] = {}
        for doc in docs:
            self._add(doc)

    def _add(self, doc: Document) -> None:
        kind, name, spec = str(doc.get("kind")), name_of(doc), doc.get("spec") or {}
        self.names.setdefault(kind, set()).add(name)
        if kind == "ExternalSecret":
            target = (spec.get("target") or {}).get("name", name)
            keys = {item["secretKey"] for item in spec.get("data", [])}
            keys |= set(((spec.get("target") or {}).get("template") or {}).get("data", {}))
            self.secret_keys.setdefault(target, set()).update(keys)
        elif kind == "Secret":
            keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
            self.secret_keys.setdefault(name, set()).update(keys)
        elif kind == "ConfigMap":
            self.configmap_keys[name] = set(doc.get("data") or {})
        elif kind in WORKLOAD_KINDS:
            labels = (pod_template(doc).get("metadata") or {}).get("labels") or {}
            self.pod_labels.append(labels)
        elif kind == "AnalysisTemplate":
            self.template_args[name] = {a["name"] for a in spec.get("args", []) if "value" not in a}

    def has(self, kind: str, name: str) -> bool:
        return name in self.names.get(kind, set())

    def selects_pods(self, match_labels: dict[str, str]) -> bool:
        return any(match_labels.items() <= labels.items() for labels in self.pod_labels)


def _doc_problems(doc: Document, index: _Index) -> Iterator[tuple[str, str]]:
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "HorizontalPodAutoscaler":
        yield from _hpa(spec, index)
    if kind == "Rollout":
        yield from _rollout(spec, index)
    if kind in WORKLOAD_KINDS:
        yield from _pod_spec(pod_spec(doc), index)
    if kind in ("Service", "PodDisruptionBudget"):
        selector = spec.get("selector") or {}
        labels = selector.get("matchLabels", selector) if kind == "PodDisruptionBudget" else selector
        if labels and not index.selects_pods(labels):
            yield "/spec/selector", f"selects no pod template: {labels}"
    if kind == "Ingress":
        yield from _ingress(spec, index)


def _hpa(spec: dict[str, Any], index: _Index) -> Iterator[tuple[str, str]]:
    ref = spec.get("scaleTargetRef") or {}
    if not index.has(str(ref.get("kind")), str(ref.get("name"))):
        yield "/spec/scaleTargetRef", f"no {ref.get('kind')} named {ref.get('name')!r}"


def _rollout(spec: dict[str, Any], index: _Index) -> Iterator[tuple[str, str]]:
    if "replicas" in spec and "HorizontalPodAutoscaler" in index.names:
        yield "/spec/replicas", "set although an HPA owns the replica count"
    canary = (spec.get("strategy") or {}).get("canary") or {}
    for field in ("canaryService", "stableService"):
        if field in canary and not index.has("Service", canary[field]):
            yield f"/spec/strategy/canary/{field}", f"no Service named {canary[field]!r}"
    ingress = ((canary.get("trafficRouting") or {}).get("nginx") or {}).get("stableIngress")
    if ingress and not index.has("Ingress", ingress):
        yield "/spec/strategy/canary/trafficRouting/nginx/stableIngress", f"no Ingress named {ingress!r}"
    for number, step in enumerate(canary.get("steps", [])):
        yield from _analysis_step(number, step.get("analysis"), index)


def _analysis_step(number: int, analysis: Any, index: _Index) -> Iterator[tuple[str, str]]:
    if not isinstance(analysis, dict):
        return
    given = {arg["name"] for arg in analysis.get("args", [])}
    for ref in analysis.get("templates", []):
        name = ref.get("templateName")
        if not index.has("AnalysisTemplate", name):
            yield f"/spec/strategy/canary/steps/{number}", f"no AnalysisTemplate named {name!r}"
        elif missing := index.template_args.get(name, set()) - given:
            yield f"/spec/strategy/canary/steps/{number}", f"{name} needs args {sorted(missing)}"


def _pod_spec(pod: dict[str, Any], index: _Index) -> Iterator[tuple[str, str]]:
    account = pod.get("serviceAccountName")
    if account and not index.has("ServiceAccount", account):
        yield "/spec/template/spec/serviceAccountName", f"no ServiceAccount named {account!r}"
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        for source in container.get("envFrom", []):
            ref = (source.get("configMapRef") or {}).get("name")
            if ref and ref not in index.configmap_keys:
                yield f"/containers/{container['name']}/envFrom", f"no ConfigMap named {ref!r}"
        for env in container.get("env", []):
            yield from _env_ref(container["name"], env, index)


def _env_ref(container: str, env: dict[str, Any], index: _Index) -> Iterator[tuple[str, str]]:
    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
    if not ref or ref.get("optional"):
        return
    keys = index.secret_keys.get(ref["name"])
    where = f"/containers/{container}/env/{env['name']}"
    if keys is None:
        yield where, f"no Secret or ExternalSecret target {ref['name']!r}"
    elif ref["key"] not in keys:
        yield where, f"secret {ref['name']!r} has no key {ref['key']!r}"


def _ingress(spec: dict[str, Any], index: _Index) -> Iterator[tuple[str, str]]:
    for rule in spec.get("rules", []):
        for path in (rule.get("http") or {}).get("paths", []):
            service = ((path.get("backend") or {}).get("service") or {}).get("name")
            if service and not index.has("Service", service):
                yield "/spec/rules", f"no Service named {service!r}"
