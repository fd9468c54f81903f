"""What the ``kind`` target installs into its cluster, pinned, and the commands that install it.

Each :class:`Install` is a list of argv run in order (``kubectl``/``helm`` against the run's own
kubeconfig), then the Deployments it must make Available. Versions are pinned here, in one table,
so a bump is one reviewed line. Verified in the nightly workflow only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).with_name("assets")
KIND_VERSION = "v0.25.0"
METRICS_SERVER = "v0.7.2"
ARGO_ROLLOUTS = "v1.7.2"
PROMETHEUS_OPERATOR = "v0.78.2"
EXTERNAL_SECRETS_CHART = "0.10.7"
INGRESS_NGINX = "controller-v1.12.0"
GITHUB = "https://github.com"
LOCALSTACK_IN_CLUSTER = "http://localstack.harness-deps.svc.cluster.local:4566"


@dataclass(frozen=True, slots=True)
class Install:
    """One component: commands (argv lists) and the ``namespace/deployment`` pairs to await."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    ready: tuple[str, ...] = field(default_factory=tuple)


def _apply(*args: str) -> tuple[str, ...]:
    return ("kubectl", "apply", "--server-side", "--force-conflicts", *args)


PLATFORM: tuple[Install, ...] = (
    Install("metrics-server", (
        _apply("-f", f"{GITHUB}/kubernetes-sigs/metrics-server/releases/download/{METRICS_SERVER}/"
                     "components.yaml"),
        # kind's kubelets serve self-signed certificates (metrics-server's documented kind setting)
        ("kubectl", "-n", "kube-system", "patch", "deployment", "metrics-server", "--type", "json", "-p",
         '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'),
    ), ("kube-system/metrics-server",)),
    Install("argo-rollouts", (
        ("kubectl", "create", "namespace", "argo-rollouts"),
        _apply("-n", "argo-rollouts", "-f",
               f"{GITHUB}/argoproj/argo-rollouts/releases/download/{ARGO_ROLLOUTS}/install.yaml"),
    ), ("argo-rollouts/argo-rollouts",)),
    Install("prometheus-operator", (
        _apply("-f", f"{GITHUB}/prometheus-operator/prometheus-operator/releases/download/"
                     f"{PROMETHEUS_OPERATOR}/bundle.yaml"),
    ), ("default/prometheus-operator",)),
    Install("ingress-nginx", (  # the Rollout's trafficRouting.nginx: canary weights are nginx's
        _apply("-f", f"https://raw.githubusercontent.com/kubernetes/ingress-nginx/{INGRESS_NGINX}/deploy/"
                     "static/provider/cloud/deploy.yaml"),
    ), ("ingress-nginx/ingress-nginx-controller",)),
    Install("external-secrets", (
        ("helm", "upgrade", "--install", "external-secrets", "external-secrets",
         "--repo", "https://charts.external-secrets.io", "--version", EXTERNAL_SECRETS_CHART,
         "--namespace", "external-secrets", "--create-namespace", "--wait", "--timeout", "5m",
         # the in-cluster LocalStack stands in for Secrets Manager (ESO's documented endpoint override)
         "--set", "extraEnv[0].name=AWS_SECRETSMANAGER_ENDPOINT",
         "--set", f"extraEnv[0].value={LOCALSTACK_IN_CLUSTER}",
         "--set", "extraEnv[1].name=AWS_STS_ENDPOINT", "--set", f"extraEnv[1].value={LOCALSTACK_IN_CLUSTER}"),
    ), ("external-secrets/external-secrets",)),
    Install("test dependencies", (_apply("-f", str(ASSETS / "deps.yaml")),), ()),  # awaited after seeding
    Install("prometheus", (_apply("-f", str(ASSETS / "prometheus.yaml")),), ()),
)


__all__ = ["ASSETS", "KIND_VERSION", "LOCALSTACK_IN_CLUSTER", "PLATFORM", "Install"]
