"""The cluster half of the ``aws`` target: from the outputs of ``terraform/envs/ENV`` to the app
running on its EKS cluster, through the same cluster driver as kind.

1. kubeconfig: ``aws eks update-kubeconfig --name <cluster_name output>`` into the run dir (its
   user runs ``aws eks get-token``; the user's own kubeconfig is never touched);
2. images: ``docker build`` of each image the app profile names (``images`` of
   ``scenarios/app.yaml``: the name the manifests use -> its Dockerfile), pushed to the env's ECR
   repository of that name (output ``ecr_repositories``) tagged with the run id, after
   ``aws ecr get-login-password | docker login``;
3. the shared controllers (:func:`~harness.targets.cluster.platform.controllers`, External Secrets
   against the account's own Secrets Manager), then ``manifests/overlays/ENV`` with the pushed
   images set (kustomize's ``images:``); readiness awaited in the namespace the rendered overlay
   sets; users created with ``kubectl exec``;
4. the API through a port-forward of ingress-nginx bound to 127.0.0.1.

The environment's dependencies are managed services (RDS, ElastiCache, S3): the Control refuses to
stop them. Verified in the nightly workflow only for its shared parts (the driver, the platform
table, the overlay deploy run on kind there); the EKS-specific steps above run only against a real
account, which no CI of this project has: they are unit-tested here with a recorded command runner.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.services.process import ManagedProcess
from harness.targets.base import Environment, TestUser
from harness.targets.cluster.commands import run
from harness.targets.cluster.deploy import (
    Kubectl,
    app_namespace,
    apply_overlay,
    await_ready,
    create_users,
    forward,
    prepare_overlay,
)
from harness.targets.cluster.driver import ClusterControl
from harness.targets.cluster.kube import KubeApis
from harness.targets.cluster.platform import controllers
from harness.targets.cluster.workers import ClusterWorkers
from harness.targets.settings import TargetSettings
from harness.targets.terraform_env import bucket_names

Runner = Callable[..., str]
TOOLS = {"aws": "the AWS CLI v2 (docs.aws.amazon.com/cli)", "kubectl": "kubernetes.io/docs/tasks/tools",
         "helm": "helm.sh/docs/intro/install", "docker": "a Docker engine, to build and push the images"}
USERS = ("alice", "bob")


def missing_tools(which: Callable[[str], str | None] = shutil.which) -> list[str]:
    return [f"{tool} not found ({hint})" for tool, hint in TOOLS.items() if which(tool) is None]


class EksCluster:
    """Deploys onto the EKS cluster a Terraform apply produced; ``close()`` stops the port-forwards."""

    def __init__(self, env: str, run_dir: Path, settings: TargetSettings, *, region: str, run_id: str,
                 runner: Runner = run) -> None:
        self.env, self.run_dir, self.settings = env, run_dir, settings
        self.region, self.run_id, self.run = region, run_id, runner
        self.kubeconfig = run_dir / "kubeconfig"
        self.log = run_dir / "logs" / "eks.log"
        self._forwards: list[ManagedProcess] = []

    def deploy(self, outputs: dict[str, Any]) -> Environment:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        cluster = str(outputs.get("cluster_name") or "")
        if not cluster:
            raise TargetError(f"aws:{self.env}: terraform output cluster_name is missing or empty")
        self.run(["aws", "eks", "update-kubeconfig", "--name", cluster, "--region", self.region,
                  "--kubeconfig", str(self.kubeconfig)], log=self.log, timeout_s=120)
        pushed = self.push_images(dict(outputs.get("ecr_repositories") or {}))
        kubectl = Kubectl(self.kubeconfig, self.log)
        for install in controllers():
            for command in install.commands:
                self.run(list(command), log=self.log, env={"KUBECONFIG": str(self.kubeconfig)},
                         timeout_s=600)
        overlay, env_overlay = self.run_dir / "overlay", self.settings.manifests_dir.parent / self.env
        namespace = app_namespace(prepare_overlay(env_overlay, overlay, [], pushed))
        apply_overlay(kubectl, overlay)
        apis = KubeApis.from_kubeconfig(namespace, path=str(self.kubeconfig))
        await_ready(kubectl, apis, timeout_s=900)
        users = create_users(kubectl, USERS, self.settings.secret, namespace=namespace,
                             module=self.settings.app.replica_module())
        return self._environment(kubectl, apis, users, outputs)

    def push_images(self, repositories: dict[str, str]) -> dict[str, str]:
        """Build each image, push it as ``<repository url>:<run id>``; returns name -> pushed ref."""
        images = self.settings.app.image_builds()
        missing = sorted(set(images) - set(repositories))
        if missing:
            raise TargetError(f"aws:{self.env}: output ecr_repositories lacks {', '.join(missing)}")
        registry = next(iter(repositories.values())).split("/", 1)[0]
        password = self.run(["aws", "ecr", "get-login-password", "--region", self.region], log=self.log,
                            log_stdout=False, timeout_s=60)  # a secret: never logged
        self.run(["docker", "login", "--username", "AWS", "--password-stdin", registry], log=self.log,
                 stdin=password.strip(), timeout_s=60)
        pushed = {}
        for repo, dockerfile in images.items():
            ref, path = f"{repositories[repo]}:{self.run_id}", self.settings.root / dockerfile
            self.run(["docker", "build", "-t", ref, "-f", str(path), str(path.parent)], log=self.log,
                     timeout_s=900)
            self.run(["docker", "push", ref], log=self.log, timeout_s=900)
            pushed[repo] = ref
        return pushed

    def close(self) -> None:
        for process in reversed(self._forwards):
            process.stop()
        self._forwards.clear()

    def _environment(self, kubectl: Kubectl, apis: KubeApis, users: Sequence[TestUser],
                     outputs: dict[str, Any]) -> Environment:
        from harness.targets.base import AwsEndpoint

        process, port = forward(kubectl, "ingress-nginx", "svc/ingress-nginx-controller", 80,
                                self.run_dir / "logs" / "port-forward-api.log")
        self._forwards.append(process)
        api = f"http://127.0.0.1:{port}"
        control = ClusterControl(apis, distribution=f"EKS ({self.env})", dependencies={})
        log = self.run_dir / "logs" / "port-forward-locust-relay.log"
        workers = ClusterWorkers(apis, lambda ns, res, remote: forward(kubectl, ns, res, remote, log),
                                 platform=lambda: control.platform)
        return Environment(target="aws", api_url=api, web_url=api, users=list(users),
                           aws=AwsEndpoint(None, self.region, "", "", bucket_names(outputs)), control=control,
                           evidence_dir=str(self.run_dir), load_workers=workers)


__all__ = ["EksCluster", "missing_tools"]
