"""The ``local`` target: real services and the app's replicas as child processes on 127.0.0.1.

``up()``, in the order that keeps the critical path short (``terraform apply`` is the long pole):

1. read the rendered local overlay (replicas = HPA minReplicas, the app ConfigMap, the Rollout's
   first canary weight) and generate a value for every ephemeral variable of ``terraform/envs/local``
   (the app's secrets: they never reach argv, logs or Terraform state);
2. start PostgreSQL, Redis and the AWS emulator (moto, or LocalStack with ``aws_emulator``; or an
   external one named by LOCALSTACK_ENDPOINT/AWS_ENDPOINT_URL) in parallel with ``terraform
   init`` (cached per user, see :mod:`harness.iac.init_cache`) and ``apply`` of
   ``terraform/envs/local`` against it (its plan needs no emulator; a copy of the tree and its
   state live in the run dir); meanwhile ``migrate`` and ``create-user`` per test user;
3. as soon as Terraform has written every output (bucket names, secret ids) to the run's
   state, spawn the API replicas and, once Redis answers, the workers (the apply goes on in
   the background: the lifecycle configurations take ~55 s; ``down()`` waits for it, and a
   failed or incomplete apply is a teardown error, so the run fails); wait for every replica's
   probe and open the front door (the model's per-request Router);
4. start the model's controllers (the manifests' HPAs and canary Rollout, see
   :mod:`harness.targets.local.cluster`): they run until ``down()``, as a cluster's would.

A real Prometheus starts with the other services: it loads the manifests' PrometheusRules (on the
model's compressed time, :mod:`.alert_rules`) and scrapes every replica through file-based service
discovery labelled as the manifests' monitors say (:mod:`.monitoring`); the controllers rewrite that
file as replicas come and go, and the canary analysis queries it (``Environment.prometheus_url``).

Every process is a :class:`~harness.services.ManagedProcess` in its own process group with its
log under ``<run_dir>/logs`` (kept as evidence, with ``terraform.log``). ``up()``'s signal handling
and ``down()`` (destroy, leak check, the interrupted fast path) are :mod:`.teardown`'s.
"""

from __future__ import annotations

import os
import secrets as token_source
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.errors import TargetError
from harness.k8s.specs import declared_resources
from harness.services import PostgresService, RedisService
from harness.targets.awsapi import AwsAccess
from harness.targets.base import AwsEndpoint, Environment, TestUser
from harness.targets.local.app import AppLauncher, app_pythonpath
from harness.targets.local.aws import (
    emulator_service,
    external_endpoint,
    local_infra,
    localstack_access,
    outputs_env,
    service_access,
)
from harness.targets.local.cluster.plane import ControlPlaneSpec, LocalControlPlane
from harness.targets.local.control import LocalControl
from harness.targets.local.frontdoor import make_door
from harness.targets.local.manifests import AppManifests, load_app_manifests
from harness.targets.local.prometheus import LocalPrometheus
from harness.targets.local.reaper import RUN_ID_VAR
from harness.targets.local.teardown import LocalLifecycle
from harness.targets.local.workers import LocalWorkers
from harness.targets.local.workloads import Workloads
from harness.targets.settings import TargetSettings
from harness.targets.terraform_env import TerraformEnv, TerraformError, bucket_names, ephemeral_variables

DEFAULT_USERS = ("alice", "bob")
# Manifest seconds per wall second of the model: the PR load scenarios are written for it (a 2m
# pause lasts 6 s, the 300 s scale-down stabilisation 15 s). Change with local?time_scale=N.
DEFAULT_TIME_SCALE = 20.0


class LocalTarget(LocalLifecycle):
    """PostgreSQL, Redis (AOF), an AWS emulator with terraform/envs/local applied, migrations,
    users, api + worker replicas."""

    NAME = "local"

    def __init__(
        self, settings: TargetSettings, *, with_app: bool = True,
        users: tuple[str, ...] = DEFAULT_USERS, version: str = "stable", run_id: str | None = None,
        router: str = "http", time_scale: float = DEFAULT_TIME_SCALE,
    ) -> None:
        super().__init__(settings, run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
        self.time_scale = time_scale
        self.with_app = with_app
        self.user_names = users
        self.version = version
        self.router = router  # "http": the control plane's per-request Router; "tcp": FrontDoor
        self._secret_values: dict[str, str] = {}  # ephemeral variable -> generated value

    def preflight(self) -> None:
        """What ``up()`` needs is on this machine (see :mod:`harness.targets.local.preflight`)."""
        from harness.targets.local.preflight import preflight

        preflight(self.settings, with_app=self.with_app)

    def _up(self) -> Environment:
        app, pythonpath = self.settings.app, None
        if self.with_app:
            app_path = self.settings.app_path
            pythonpath = str(app_path) if app_path else app_pythonpath(self.settings.root, app)
        self._tmp = Path(tempfile.mkdtemp(prefix=f"harness-local-{self.run_id}-"))
        self.temp_dirs.append(self._tmp)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        manifests = self._timed("load_manifests", lambda: load_app_manifests(self.settings.manifests_dir))
        self._secret_values = {name: token_source.token_urlsafe(32)
                               for name in ephemeral_variables(self.settings.terraform_dir)}
        self.settings.secret(*self._secret_values.values())
        self._access, self._infra = self._aws()
        pg = self._service("postgres", PostgresService(self._tmp / "postgres", database=app.database))
        redis = self._service("redis", RedisService(self._tmp / "redis"))
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=self._pool_prefix)
        timeout = self.settings.ready_timeout_s
        pending = [self._pool.submit(self._timed, "postgres", lambda: pg.start(timeout)),
                   self._pool.submit(self._timed, "redis", lambda: redis.start(timeout)),
                   self._pool.submit(self._start_aws)]
        if self.with_app:
            self._prometheus = LocalPrometheus(self._tmp, self.run_dir, manifests, self.time_scale)
            prometheus = self._service("prometheus", self._prometheus.service)
            pending.append(self._pool.submit(self._timed, "prometheus", lambda: prometheus.start(timeout)))
        app_env = self._app_env(manifests, pythonpath)
        module = app.replica_module() if self.with_app else ""
        self._launcher = AppLauncher(app_env, self.logs_dir, cwd=self.settings.root, module=module,
                                     tick=self._deferred.check)
        self.control = self._control(manifests, timeout)
        users: list[TestUser] = []
        if self.with_app:
            # migrate and create-user need only PostgreSQL; the replicas need the buckets and
            # secret ids that `terraform output` gives, so they start once the apply is done.
            assert self._workloads is not None
            self._frontdoor = self._workloads.door = make_door(self.router)
            self._wait([pending[0]])
            self._timed("migrate", lambda: self._oneshot("migrate", ["migrate"]))
            user_futures = [self._pool.submit(self._create_user, name) for name in self.user_names]
            self._wait([pending[2]])
            self._launcher.base_env.update(outputs_env(self._infra.outputs))
            self._workloads.spawn("api", manifests.replicas.get("api", 1))
            self._wait([pending[1]])
            self._workloads.spawn("worker", manifests.replicas.get("worker", 1))
            self._wait(pending)
            if self._prometheus is not None:  # scraped while they start: up == 0 until they listen
                self._prometheus.discover(self._workloads.processes())
            self._timed("app_ready", self._start_front_door)
            self._wait(user_futures)
            users = [f.result() for f in user_futures]
        self._wait(pending)
        return self._environment(pg, redis, users, manifests)

    def _control(self, manifests: AppManifests, ready_timeout: float) -> LocalControl:
        """The Control handle over the replicas, the services and the model's controllers."""
        assert self._launcher is not None
        self._workloads = Workloads(self._launcher, None, version=self.version, ready_timeout=ready_timeout)
        spec = ControlPlaneSpec.from_documents(manifests.documents)
        prometheus = self._prometheus
        self._plane = LocalControlPlane(self._workloads, spec, speedup=self.time_scale,
                                        evaluator=prometheus.api() if prometheus else None,
                                        discovery=prometheus.discover if prometheus else None)
        return LocalControl(self._workloads, self._services, self._plane, ready_timeout=ready_timeout,
                            resources=declared_resources(manifests.documents),
                            after_service_start=self._after_service_start,
                            before_service_fault=self._before_service_fault)

    def _aws(self) -> tuple[AwsAccess, TerraformEnv]:
        """The emulator (ours, or an external one shared with other runs) and the env to apply."""
        assert self._tmp is not None
        endpoint = external_endpoint()
        if endpoint:  # shared with other runs (and xdist workers): unique names, destroyed in down()
            access = localstack_access(endpoint)
        else:
            access = service_access(self._service("s3", emulator_service(
                self.settings.aws_emulator, self._tmp, localstack_python=self.settings.localstack_python,
                root=self.settings.root)))
        return access, local_infra(self.settings, self.run_dir, self.run_id, access, self._secret_values,
                                   self._tmp / "terraform")

    def _start_aws(self) -> None:
        # Terraform first: init and the plan of resources that do not exist yet read nothing from
        # the emulator (the provider skips every account and credential check), so they run while
        # it starts; the apply's first request comes seconds later.
        assert self._infra is not None
        infra = self._infra
        self.timings["terraform_started_at"] = round(time.monotonic() - self._up_started, 3)
        self._terraform("terraform_start", infra.start_apply)
        if "s3" in self._services:
            self._timed("aws_emulator", lambda: self._services["s3"].start(self.settings.ready_timeout_s))
        if not self._cancelled.is_set():  # until the outputs are usable; the rest runs on (TerraformEnv)
            self._terraform("terraform_apply", infra.wait_usable)
            self.timings.update({f"terraform_{k}": v for k, v in infra.timings.items()})

    def _terraform(self, what: str, action: Callable[[], object]) -> None:
        try:
            self._timed(what, action)
        except TerraformError as exc:
            raise TargetError(f"terraform apply of {self.settings.terraform_dir}: {exc} "
                              f"(log: {self.logs_dir / 'terraform.log'})") from exc

    def _service(self, key: str, service: Any) -> Any:
        service.process.log_path = self.logs_dir / f"{key}.log"
        data_dir = getattr(service, "data_dir", None)
        if self._tmp is not None and data_dir is not None and not Path(data_dir).is_relative_to(self._tmp):
            self.temp_dirs.append(Path(data_dir).parent)  # PostgreSQL's own, when ours is not reachable
        self._services[key] = service
        self.settings.secret(*getattr(service, "secrets", []))
        return service

    def _app_env(self, manifests: AppManifests, pythonpath: str | None) -> dict[str, str]:
        assert self._access is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCALSTACK_", "TF_"))}
        env.update(manifests.settings)
        env.update(self._access.app_env())
        env.update({"DATABASE_URL": self._services["postgres"].url, "REDIS_URL": self._services["redis"].url,
                    "APP_VERSION": self.version, "PYTHONUNBUFFERED": "1", RUN_ID_VAR: self.run_id})
        env.update({name.upper(): value for name, value in self._secret_values.items()})
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath, env.get("PYTHONPATH")) if p)
        env.update(self.settings.env)
        return env

    def _oneshot(self, name: str, args: list[str]) -> str:
        assert self._launcher is not None
        return self._launcher.run(name, args, timeout=self.settings.ready_timeout_s)

    def _create_user(self, name: str) -> TestUser:
        if self._cancelled.is_set():
            raise TargetError(f"create-user {name}: cancelled (the target is going down)")
        out = self._oneshot(f"create-user-{name}", ["create-user", name]).strip().splitlines()
        if not out or not out[-1].strip():
            raise TargetError(f"create-user {name}: printed no token (log: {self.logs_dir})")
        token = out[-1].strip()
        self.settings.secret(token)
        return TestUser(name, token)

    def _start_front_door(self) -> None:
        assert self._workloads is not None and self._frontdoor is not None
        self._workloads.wait_ready()  # and routes the front door to the ready replicas
        self._frontdoor.enable()

    def _before_service_fault(self, service: str) -> None:
        infra = self._infra
        if service == "s3" and infra is not None and infra.running:
            # A fault drill on the emulator while Terraform still creates resources in it would
            # fail the apply, not the app: provisioning finishes first, as on a real platform.
            self._timed("terraform_apply_before_drill", lambda: self._settle(infra))

    def _after_service_start(self, service: str, lost_state: bool) -> None:
        if service == "s3" and lost_state and self._infra is not None:
            # A crashed emulator comes back empty (S3 itself never would): Terraform's refresh sees
            # that and creates everything again.
            self._timed("terraform_reapply", self._infra.reapply)

    def _environment(self, pg: PostgresService, redis: RedisService, users: list[TestUser],
                     manifests: AppManifests) -> Environment:
        assert self._access is not None and self._infra is not None
        api_url = self._frontdoor.url if self._frontdoor else ""
        buckets = bucket_names(self._infra.outputs)
        env = Environment(
            target=self.NAME, api_url=api_url, web_url=api_url,
            aws=AwsEndpoint(str(self._access.endpoint_url), self._access.region,
                            str(self._access.access_key_id), str(self._access.secret_access_key), buckets),
            users=users, database_url=pg.url, redis_url=redis.url,
            prometheus_url=self._prometheus.url if self._prometheus else None,
            metrics_urls=self._workloads.metrics_urls() if self._workloads else {},
            evidence_dir=str(self.run_dir), control=self.control,
            load_workers=LocalWorkers(self.logs_dir, api_url),
            extra={
                "run_id": self.run_id, "logs_dir": str(self.logs_dir), "replicas": dict(manifests.replicas),
                "manifests": manifests.source, "timings_s": self.timings, "time_scale": self.time_scale,
                "secrets": {k.removesuffix("_SECRET_ID"): v
                            for k, v in outputs_env(self._infra.outputs).items() if k.endswith("_SECRET_ID")},
                "router": type(self._frontdoor).__name__ if self._frontdoor else None,
                "aws_emulator": "external" if self._access.external else self.settings.aws_emulator,
                "terraform": {"env": str(self.settings.terraform_dir), "state_dir": str(self._infra.dir),
                              "proven_on": self._infra.proven_on},
                "prometheus": self._prometheus.describe() if self._prometheus else None,
            },
        )
        if self._workloads is not None and self._plane is not None:
            self._workloads.metrics_sink = env.metrics_urls
            if self.with_app:
                self._workloads.watch()
                self._plane.start()
        self.environment = env
        return env


__all__ = ["DEFAULT_TIME_SCALE", "DEFAULT_USERS", "LocalTarget"]
