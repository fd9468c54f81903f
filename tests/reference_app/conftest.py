"""Fixtures for the reference app: real PostgreSQL, Redis and moto (the harness' launchers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.services import MotoService, PostgresService, RedisService
from tests.reference_app.app import AppProcesses, Client, app_env


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
