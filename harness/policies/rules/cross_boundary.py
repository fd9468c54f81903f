"""Consistency across the Terraform/Kubernetes boundary: what IAM trusts and what ECR stores must
be what the manifests use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.stages.policy.model import get
from harness.stages.policy.rules import (
    WORKLOAD_KINDS,
    Inputs,
    TfResource,
    Verdict,
    containers,
    pod_template,
    rule,
)

_VAR = re.compile(r"\$\{\s*var\.([A-Za-z0-9_]+)\s*\}|^var\.([A-Za-z0-9_]+)$")
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")
_HELM_SA = re.compile(r"serviceAccount['\"]?\s*[:=]\s*\{[^{}]*?['\"]?name['\"]?\s*[:=]\s*['\"]([\w.-]+)")
_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/(?P<repo>[^:@]+)")


def _resolve(inputs: Inputs, block: TfResource, value: Any) -> str:
    """A literal, or a variable's default; other expressions stay as they are."""
    text = str(value)
    match = _VAR.fullmatch(text.strip()) or _VAR.search(text)
    if match and match.group(0) == text.strip():
        name = match.group(1) or match.group(2)
        default = get(inputs.variables.get(block.module_dir, {}).get(name, {}), "default")
        return str(default) if default is not None else text
    return text


def _helm_accounts(inputs: Inputs) -> set[tuple[str, str]]:
    """ServiceAccounts a Terraform ``helm_release`` creates: ``serviceAccount.name`` from its values
    or ``set`` blocks, else the chart's usual default, the release name."""
    found = set()
    for release in inputs.resources("helm_release"):
        namespace = str(get(release.body, "namespace", default="default"))
        sets = [s for s in release.body.get("set") or [] if isinstance(s, dict)]
        named = [str(get(s, "value")) for s in sets if get(s, "name") == "serviceAccount.name"]
        match = _HELM_SA.search(repr(release.body.get("values")))
        name = named[0] if named else match.group(1) if match else str(get(release.body, "name"))
        found.add((namespace, name))
    return found


@rule("EU-XB-001", "Pod Identity associations name ServiceAccounts that exist in the manifests")
def pod_identity_service_accounts(inputs: Inputs) -> Iterator[Verdict]:
    accounts = {(d.namespace, d.name) for d in inputs.docs("ServiceAccount")} | _helm_accounts(inputs)
    for assoc in inputs.resources("aws_eks_pod_identity_association"):
        namespace = _resolve(inputs, assoc, get(assoc.body, "namespace"))
        account = _resolve(inputs, assoc, get(assoc.body, "service_account"))
        if "var." in namespace + account or "${" in namespace + account:
            yield Verdict(assoc)  # decided by the caller's values; the root module's rule sees them
            continue
        ok = (namespace, account) in accounts
        yield Verdict(assoc, None if ok else f"ServiceAccount {namespace}/{account} is neither in a manifest "
                      "nor created by a helm_release")


def _repo_patterns(inputs: Inputs) -> list[re.Pattern[str]]:
    patterns = []
    for repo in inputs.resources("aws_ecr_repository"):
        name = str(get(repo.body, "name", default=repo.name))
        parts = _INTERPOLATION.split(name)
        patterns.append(re.compile("[^/]*?".join(re.escape(p) for p in parts) + "$"))
    return patterns


@rule("EU-XB-002", "Images come from the ECR repositories Terraform declares")
def images_from_declared_ecr(inputs: Inputs) -> Iterator[Verdict]:
    patterns = _repo_patterns(inputs)
    exempt = set(inputs.options.get("ecr_exempt_environments", ("local",)))
    if not patterns:
        return
    for workload in inputs.docs(*WORKLOAD_KINDS):
        if workload.group.rstrip("/").rsplit("/", 1)[-1] in exempt:
            continue  # images loaded straight into a local cluster (kind load), no registry involved
        images = [str(c.get("image", "")) for c in containers(pod_template(workload).get("spec") or {})]
        bad = [i for i in images if not (m := _ECR.match(i)) or not any(p.match(m["repo"]) for p in patterns)]
        yield Verdict(workload, f"image(s) {bad} are not from an ECR repository declared in terraform/"
                      if bad else None)
