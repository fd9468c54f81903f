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

    def deploy(self, version: str, *, canary: bool = True, settings: dict[str, str] | None = None) -> None: ...

    def rollout_status(self) -> dict[str, Any]: ...


class Target(Protocol):
    """One way to obtain an Environment. ``down()`` must be safe to call at any point, twice."""

    NAME: str

    def up(self) -> Environment: ...

    def down(self) -> None: ...


__all__ = ["AwsEndpoint", "Control", "Environment", "Target", "TestUser"]
