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
        )

    def require_control(self, why: str) -> Control:
        """The control handle, or a :class:`~harness.errors.TargetError` explaining its absence."""
        from harness.errors import TargetError

        if self.control is None:
            raise TargetError(f"target {self.target!r} has no control handle; needed to {why}")
        return self.control


@runtime_checkable
class Control(Protocol):
    """What stages may do to a running environment (fault drills, scaling, canary)."""

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
    """One way to obtain an Environment. ``down()`` must be safe to call at any point, twice."""

    NAME: str

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


def _user(data: dict[str, Any], index: int) -> TestUser:
    name, token = data.get("name"), data.get("token")
    if not isinstance(name, str) or not isinstance(token, str) or not token:
        raise ValueError(f"users[{index}]: expected string 'name' and non-empty 'token'")
    return TestUser(name, token)


__all__ = ["AwsEndpoint", "Control", "Environment", "Target", "TestUser"]
