"""Secrets come from AWS Secrets Manager through External Secrets with workload identity; nothing
else creates or expects a Secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import (
    WORKLOAD_KINDS,
    Inputs,
    K8sDoc,
    Verdict,
    containers,
    groups,
    pod_template,
    rule,
)


@rule("EU-K8S-040", "No plain Secrets where External Secrets is used")
def no_plain_secrets(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        externals = [d for d in docs if d.kind == "ExternalSecret"]
        secrets = [d for d in docs if d.kind == "Secret"]
        for secret in secrets if externals else []:
            yield Verdict(secret, "a Secret in git next to External Secrets: its value is in the repo")
        if externals and not secrets:
            yield Verdict(externals[0])


def _store(ext: K8sDoc, docs: list[K8sDoc]) -> K8sDoc | None:
    ref = ext.spec.get("secretStoreRef") or {}
    kind = ref.get("kind", "SecretStore")
    return next((d for d in docs if d.kind == kind and d.name == ref.get("name")
                 and (kind == "ClusterSecretStore" or d.namespace == ext.namespace)), None)


def _static_credentials(provider: dict[str, Any]) -> bool:
    return "secretref" in repr(provider).lower() or "accesskeyid" in repr(provider).lower()


@rule("EU-K8S-041", "ExternalSecrets resolve to a SecretStore that uses workload identity")
def external_secret_store(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        for ext in (d for d in docs if d.kind == "ExternalSecret"):
            store = _store(ext, docs)
            ref = ext.spec.get("secretStoreRef") or {}
            if store is None:
                yield Verdict(ext, f"{ref.get('kind', 'SecretStore')} {ref.get('name')} does not exist")
                continue
            provider = store.spec.get("provider") or {}
            static = _static_credentials(provider)
            yield Verdict(ext, f"{store.kind} {store.name} authenticates with static credentials, not "
                          "workload identity" if static else None)


def _secret_refs(doc: K8sDoc) -> set[str]:
    spec = pod_template(doc).get("spec") or {}
    names: set[str] = set()
    for container in containers(spec):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            names |= {ref["name"]} if ref.get("name") else set()
        for source in container.get("envFrom") or []:
            names |= {source["secretRef"]["name"]} if (source.get("secretRef") or {}).get("name") else set()
    for volume in spec.get("volumes") or []:
        names |= {volume["secret"]["secretName"]} if (volume.get("secret") or {}).get("secretName") else set()
        for src in (volume.get("projected") or {}).get("sources") or []:
            names |= {src["secret"]["name"]} if (src.get("secret") or {}).get("name") else set()
    return names


def _produced(docs: list[K8sDoc], namespace: str) -> set[str]:
    return {str((d.spec.get("target") or {}).get("name") or d.name) for d in docs
            if d.kind == "ExternalSecret" and d.namespace == namespace}


@rule("EU-K8S-042", "Every Secret a pod references is produced by an ExternalSecret")
def pod_secrets_from_external_secrets(inputs: Inputs) -> Iterator[Verdict]:
    for _, docs in groups(inputs):
        for workload in (d for d in docs if d.kind in WORKLOAD_KINDS):
            refs = _secret_refs(workload)
            if refs:
                missing = sorted(refs - _produced(docs, workload.namespace))
                yield Verdict(workload, f"references Secret(s) {missing} that no ExternalSecret produces"
                              if missing else None)
