"""What one scenario run carries from step to step: users, variables, accepted uploads, evidence."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.app_profile import AppProfile
from harness.errors import ConfigError, HarnessError
from harness.stages.functional.backends import Backends, UserHandle
from harness.stages.functional.client import Api
from harness.targets.base import Environment

_WHOLE = re.compile(r"^\$\{([^}]+)\}([+-][0-9]+)?$")
_PART = re.compile(r"\$\{([^}]+)\}")
T = TypeVar("T")


class StepFailed(HarnessError):
    """An expectation was not met: the system under test broke a rule."""

    detail: Any = None  # what the step saw (e.g. the SSE transcript), kept as evidence


class StepSkipped(HarnessError):
    """The step needs something this environment does not offer (control handle, database, ...)."""


class ScenarioError(ConfigError):
    """The scenario itself is wrong (an unknown variable, ...): an error, not a failure."""


@dataclass(slots=True)
class Upload:
    """An upload the scenario made: what was sent and what the API answered."""

    id: str
    user: str
    sha256: str
    size: int
    kind: str
    filename: str
    body: dict[str, Any]

    def as_vars(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "sha256": self.sha256, "size": self.size,
                "kind": self.kind, "filename": self.filename, **{f"body_{k}": v for k, v in self.body.items()
                                                                   if isinstance(v, str | int)}}


@dataclass(slots=True)
class Context:
    """State of one scenario run."""

    env: Environment
    api: Api
    backends: Backends
    users: dict[str, UserHandle]
    isolated: bool
    limits: dict[str, Any]
    vars: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)  # accepted (201), by id
    marker: str = field(default_factory=lambda: "scn" + uuid.uuid4().hex[:10])
    started: float = field(default_factory=time.monotonic)
    measured: dict[str, float | int | str] = field(default_factory=dict)
    healing: dict[str, Any] = field(default_factory=dict)
    deployed: dict[str, str] = field(default_factory=dict)  # app settings this scenario deployed
    lock: threading.RLock = field(default_factory=threading.RLock)
    concurrent: bool = False

    @property
    def app(self) -> AppProfile:
        """What the scenario needs to know about the app (routes, auth): ``scenarios/app.yaml``."""
        return self.backends.app

    def need_database(self) -> None:
        """Skip the step on a target that does not expose its database."""
        if not self.backends.has_database:
            raise StepSkipped(f"needs database_url (target {self.env.target!r} does not expose it)")

    def user(self, name: str | None) -> UserHandle:
        key = name or next(iter(self.users))
        if key not in self.users:
            raise ScenarioError(f"unknown user {key!r} (scenario users: {', '.join(self.users)})")
        return self.users[key]

    def upload(self, ref: str, scope: dict[str, Any] | None = None) -> Upload:
        value = (scope or self.vars).get(ref, self.vars.get(ref))
        if isinstance(value, Upload):
            return value
        raise ScenarioError(f"{ref!r} is not an upload made earlier in this scenario (use `as: {ref}`)")

    def upload_list(self, ref: str | None) -> list[Upload]:
        if ref is None:
            return list(self.uploads.values())
        value = self.vars.get(ref)
        if isinstance(value, Upload):
            return [value]
        if isinstance(value, list) and all(isinstance(v, Upload) for v in value):
            return list(value)
        raise ScenarioError(f"{ref!r} is not a list of uploads (set it with `as:` inside a repeat)")

    def remember(self, name: str | None, value: Any, scope: dict[str, Any] | None = None) -> None:
        if not name:
            return
        with self.lock:
            if scope is not None:  # inside repeat: iteration-local, and collected in a list
                scope[name] = value
                existing = self.vars.setdefault(name, [])
                if isinstance(existing, list):
                    existing.append(value)
                return
            self.vars[name] = value

    def accept(self, upload: Upload) -> None:
        with self.lock:
            self.uploads[upload.id] = upload

    def measure(self, name: str, value: float | int | str) -> None:
        with self.lock:
            self.measured[name] = round(value, 3) if isinstance(value, float) else value

    def render(self, value: Any, scope: dict[str, Any] | None = None) -> Any:
        """Substitute ``${name.attr}`` references; a whole ``${n}+1`` string becomes a number."""
        if isinstance(value, dict):
            return {k: (v if k in ("steps", "during") else self.render(v, scope)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v, scope) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = _WHOLE.match(value)
        if whole:
            found = self._lookup(whole.group(1), scope)
            return found + int(whole.group(2)) if whole.group(2) and isinstance(found, int) else found
        return _PART.sub(lambda m: str(self._lookup(m.group(1), scope)), value)

    def _lookup(self, dotted: str, scope: dict[str, Any] | None) -> Any:
        head, *rest = dotted.strip().split(".")
        names: dict[str, Any] = {"marker": self.marker, "limits": self.limits,
                                 "users": {n: {"name": u.name, "token": u.token, "id": u.id}
                                           for n, u in self.users.items()}, **self.vars, **(scope or {})}
        if head not in names:
            raise ScenarioError(f"unknown variable ${{{dotted}}}")
        value = names[head]
        for part in rest:
            value = value.as_vars() if hasattr(value, "as_vars") else value
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                raise ScenarioError(f"unknown variable ${{{dotted}}} ({part!r} not found)")
        return value.id if isinstance(value, Upload) else value


def poll(read: Callable[[], T], done: Callable[[T], bool], within_s: float,
         every_s: float) -> tuple[T, float]:
    """``read()`` until ``done`` says so or ``within_s`` has passed: the last value, and the seconds taken
    (the steps that wait for the system to settle share it)."""
    began = time.monotonic()
    value = read()
    while not done(value) and time.monotonic() - began < within_s:
        time.sleep(every_s)
        value = read()
    return value, time.monotonic() - began


def subset_mismatch(expected: Any, actual: Any, where: str = "") -> str | None:
    """None when ``actual`` contains ``expected`` (dicts by key, lists elementwise); else the first gap."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where or 'value'}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{where + '.' if where else ''}{key}: missing"
            gap = subset_mismatch(value, actual[key], f"{where + '.' if where else ''}{key}")
            if gap:
                return gap
        return None
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            gap = subset_mismatch(e, a, f"{where}[{index}]")
            if gap:
                return gap
        return None
    return None if expected == actual else f"{where or 'value'}: expected {expected!r}, got {actual!r}"


def dig(data: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) of ``a.b.c`` inside nested mappings."""
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return False, None
    return True, data


__all__ = ["Context", "ScenarioError", "StepFailed", "StepSkipped", "Upload", "dig", "poll",
           "subset_mismatch"]
