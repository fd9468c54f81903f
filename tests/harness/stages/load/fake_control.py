"""A stand-in platform for the load stage: FakeApp replicas (threads) behind the real Router, with the
local model's controllers (HPA, Rollout) acting on them, behind the Control protocol; the
analysis asks a real Prometheus that scrapes the replicas.

The replicas are not processes of this host (``pid`` None), so the stage observes them as it would
on a cluster: through the platform's replica list and each replica's own ``/metrics``. Their CPU is
synthetic, as a cluster's metrics-server would report it: 20 ms per request served. Faults can be
planted: a router that ignores the weights, an autoscaler with another decision rule.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import TargetError
from harness.services.prometheus import PrometheusService, Target
from harness.services.prometheus_api import PrometheusApi
from harness.targets.base import AutoscalerStatus, ReplicaStatus, RolloutStatus
from harness.targets.local.cluster.plane import ControlPlaneSpec, LocalControlPlane, ReplicaInfo
from harness.targets.local.cluster.router import Router
from tests.harness.stages.load.fake_app import FakeApp

CPU_PER_REQUEST_S = 0.02


class WeightBlindRouter(Router):
    """A planted fault: half the requests go to the canary whatever weight it is given."""

    def set_weight(self, weight: float) -> None:
        super().set_weight(50 if weight else 0)


class FakeReplica:
    def __init__(self, key: int, track: str, version: str, error_rate: float) -> None:
        self.key, self.track, self.version = key, track, version
        self.app = FakeApp(version, error_rate=error_rate).start()

    @property
    def cpu_seconds(self) -> float:
        return CPU_PER_REQUEST_S * sum(self.app.statuses.values())

    @property
    def metrics_url(self) -> str:
        return f"{self.app.url}/metrics"


class FakeSampler:
    """The model's CPU reading of the synthetic CPU (what metrics-server would report)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.last: dict[int, tuple[float, float]] = {}

    def utilisation(self, pid: int | None, request_cores: float) -> float | None:
        replica = self.cluster.by_key.get(pid or -1)
        if replica is None:
            return None
        now, cpu = time.monotonic(), replica.cpu_seconds
        last, self.last[replica.key] = self.last.get(replica.key), (now, cpu)
        return None if last is None else 100 * (cpu - last[1]) / (now - last[0]) / request_cores


class FakeCluster:
    """The Control protocol over FakeApp replicas; ``close()`` stops everything."""

    platform = "fake cluster (tests)"
    time_scale = 20.0

    def __init__(
        self, documents: list[dict[str, Any]], *, api: int = 2, router: Router | None = None
    ) -> None:
        self.router = router or Router()
        self.router.enable()
        self.stable: list[FakeReplica] = []
        self.canary: list[FakeReplica] = []
        self.stable_version, self.weight = "v1", 0
        self.canary_version: str | None = None
        self.canary_error_rate = 0.0
        self.calls: list[str] = []
        self.by_key: dict[int, FakeReplica] = {}
        self._keys = 1_000_000
        # The analysis is Prometheus' answer, as on the local target: a real server scrapes the
        # replicas with the labels the templates select on (service, rollouts_pod_template_hash).
        self._workdir = Path(tempfile.mkdtemp(prefix="fake-cluster-"))
        self.prometheus = PrometheusService(self._workdir).start(timeout=30)
        self.plane = LocalControlPlane(
            _Handle(self),
            ControlPlaneSpec.from_documents(documents),
            speedup=self.time_scale,
            scrape_period_s=0.5,
            evaluator=PrometheusApi(self.prometheus.url, version=self.prometheus.version),
            discovery=lambda replicas: self.prometheus.set_targets([_target(r) for r in replicas]),
        )
        self.plane.cpu = FakeSampler(self)
        self._scale(api)
        self.plane.start()

    @property
    def url(self) -> str:
        return self.router.url

    # -- write side ------------------------------------------------------------------------------
    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None:
        self.calls.append(f"deploy {version}")
        self.canary_error_rate = float((settings or {}).get("FAULT_ERROR_RATE", 0))
        self.canary = [self._replica("canary", version, self.canary_error_rate)]
        self.canary_version = version
        self.plane.begin_rollout(version)

    def set_weight(self, weight: int) -> None:
        self.plane.set_weight(weight)

    def promote(self, *, full: bool = False) -> None:
        self.plane.promote(full=full)

    def abort(self) -> None:
        self.plane.abort("aborted by the user")

    def scale(self, component: str, replicas: int) -> None:
        self._scale(replicas)

    def kill(self, component: str, replica: int) -> None:
        self.stable.pop(replica).app.stop()
        self._route()

    def stop(self, dependency: str) -> None:
        raise TargetError("no dependencies here")

    def start(self, dependency: str) -> None:
        raise TargetError("no dependencies here")

    def restart(self, dependency: str) -> None:
        raise TargetError("no dependencies here")

    # -- read side -------------------------------------------------------------------------------
    def replicas(self, component: str) -> list[ReplicaStatus]:
        if component != "api":
            return []
        return [
            ReplicaStatus(
                "api",
                f"api-{r.key}",
                r.version,
                r.track,
                metrics_url=r.metrics_url,
                cpu_seconds=r.cpu_seconds,
            )
            for r in [*self.stable, *self.canary]
        ]

    def autoscaler(self, component: str) -> AutoscalerStatus | None:
        return self.plane.autoscaler_status(component, len(self.stable))

    def rollout(self) -> RolloutStatus:
        return self.plane.rollout_status(self.stable_version, self.canary_version)

    # -- the model's side --------------------------------------------------------------------------
    def _scale(self, n: int) -> None:
        self.calls.append(f"scale api {n}")
        retired = self.stable[n:]
        del self.stable[n:]
        while len(self.stable) < n:
            self.stable.append(self._replica("stable", self.stable_version, 0.0))
        self._route()
        for replica in retired:
            replica.app.stop()

    def _promote(self) -> None:
        self.calls.append("promote")
        assert self.canary_version is not None
        old, self.stable_version = self.stable, self.canary_version
        self.stable = [self._replica("stable", self.stable_version, self.canary_error_rate) for _ in old]
        self._route()
        for replica in old:
            replica.app.stop()
        self._abort(record=False)

    def _abort(self, *, record: bool = True) -> None:
        if record:
            self.calls.append("abort")
        self.weight, retired, self.canary, self.canary_version = 0, self.canary, [], None
        self._route()
        for replica in retired:
            replica.app.stop()

    def _replica(self, track: str, version: str, error_rate: float) -> FakeReplica:
        self._keys += 1
        replica = FakeReplica(self._keys, track, version, error_rate)
        self.by_key[replica.key] = replica
        return replica

    def _route(self) -> None:
        self.router.set_weight(self.weight)
        self.router.set_backends(
            [("127.0.0.1", r.app.port) for r in self.stable], [("127.0.0.1", r.app.port) for r in self.canary]
        )

    def close(self) -> None:
        self.plane.stop()
        for replica in [*self.stable, *self.canary]:
            replica.app.stop()
        self.router.disable()
        self.prometheus.cleanup()
        shutil.rmtree(self._workdir, ignore_errors=True)


def _target(replica: ReplicaInfo) -> Target:
    labels = {"job": replica.component, "service": f"{replica.component}-{replica.track}",
              "rollouts_pod_template_hash": replica.version}
    return urlsplit(replica.metrics_url).netloc, labels


class _Handle:
    """What the model's controllers act on (its ClusterHandle)."""

    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster

    def processes(self) -> list[ReplicaInfo]:
        c = self.cluster
        return [ReplicaInfo("api", r.track, r.version, r.key, r.metrics_url) for r in [*c.stable, *c.canary]]

    def scale(self, component: str, n: int) -> None:
        self.cluster._scale(n)

    def set_weight(self, weight: int) -> None:
        self.cluster.calls.append(f"weight {weight}")
        self.cluster.weight = weight
        self.cluster._route()

    def promote(self) -> None:
        self.cluster._promote()

    def abort(self) -> None:
        self.cluster._abort()
