"""The ``kind`` target (``--target kind`` or ``kind://NAME``): a throw-away kind cluster per run.

``up()``:

1. ``kind create cluster`` from ``assets/cluster.yaml`` (node image pinned by digest) with the
   run's own kubeconfig (the user's is never touched);
2. the app's images (``images`` of ``scenarios/app.yaml``) built with ``docker build``, tagged for
   the run and ``kind load``-ed (the overlay runs them through kustomize's ``images:``);
3. the pinned platform of :mod:`.platform`: metrics-server, Argo Rollouts, prometheus-operator,
   ingress-nginx, External Secrets; then PostgreSQL, Redis, LocalStack and a Prometheus in-cluster;
4. ``terraform/envs/local`` applied with real Terraform against the in-cluster LocalStack (through
   a port-forward), the database/redis secrets seeded there for External Secrets;
5. ``manifests/overlays/local`` applied (plus this target's patches: where LocalStack is; the
   Ingress matching any host; rendered first, so a broken overlay creates no cluster, and the app's
   namespace and secret keys are read from it), Deployments Available and the Rollout Healthy
   awaited (bounded);
6. ``migrate`` and ``create-user`` via ``kubectl exec``; port-forwards on 127.0.0.1 to the ingress
   (the API, with nginx's canary weights), Prometheus, PostgreSQL, Redis and LocalStack.

``down()`` stops the port-forwards and deletes the cluster, always (also after a failed ``up()``;
the caller runs it shielded from signals). Verified in the nightly workflow only; here
:meth:`KindTarget.preflight` names what is missing (kind, a Docker engine, ...) and the run stops
with exit 2 before any stage.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.k8s.documents import Document
from harness.services.process import ManagedProcess
from harness.targets.awsapi import AwsAccess
from harness.targets.base import AwsEndpoint, Environment
from harness.targets.cluster.commands import down_after_failed_up, run
from harness.targets.cluster.deploy import (
    Kubectl,
    app_namespace,
    apply_overlay,
    await_ready,
    create_users,
    forward,
    passthrough_templates,
    prepare_overlay,
    seeded_secrets,
)
from harness.targets.cluster.driver import ClusterControl, Workload
from harness.targets.cluster.kube import KubeApis
from harness.targets.cluster.platform import Install, apply_argv, controllers
from harness.targets.cluster.posture import posture_probe
from harness.targets.cluster.workers import ClusterWorkers, Forward
from harness.targets.kind import tools
from harness.targets.kind.tools import KIND_VERSION
from harness.targets.settings import TargetSettings
from harness.targets.spec import TargetSpec
from harness.targets.terraform_env import TerraformEnv, bucket_names, ephemeral_variables

ASSETS = Path(__file__).with_name("assets")
DEPS_NAMESPACE = "harness-deps"
LOCALSTACK_IN_CLUSTER = f"http://localstack.{DEPS_NAMESPACE}.svc.cluster.local:4566"
# The settings seeded whole into Secrets Manager for the in-cluster PostgreSQL and Redis (no TLS);
# the overlay's ExternalSecret templates that set them pass the seeded value through.
SEEDED_SETTINGS = ("DATABASE_URL", "REDIS_URL")
# the shared controllers (External Secrets reading the in-cluster LocalStack), then the test-only
# dependencies (awaited after PostgreSQL's password Secret exists)
PLATFORM: tuple[Install, ...] = (
    *controllers(LOCALSTACK_IN_CLUSTER, self_signed_kubelets=True),
    Install("test dependencies", (apply_argv("-f", str(ASSETS / "deps.yaml")),)),
)
DEPENDENCIES = {"postgres": Workload("StatefulSet", "postgres", DEPS_NAMESPACE),
                "redis": Workload("Deployment", "redis", DEPS_NAMESPACE),
                "s3": Workload("Deployment", "localstack", DEPS_NAMESPACE)}
USERS = ("alice", "bob")
REGION = "us-east-1"


def overlay_patches() -> list[dict[str, Any]]:
    """This target's additions to ``manifests/overlays/local``: LocalStack in-cluster, any Host."""
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
              "data": {"AWS_ENDPOINT_URL": LOCALSTACK_IN_CLUSTER, "S3_ENDPOINT_URL": LOCALSTACK_IN_CLUSTER,
                       "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}}  # LocalStack's dummies
    ingress = [{"op": "remove", "path": "/spec/rules/0/host"}, {"op": "remove", "path": "/spec/tls"}]
    return [{"patch": json.dumps(config)},
            {"target": {"group": "networking.k8s.io", "kind": "Ingress", "name": "api"},
             "patch": json.dumps(ingress)}]


class KindTarget:
    NAME = "kind"

    def __init__(self, spec: TargetSpec, settings: TargetSettings) -> None:
        if spec.options:
            raise ConfigError(f"--target {spec}: kind takes no options (the cluster is created and deleted "
                              f"per run); unknown: {', '.join(spec.options)}")
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.cluster = spec.location or f"harness-{run_id[-6:]}"
        self.settings = settings
        self.run_dir = settings.run_dir or settings.root / ".harness" / "runs" / run_id
        self.run_id = run_id
        self.kubeconfig = self.run_dir / "kubeconfig"
        self.log = self.run_dir / "logs" / "kind.log"
        self._forwards: list[ManagedProcess] = []
        self._created = False
        self._localstack = ""

    def preflight(self) -> None:
        tools.preflight()

    def up(self) -> Environment:
        try:
            return self._up()
        except BaseException as failure:
            down_after_failed_up(self.down, failure)
            raise

    def down(self) -> None:
        for process in reversed(self._forwards):
            with contextlib.suppress(Exception):
                process.stop()
        self._forwards.clear()
        if self._created:
            self._created = False
            run(["kind", "delete", "cluster", "--name", self.cluster, "--kubeconfig", str(self.kubeconfig)],
                log=self.log, timeout_s=300)

    # -- up, step by step ------------------------------------------------------------------------
    def _up(self) -> Environment:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        app, overlay = self.settings.app, self.run_dir / "overlay"
        images = {name: f"{name}:harness-{self.run_id[-6:]}" for name in app.image_builds()}
        documents = prepare_overlay(self.settings.manifests_dir, overlay, overlay_patches(), images)
        patches = [*overlay_patches(), *passthrough_templates(documents, SEEDED_SETTINGS)]
        documents = prepare_overlay(self.settings.manifests_dir, overlay, patches, images)
        namespace = app_namespace(documents)
        self._created = True  # a half-created cluster is deleted too
        run(["kind", "create", "cluster", "--name", self.cluster, "--config", str(ASSETS / "cluster.yaml"),
             "--kubeconfig", str(self.kubeconfig), "--wait", "180s"], log=self.log, timeout_s=600)
        kubectl = Kubectl(self.kubeconfig, self.log)
        self._images(images)
        self._platform(kubectl)
        apis = KubeApis.from_kubeconfig(namespace, path=str(self.kubeconfig))
        password = self._dependencies(kubectl, apis)
        buckets = self._provision(kubectl, password, documents)
        apply_overlay(kubectl, overlay)
        await_ready(kubectl, apis, timeout_s=self.settings.ready_timeout_s * 10)
        users = create_users(kubectl, USERS, self.settings.secret, namespace=namespace,
                             module=app.replica_module())
        return self._environment(kubectl, apis, users, buckets, password)

    def _images(self, images: Mapping[str, str]) -> None:
        """Each image of the app profile from its Dockerfile (context: its folder), into the nodes."""
        for name, dockerfile in self.settings.app.image_builds().items():
            path = self.settings.root / dockerfile
            run(["docker", "build", "-t", images[name], "-f", str(path), str(path.parent)], log=self.log,
                timeout_s=900)
        run(["kind", "load", "docker-image", *images.values(), "--name", self.cluster], log=self.log,
            timeout_s=600)

    def _platform(self, kubectl: Kubectl) -> None:
        env = {"KUBECONFIG": str(self.kubeconfig)}
        for install in PLATFORM:
            for command in install.commands:
                run(command, log=self.log, env=env, timeout_s=600)
            for ready in install.ready:
                namespace, name = ready.split("/", 1)
                kubectl("-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=300s",
                        timeout_s=330)

    def _dependencies(self, kubectl: Kubectl, apis: KubeApis) -> str:
        """PostgreSQL's generated password as a Secret (through the API: never in argv), then wait."""
        from kubernetes import client

        password = secrets.token_urlsafe(24)
        self.settings.secret(password)
        body = client.V1Secret(metadata=client.V1ObjectMeta(name="postgres-password"),
                               string_data={"password": password})
        apis.core.create_namespaced_secret(DEPS_NAMESPACE, body)
        kubectl("-n", DEPS_NAMESPACE, "rollout", "status", "statefulset/postgres", "--timeout=300s",
                timeout_s=330)
        kubectl("-n", DEPS_NAMESPACE, "wait", "--for=condition=Available", "deployment", "--all",
                "--timeout=300s", timeout_s=330)
        return password

    def _provision(self, kubectl: Kubectl, password: str, documents: list[Document]) -> dict[str, str]:
        """``terraform/envs/local`` against the in-cluster LocalStack; the keys the overlay's
        ExternalSecrets extract DATABASE_URL and REDIS_URL from seeded there."""
        port = self._forward(kubectl, DEPS_NAMESPACE, "svc/localstack", 4566)
        endpoint = self._localstack = f"http://127.0.0.1:{port}"
        env_dir = self.settings.terraform_dir
        generated = {name: secrets.token_urlsafe(32) for name in ephemeral_variables(env_dir)}
        infra = TerraformEnv(env_dir, self.run_dir, self.settings.terraform, run_id=self.run_id,
                             secrets=generated, emulator=endpoint)
        outputs = infra.apply()  # not destroyed: the cluster, LocalStack with it, is deleted by down()
        access = AwsAccess(endpoint, REGION, "test", "test")
        manager = access.client("secretsmanager")
        deps = f"{DEPS_NAMESPACE}.svc.cluster.local"
        settings = {"DATABASE_URL": f"postgresql://app:{password}@postgres.{deps}:5432/app",
                    "REDIS_URL": f"redis://redis.{deps}:6379/0"}  # the keys of SEEDED_SETTINGS
        for key, value in seeded_secrets(documents, settings).items():
            manager.create_secret(Name=key, SecretString=json.dumps(value))
        return bucket_names(outputs)

    def _environment(self, kubectl: Kubectl, apis: KubeApis, users: list[Any], buckets: dict[str, str],
                     password: str) -> Environment:
        ports = {name: self._forward(kubectl, ns, resource, remote) for name, (ns, resource, remote) in {
            "api": ("ingress-nginx", "svc/ingress-nginx-controller", 80),
            "prometheus": ("monitoring", "svc/prometheus-operated", 9090),
            "postgres": (DEPS_NAMESPACE, "svc/postgres", 5432),
            "redis": (DEPS_NAMESPACE, "svc/redis", 6379),
        }.items()}
        api = f"http://127.0.0.1:{ports['api']}"
        control = ClusterControl(apis, distribution=f"kind {self._kind_version()}", dependencies=DEPENDENCIES,
                                 security=posture_probe(self.kubeconfig))
        return Environment(
            target=self.NAME, api_url=api, web_url=api, users=users,
            aws=AwsEndpoint(self._localstack, REGION, "test", "test", buckets),
            database_url=f"postgresql://app:{password}@127.0.0.1:{ports['postgres']}/app",
            redis_url=f"redis://127.0.0.1:{ports['redis']}/0",
            prometheus_url=f"http://127.0.0.1:{ports['prometheus']}",
            evidence_dir=str(self.run_dir), control=control,
            load_workers=ClusterWorkers(apis, self._relay_forward(kubectl),
                                        platform=lambda: control.platform))

    def _relay_forward(self, kubectl: Kubectl) -> Forward:
        """The load workers' tunnel: a port-forward to their relay, logged with the others."""
        log = self._pf_log("locust-relay")
        return lambda ns, resource, remote: forward(kubectl, ns, resource, remote, log)

    def _forward(self, kubectl: Kubectl, namespace: str, resource: str, remote: int) -> int:
        process, port = forward(kubectl, namespace, resource, remote, self._pf_log(resource.split("/")[-1]))
        self._forwards.append(process)
        return port

    def _pf_log(self, name: str) -> Path:
        return self.run_dir / "logs" / f"port-forward-{name}.log"

    def _kind_version(self) -> str:
        """``v0.25.0`` as ``kind version`` reports it (``kind v0.25.0 go1.22.9 linux/amd64``)."""
        words = run(["kind", "version"], log=self.log, timeout_s=30).split()
        return words[1] if len(words) > 1 else KIND_VERSION


def from_spec(spec: TargetSpec, settings: TargetSettings) -> KindTarget:
    return KindTarget(spec, settings)


__all__ = ["DEPENDENCIES", "KindTarget", "from_spec", "overlay_patches"]
