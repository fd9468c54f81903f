"""The only public entry is the designed edge (CloudFront + WAF -> NLB -> ingress controller): no
workload is reachable another way. A Service of type LoadBalancer or NodePort, an Ingress or
Gateway of another class, a hostPort or hostNetwork pod each open a door the WAF does not guard.

Options (``[policy]``): ``edge_ingress_classes`` (default nginx), the classes the edge's ingress
controller serves; ``edge_namespaces`` (default ingress-nginx), where that controller's own
LoadBalancer Service (the NLB behind CloudFront) may live.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.stages.policy.rules import (
    WORKLOAD_KINDS,
    Inputs,
    K8sDoc,
    Verdict,
    containers,
    pod_template,
    rule,
)

SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"  # AWS Load Balancer Controller
LEGACY_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"  # in-tree cloud provider


def _internal(service: K8sDoc) -> bool:
    annotations = service.metadata.get("annotations") or {}
    legacy = str(annotations.get(LEGACY_INTERNAL, "")).lower() in ("true", "0.0.0.0/0")
    return legacy or str(annotations.get(SCHEME, "")).lower() == "internal"


@rule("EU-K8S-070", "No Service exposes a workload outside the edge (LoadBalancer, NodePort)")
def services_behind_edge(inputs: Inputs) -> Iterator[Verdict]:
    edge = set(inputs.options.get("edge_namespaces", ("ingress-nginx",)))
    for service in inputs.docs("Service"):
        kind = str(service.spec.get("type") or "ClusterIP")
        if kind == "NodePort":
            yield Verdict(service, "type NodePort opens a port on every node, around the edge",
                          path="spec/type")
        elif kind == "LoadBalancer" and not _internal(service) and service.namespace not in edge:
            yield Verdict(service, "type LoadBalancer creates a public load balancer that bypasses "
                          "CloudFront and the WAF (make it internal, or route through the ingress)",
                          path="spec/type")
        else:
            yield Verdict(service)


def _ingress_class(ingress: K8sDoc) -> tuple[str | None, str]:
    annotation = (ingress.metadata.get("annotations") or {}).get("kubernetes.io/ingress.class")
    if ingress.spec.get("ingressClassName"):
        return str(ingress.spec["ingressClassName"]), "spec/ingressClassName"
    if annotation:
        return str(annotation), "metadata/annotations/kubernetes.io~1ingress.class"
    return None, "spec"


@rule("EU-K8S-071", "Ingresses are served by the edge's ingress class; no other Gateway")
def ingress_class_is_the_edge(inputs: Inputs) -> Iterator[Verdict]:
    classes = set(inputs.options.get("edge_ingress_classes", ("nginx",)))
    for ingress in inputs.docs("Ingress"):
        name, path = _ingress_class(ingress)
        if name is None:
            yield Verdict(ingress, "no ingressClassName: the cluster's default class serves it", path=path)
        elif name not in classes:
            yield Verdict(ingress, f"class {name!r} is not the edge's ({sorted(classes)}): another entry",
                          path=path)
        else:
            yield Verdict(ingress)
    for gateway in inputs.docs("Gateway"):
        if gateway.api_version.startswith("gateway.networking.k8s.io/"):
            name = gateway.spec.get("gatewayClassName")
            yield Verdict(gateway, f"Gateway of class {name!r}: another entry next to the edge's ingress",
                          path="spec/gatewayClassName")


def _host_exposure(pod: dict[str, Any]) -> tuple[str, str] | None:
    """``(path under the pod spec, problem)`` of the first way the pod listens on its node."""
    if pod.get("hostNetwork") is True:
        return "hostNetwork", "hostNetwork: the pod listens on the node's own addresses"
    for key in ("containers", "initContainers"):
        for index, container in enumerate(c for c in pod.get(key) or [] if isinstance(c, dict)):
            for number, port in enumerate(p for p in container.get("ports") or [] if isinstance(p, dict)):
                if port.get("hostPort"):
                    where = f"{key}/{index}/ports/{number}/hostPort"
                    name = container.get("name")
                    return where, f"hostPort {port['hostPort']} on {name}: reachable on the node"
    return None


POD_SPEC = {"Pod": "spec", "CronJob": "spec/jobTemplate/spec/template/spec"}


@rule("EU-K8S-072", "Pods use neither hostNetwork nor hostPort")
def no_host_network(inputs: Inputs) -> Iterator[Verdict]:
    for doc in inputs.docs(*WORKLOAD_KINDS, "Pod"):
        pod = doc.spec if doc.kind == "Pod" else (pod_template(doc).get("spec") or {})
        if not containers(pod):
            continue
        found = _host_exposure(pod)
        prefix = POD_SPEC.get(doc.kind, "spec/template/spec")
        yield Verdict(doc) if found is None else Verdict(doc, found[1], path=f"{prefix}/{found[0]}")
