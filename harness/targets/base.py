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
    """

    component: str
    min_replicas: int
    max_replicas: int
    current_replicas: int
    desired_replicas: int
    metrics: dict[str, float] = field(default_factory=dict)
    events: tuple[ScaleEvent, ...] = ()
    observed_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AnalysisMeasurement:
    """One measurement of one AnalysisTemplate metric (``phase``: Successful|Failed|Error|Inconclusive)."""

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
    """What stages may do to a running environment (fault drills, scaling, canary).

    The cluster-shaped protocol (set_weight/promote/abort, and a read side returning
    :class:`ReplicaStatus`, :class:`AutoscalerStatus`, :class:`RolloutStatus`) replaces this one
    when the local target implements it (issue 14); the snapshot types above are that contract.
    """

    def replicas(self, component: str) -> int: ...

    def scale(self, component: str, n: int) -> None: ...

    def kill(self, component: str, replica: int) -> None: ...

    def restart(self, service: str) -> None: ...

    def stop(self, service: str) -> None: ...

    def start(self, service: str) -> None: ...

    def deploy(
        self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None
    ) -> None: ...

    def rollout_status(self) -> dict[str, Any]: ...


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
    "Control",
    "Environment",
    "ReplicaStatus",
    "RolloutStatus",
    "ScaleEvent",
    "Target",
    "TestUser",
]
