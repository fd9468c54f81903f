"""What the stages need to know about the app under test, as data: ``scenarios/app.yaml``.

The harness knows no app by heart (issue 18): the routes of the upload flow, the auth scheme, the
tables and the event channel the functional, load and DAST stages use, and what the targets deploy
(the module the replicas run, its source, the database, the images and their Dockerfiles) come
from the project's ``scenarios/app.yaml``, validated against
``harness/schemas/app.schema.json`` (errors name the file and the key). This repository's file
describes the reference app; a project without one gets no routes, and a step that needs one says
which key to add. See ``scenarios/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.schemas import check, load_schema, read_document

APP_FILE = "app.yaml"


@dataclass(frozen=True, slots=True)
class AppProfile:
    """Routes (name -> path template with ``{id}``), auth, tables and channel of one app."""

    source: str = f"scenarios/{APP_FILE}"
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"  # empty: the header carries the bare token
    routes: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    events_channel: str | None = None
    process_module: str | None = None  # replicas run `python -m <module> api|worker`
    process_source: str | None = None  # the module's source folder under the root (when not installed)
    database: str = "app"  # the PostgreSQL database (and role) the local target creates
    images: Mapping[str, str] = field(default_factory=dict)  # image as the manifests name it -> Dockerfile

    @classmethod
    def from_dict(cls, data: Any, source: str) -> AppProfile:
        check(data, load_schema("app"), source)
        auth, processes = data.get("auth") or {}, data.get("processes") or {}
        return cls(source=source, auth_header=str(auth.get("header", "Authorization")),
                   auth_scheme=str(auth.get("scheme", "Bearer")), routes=dict(data.get("routes") or {}),
                   tables=dict(data.get("tables") or {}), events_channel=data.get("events_channel"),
                   process_module=processes.get("module"), process_source=processes.get("source"),
                   database=str(processes.get("database", "app")), images=dict(data.get("images") or {}))

    def route(self, name: str, **values: str) -> str:
        """The path of route ``name`` (``{id}`` filled in); a missing route names the key to add."""
        if name not in self.routes:
            raise ConfigError.at(self.source, f"routes.{name}", "not set, and a step or flow needs it")
        return self.routes[name].format(**values)

    def table(self, name: str) -> str:
        if name not in self.tables:
            raise ConfigError.at(self.source, f"tables.{name}", "not set, and a step needs it")
        return self.tables[name]

    def replica_module(self) -> str:
        """The module the app's processes run (``python -m <module> api|worker|migrate|create-user``):
        what the targets start, and how the load stage finds the replicas in the process table."""
        if self.process_module is None:
            raise ConfigError.at(self.source, "processes.module", "not set, and the targets need it to run "
                                 "the app, the load stage to find its replicas in the process table")
        return self.process_module

    def image_builds(self) -> Mapping[str, str]:
        """The images a cluster target builds: name as the manifests use it -> Dockerfile (under the
        root; the build context is its folder)."""
        if not self.images:
            raise ConfigError.at(self.source, "images", "not set, and the kind/aws targets build the app's "
                                 "images from it")
        return self.images

    def auth(self, token: str) -> dict[str, str]:
        """The request header that presents ``token``."""
        return {self.auth_header: self.auth_value(token)}

    def auth_value(self, token: str) -> str:
        """The auth header's value for ``token`` (``Bearer <token>``, or the bare token)."""
        return f"{self.auth_scheme} {token}" if self.auth_scheme else token

    def to_dict(self) -> dict[str, Any]:
        """What a child process (Locust) needs, as JSON."""
        return {"auth_header": self.auth_header, "auth_scheme": self.auth_scheme, "routes": dict(self.routes)}


def load_app_profile(scenarios: Path) -> AppProfile:
    """``scenarios/app.yaml`` when the project has one, else an app with no routes."""
    path = scenarios / APP_FILE
    source = f"{scenarios.name}/{APP_FILE}"
    if not path.is_file():
        return AppProfile(source=source)
    data = read_document(path, source)
    return AppProfile.from_dict(data if data is not None else {}, source)


__all__ = ["APP_FILE", "AppProfile", "load_app_profile"]
