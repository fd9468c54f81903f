"""What every target yields: an :class:`Environment` and, where it can, a :class:`Control` handle.

Targets know how to stand an environment up and poke it; they never import stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(slots=True)
class TestUser:
    """A user of the app under test and its bearer API token (a secret: redact in reports)."""

    __test__ = False  # not a pytest test class

    name: str
    token: str


@dataclass(slots=True)
class AwsEndpoint:
    endpoint_url: str | None
    region: str
    access_key_id: str
    secret_access_key: str
    buckets: dict[str, str] = field(default_factory=dict)  # logical name -> bucket name

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "buckets": dict(self.buckets),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AwsEndpoint:
        return cls(
            endpoint_url=_optional_str(data, "endpoint_url"),
            region=str(data.get("region", "us-east-1")),
            access_key_id=str(data.get("access_key_id", "")),
            secret_access_key=str(data.get("secret_access_key", "")),
            buckets={str(k): str(v) for k, v in _mapping(data, "buckets").items()},
        )


@dataclass(slots=True)
class Environment:
    """The running system, however it was stood up. Stages reach the app only through this."""

    target: str
    api_url: str
    web_url: str
    aws: AwsEndpoint
    users: list[TestUser]
    database_url: str | None = None
    redis_url: str | None = None
    metrics_urls: dict[str, list[str]] = field(default_factory=dict)  # component -> scrape URLs
    prometheus_url: str | None = None
    evidence_dir: str | None = None
    control: Control | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # where the load stage's Locust workers run when it wants several (None: the harness forks
    # them on this machine itself); not part of the JSON: a handle, like ``control``
    load_workers: LoadWorkers | None = None
    production: bool = False  # the environment file says so: stages that attack (DAST) stay passive

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``harness up --json`` writes and the ``existing`` target reads (no control)."""
        return {
            "target": self.target,
            "api_url": self.api_url,
            "web_url": self.web_url,
            "aws": self.aws.to_dict(),
            "users": [{"name": u.name, "token": u.token} for u in self.users],
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "metrics_urls": {k: list(v) for k, v in self.metrics_urls.items()},
            "prometheus_url": self.prometheus_url,
            "evidence_dir": self.evidence_dir,
            "extra": dict(self.extra),
            "production": self.production,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, target: str | None = None) -> Environment:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` naming the first bad key."""
        api_url = _optional_str(data, "api_url")
        if not api_url:
            raise ValueError("api_url: required (the public URL of the API)")
        users = data.get("users", [])
        if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
            raise ValueError("users: expected a list of {name, token} objects")
        return cls(
            target=target or str(data.get("target", "existing")),
            api_url=api_url,
            web_url=_optional_str(data, "web_url") or api_url,
            aws=AwsEndpoint.from_dict(_mapping(data, "aws")),
            users=[_user(u, i) for i, u in enumerate(users)],
            database_url=_optional_str(data, "database_url"),
            redis_url=_optional_str(data, "redis_url"),
            metrics_urls={str(k): [str(u) for u in v] for k, v in _mapping(data, "metrics_urls").items()},
            prometheus_url=_optional_str(data, "prometheus_url"),
            evidence_dir=_optional_str(data, "evidence_dir"),
            extra=dict(_mapping(data, "extra")),
            production=_flag(data, "production"),
        )

    def require_control(self, why: str) -> Control:
        """The control handle, or a :class:`~harness.errors.TargetError` explaining its absence."""
        from harness.errors import TargetError

        if self.control is None:
            raise TargetError(f"target {self.target!r} has no control handle; needed to {why}")
        return self.control


# -- the read side of a Control: plain, frozen snapshots ------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerSecurity:
    """The security posture a replica really runs with, observed inside it (not read from a manifest).

    On a cluster: ``id -u``, a write probe on ``/`` and ``CapEff`` of ``/proc/1/status`` in the pod's
    container. ``effective_capabilities`` is the hex mask (``"0000000000000000"`` = none); ``uid``
    is None when it could not be read.
    """

    uid: int | None
    read_only_root: bool
    effective_capabilities: str


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """One running replica (a process locally, a pod on a cluster), as observed, not as intended.

    ``memory_bytes``/``cpu_seconds`` are measured by the platform (process RSS and CPU time locally,
    container metrics on a cluster); ``listening`` is what the replica really listens on
    (``"127.0.0.1:8001"``); ``limits`` are the declared resources (``{"memory": bytes, "cpu": cores}``).
    """

    component: str  # "api" | "worker" | ...
    name: str  # "api-0" locally, the pod's name on a cluster
    version: str
    track: str = "stable"  # "stable" | "canary"
    ready: bool = True
    pid: int | None = None  # local replicas only
    metrics_url: str | None = None  # this replica's own /metrics (scraped directly, not via a router)
    listening: tuple[str, ...] = ()
    memory_bytes: int | None = None
    cpu_seconds: float | None = None
    limits: dict[str, float] = field(default_factory=dict)
    requests: dict[str, float] = field(default_factory=dict)
    security: ContainerSecurity | None = None


@dataclass(frozen=True, slots=True)
class ScaleEvent:
    """The autoscaler changed a workload's replica count (``at``: seconds since the epoch)."""

    at: float
    component: str
    from_replicas: int
    to_replicas: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AutoscalerStatus:
    """A HorizontalPodAutoscaler's status: what it observed and what it decided.

    ``metrics`` are the observed values the autoscaler reported (e.g. ``{"cpu_utilization_pct": 83}``);
    a check judges the decision against the manifest's HPA spec and *independently* observed samples.
    ``conditions`` are the HPA's status conditions (``{"ScalingActive": "False: FailedGetResourceMetric
    ..."}``): how the autoscaler says it could not act.
    """

    component: str
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    metrics: dict[str, float] = field(default_factory=dict)
    events: tuple[ScaleEvent, ...] = ()
    observed_at: float = 0.0
    conditions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AnalysisMeasurement:
    """One measurement of one AnalysisTemplate metric (``phase``: Successful|Failed|Error|Inconclusive;
    ``at``: seconds since the epoch)."""

    metric: str
    phase: str
    value: str
    at: float
    query: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisRunStatus:
    """An AnalysisRun of the canary (``phase``: Pending|Running|Successful|Failed|Error|Inconclusive)."""

    name: str
    phase: str
    measurements: tuple[AnalysisMeasurement, ...] = ()
    message: str = ""


@dataclass(frozen=True, slots=True)
class RolloutStatus:
    """An Argo Rollout's canary status.

    ``phase`` follows Argo Rollouts: Healthy | Progressing | Paused | Degraded; ``aborted`` is set
    once the canary was aborted (by analysis or by hand). ``step_index`` is the current step of
    ``steps`` (None when no canary is in flight); ``weight`` the canary weight now.
    """

    phase: str
    stable_version: str
    canary_version: str | None = None
    step_index: int | None = None
    steps: int = 0
    weight: int = 0
    aborted: bool = False
    message: str = ""
    analysis_runs: tuple[AnalysisRunStatus, ...] = ()


@runtime_checkable
class Control(Protocol):
    """What stages may do to, and read from, a running environment: shaped like a cluster.

    Components are the app's workloads (``api``, ``worker``); dependencies are the services it
    needs (``postgres``, ``redis``, ``s3``). Every method raises :class:`~harness.errors.TargetError`
    for a name or request the platform cannot honour. ``platform`` says what acts and observes
    (e.g. ``"local model of Kubernetes (HPA v2, Argo Rollouts)"`` or ``"kind v0.25 / Kubernetes
    1.31"``): results judged through this handle record it as their ``proven_on``.
    """

    @property
    def platform(self) -> str: ...

    @property
    def time_scale(self) -> float:
        """Manifest seconds per wall-clock second: 1.0 on a real cluster; the local model may
        compress manifest time (pauses, analysis intervals, HPA sync period and stabilisation
        windows) so that a PR run walks a Rollout in minutes. Stages convert durations with it."""

    # -- write side ------------------------------------------------------------------------------
    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None:
        """Deploy ``version``: as a canary following the Rollout's steps, or rolled out at once."""

    def set_weight(self, weight: int) -> None:
        """Set the canary's traffic weight (0..100), as ``kubectl argo rollouts set weight``."""

    def promote(self, *, full: bool = False) -> None:
        """Advance past the current pause (``full``: skip the remaining steps)."""

    def abort(self) -> None:
        """Abort the canary: weight 0, stable serves everything."""

    def scale(self, component: str, replicas: int) -> None:
        """Set a component's replica count (the autoscaler may change it again)."""

    def kill(self, component: str, replica: int) -> None:
        """Kill one replica at once (SIGKILL / delete the pod with no grace), as a crash would."""

    def stop(self, dependency: str) -> None:
        """Take a dependency away (an outage)."""

    def start(self, dependency: str) -> None:
        """Bring a stopped dependency back."""

    def restart(self, dependency: str) -> None:
        """Restart a dependency (or roll every replica of a component)."""

    # -- read side -------------------------------------------------------------------------------
    def replicas(self, component: str) -> list[ReplicaStatus]:
        """The component's running replicas, stable and canary, as observed now."""

    def autoscaler(self, component: str) -> AutoscalerStatus | None:
        """The component's autoscaler status, or None when it has no autoscaler."""

    def rollout(self) -> RolloutStatus:
        """The API's rollout status (phase, step, weight, analysis runs)."""


@dataclass(frozen=True, slots=True)
class LoadFiles:
    """What one Locust worker runs: ``files`` (file name -> text: the locustfile and the modules it
    loads from beside itself) and ``config``, the run's JSON configuration, which holds the users'
    bearer tokens: a secret, to be handed over as one (a Secret on a cluster, a 0600 file here)."""

    files: dict[str, str]
    config: str
    locustfile: str = "locustfile.py"


@runtime_checkable
class LoadWorkers(Protocol):
    """Locust workers that a target runs for the load stage's master (Locust's distributed mode).

    The master always runs in the harness and listens on 127.0.0.1 only; a target brings its
    workers to it: the local target as processes on this machine, a cluster as a Job whose pods
    reach the master through a reverse tunnel. The master aggregates what the workers measure (the
    stage never reads a worker directly); ``failures`` is how a worker that died says so.
    """

    @property
    def where(self) -> str:
        """Where the workers run, for the report (``"2 Locust worker processes on this machine"``,
        ``"Job harness-load/locust-workers on kind v0.25.0 / Kubernetes v1.31.2"``)."""

    def start(self, count: int, master_port: int, files: LoadFiles) -> str:
        """Start ``count`` workers that connect to the master on ``127.0.0.1:master_port``; return
        the API's URL as the workers reach it (the master hands it to them as Locust's host).
        Raises :class:`~harness.errors.TargetError` when they cannot be started."""

    def failures(self) -> list[str]:
        """One line per worker that failed, naming it (the pod, the process) and why; ``[]`` while
        every worker runs or ended cleanly. Cheap enough to call every few seconds."""

    def release(self) -> None:
        """Stop the workers and remove everything :meth:`start` created (processes, a Job, its
        ConfigMap and Secret, the tunnel). Safe to call twice, and after a failed or no ``start``."""


class Target(Protocol):
    """One way to obtain an Environment. ``down()`` must be safe to call at any point, twice.

    ``preflight()`` runs before any stage and starts nothing: it raises
    :class:`~harness.errors.TargetError` with one clear line (what is missing, how to get it) when
    ``up()`` cannot succeed here: tools missing, an environment file missing or invalid, an
    endpoint not answering. It must be cheap (seconds at most) and leave nothing behind.
    """

    NAME: str

    def preflight(self) -> None: ...

    def up(self) -> Environment: ...

    def down(self) -> None: ...


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected an object, got {type(value).__name__}")
    return value


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: expected true or false, got {value!r}")
    return value


def _user(data: dict[str, Any], index: int) -> TestUser:
    name, token = data.get("name"), data.get("token")
    if not isinstance(name, str) or not isinstance(token, str) or not token:
        raise ValueError(f"users[{index}]: expected string 'name' and non-empty 'token'")
    return TestUser(name, token)


__all__ = [
    "AnalysisMeasurement",
    "AnalysisRunStatus",
    "AutoscalerStatus",
    "AwsEndpoint",
    "ContainerSecurity",
    "Control",
    "Environment",
    "LoadFiles",
    "LoadWorkers",
    "ReplicaStatus",
    "RolloutStatus",
    "ScaleEvent",
    "Target",
    "TestUser",
]
