"""Fixtures for the reference app: real PostgreSQL, Redis and moto (the harness' launchers)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.services import MotoService, PostgresService, RedisService
from tests.reference_app.app import AppProcesses, Client, app_env, planted_env

AppFactory = Callable[..., AppProcesses]


@pytest.fixture(scope="session")
def easy_upload(
    postgres_service: PostgresService, redis_service: RedisService, moto_service: MotoService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppProcesses]:
    """API + one worker, migrated, against the session services."""
    env = app_env(postgres_service.url, redis_service.url, moto_service.client_env(),
                  f"easy-upload-{uuid.uuid4().hex[:8]}")
    app = AppProcesses(env, Path(tmp_path_factory.mktemp("easy-upload")))
    app.command("migrate")
    app.command("migrate")  # idempotent
    app.start_api()
    app.start_worker()
    yield app
    app.stop()


@pytest.fixture(scope="session")
def alice(easy_upload: AppProcesses) -> Iterator[Client]:
    client = Client(easy_upload.base_url, easy_upload.command("create-user", "alice").strip())
    yield client
    client.close()


@pytest.fixture(scope="session")
def bob(easy_upload: AppProcesses) -> Iterator[Client]:
    client = Client(easy_upload.base_url, easy_upload.command("create-user", "bob").strip())
    yield client
    client.close()


@pytest.fixture
def app_factory(
    postgres_service: PostgresService, redis_service: RedisService, moto_service: MotoService,
    tmp_path: Path,
) -> Iterator[AppFactory]:
    """Start extra API + worker pairs (own queue) with other settings or planted variants; all are
    stopped when the test ends. ``make(planted="variant", workers=1, **settings)``."""
    started: list[AppProcesses] = []

    def make(planted: str = "", workers: int = 1, **settings: str) -> AppProcesses:
        env = app_env(postgres_service.url, redis_service.url, moto_service.client_env(),
                      f"easy-upload-{uuid.uuid4().hex[:8]}")
        env.update(planted_env(planted))
        env.update(settings)
        app = AppProcesses(env, tmp_path / f"app-{len(started)}")
        started.append(app)
        app.command("migrate")
        app.start_api()
        for _ in range(workers):
            app.start_worker()
        return app

    yield make
    for app in started:
        app.stop()


def user(app: AppProcesses, name: str) -> Client:
    """A client for a new token of ``name`` on ``app`` (close it when done)."""
    return Client(app.base_url, app.command("create-user", name).strip())
