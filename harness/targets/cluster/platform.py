"""What a cluster target installs into its cluster, pinned, and the commands that install it.

Each :class:`Install` is a list of argv run in order (``kubectl``/``helm`` against the run's own
kubeconfig), then the Deployments it must make Available. Versions are pinned here, in one table,
so a bump is one reviewed line. Verified in the nightly workflow only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ASSETS = Path(__file__).with_name("assets")
METRICS_SERVER = "v0.7.2"
ARGO_ROLLOUTS = "v1.7.2"
PROMETHEUS_OPERATOR = "v0.78.2"
EXTERNAL_SECRETS_CHART = "0.10.7"
INGRESS_NGINX = "controller-v1.12.0"
GITHUB = "https://github.com"


@dataclass(frozen=True, slots=True)
class Install:
    """One component: commands (argv lists) and the ``namespace/deployment`` pairs to await."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    ready: tuple[str, ...] = field(default_factory=tuple)


def apply_argv(*args: str) -> tuple[str, ...]:
    """``kubectl apply`` server-side (the CRD bundles exceed the client-side annotation limit)."""
    return ("kubectl", "apply", "--server-side", "--force-conflicts", *args)


# kind's kubelets serve self-signed certificates: metrics-server's documented setting for kind
_INSECURE_KUBELET_TLS = ("kubectl", "-n", "kube-system", "patch", "deployment", "metrics-server",
                         "--type", "json", "-p",
                         '[{"op":"add","path":"/spec/template/spec/containers/0/args/-",'
                         '"value":"--kubelet-insecure-tls"}]')


Installs = tuple[Install, ...]


def controllers(secrets_endpoint: str | None = None, *, self_signed_kubelets: bool = False) -> Installs:
    """The controllers the app's manifests need on any cluster: metrics-server (the HPA's resource
    metrics), Argo Rollouts, prometheus-operator (ServiceMonitors, a Prometheus for the analysis),
    ingress-nginx (the Rollout's ``trafficRouting.nginx``) and External Secrets.

    ``secrets_endpoint``: where External Secrets finds Secrets Manager and STS (an in-cluster
    LocalStack on kind; None on AWS itself). ``self_signed_kubelets``: kind's.
    """
    eso_env: tuple[str, ...] = ()
    if secrets_endpoint:  # ESO's documented endpoint override (AWS_SECRETSMANAGER_ENDPOINT, AWS_STS_ENDPOINT)
        eso_env = ("--set", "extraEnv[0].name=AWS_SECRETSMANAGER_ENDPOINT",
                   "--set", f"extraEnv[0].value={secrets_endpoint}",
                   "--set", "extraEnv[1].name=AWS_STS_ENDPOINT",
                   "--set", f"extraEnv[1].value={secrets_endpoint}")
    return (
        Install("metrics-server", (
            apply_argv("-f", f"{GITHUB}/kubernetes-sigs/metrics-server/releases/download/{METRICS_SERVER}/"
                         "components.yaml"),
            *((_INSECURE_KUBELET_TLS,) if self_signed_kubelets else ()),
        ), ("kube-system/metrics-server",)),
        Install("argo-rollouts", (
            apply_argv("-f", str(ASSETS / "argo-rollouts-namespace.yaml")),
            apply_argv("-n", "argo-rollouts", "-f",
                   f"{GITHUB}/argoproj/argo-rollouts/releases/download/{ARGO_ROLLOUTS}/install.yaml"),
        ), ("argo-rollouts/argo-rollouts",)),
        Install("prometheus-operator", (
            apply_argv("-f", f"{GITHUB}/prometheus-operator/prometheus-operator/releases/download/"
                         f"{PROMETHEUS_OPERATOR}/bundle.yaml"),
        ), ("default/prometheus-operator",)),
        Install("ingress-nginx", (
            apply_argv("-f", f"https://raw.githubusercontent.com/kubernetes/ingress-nginx/{INGRESS_NGINX}/deploy/"
                         "static/provider/cloud/deploy.yaml"),
        ), ("ingress-nginx/ingress-nginx-controller",)),
        Install("external-secrets", (
            ("helm", "upgrade", "--install", "external-secrets", "external-secrets",
             "--repo", "https://charts.external-secrets.io", "--version", EXTERNAL_SECRETS_CHART,
             "--namespace", "external-secrets", "--create-namespace", "--wait", "--timeout", "5m", *eso_env),
        ), ("external-secrets/external-secrets",)),
        Install("prometheus", (apply_argv("-f", str(ASSETS / "prometheus.yaml")),), ()),
    )


__all__ = ["ASSETS", "Install", "apply_argv", "controllers"]
