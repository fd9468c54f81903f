"""scenarios/app.yaml: what the stages know about the app is data, validated with file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.app_profile import AppProfile, load_app_profile
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def test_the_reference_apps_profile_is_the_repositorys_scenarios_app_yaml() -> None:
    app = load_app_profile(ROOT / "scenarios")
    assert app.route("events", id="u1") == "/api/uploads/u1/events"
    assert app.auth("t") == {"Authorization": "Bearer t"} and app.table("tokens") == "api_tokens"
    assert app.replica_module() == "easy_upload"  # the load stage's process-table contract
    # what the targets deploy: the module's source, the database, the images and their Dockerfiles
    assert (app.process_source, app.database) == ("reference_app", "easy_upload")
    assert {name: (ROOT / path).is_file() for name, path in app.image_builds().items()} == {
        "easy-upload-api": True, "easy-upload-worker": True}


@pytest.mark.parametrize(("text", "message"), [
    ("routes: {uploads: api/uploads}", "scenarios/app.yaml: routes.uploads: 'api/uploads' does not match"),
    ("routes: {events: /api/events}", "scenarios/app.yaml: routes.events: '/api/events' does not match"),
    ("tables: {rows: x}", "scenarios/app.yaml: tables: unknown key 'rows'"),
    ("auth: {header: ''}", "scenarios/app.yaml: auth.header: must not be empty"),
    ("route: {}", "scenarios/app.yaml: unknown key 'route'"),
    ("routes: [a]", "scenarios/app.yaml: routes: expected a mapping, got ['a']"),
    ("processes: {module: 'py -m x'}", "scenarios/app.yaml: processes.module: 'py -m x' does not match"),
    ("processes: {database: Shop-DB}", "scenarios/app.yaml: processes.database: 'Shop-DB' does not match"),
    ("processes: {source: ''}", "scenarios/app.yaml: processes.source: must not be empty"),
    ("images: [Dockerfile]", "scenarios/app.yaml: images: expected a mapping"),
    ("images: {Shop Web: Dockerfile}", "scenarios/app.yaml: images"),
])
def test_a_bad_profile_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "app.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_app_profile(tmp_path / "scenarios")
    assert str(caught.value).startswith(message)


def test_a_project_without_a_profile_knows_no_route_and_says_which_key_to_add(tmp_path: Path) -> None:
    app = load_app_profile(tmp_path)
    with pytest.raises(ConfigError, match=r"app.yaml: routes.uploads: not set"):
        app.route("uploads")
    with pytest.raises(ConfigError, match=r"app.yaml: processes.module: not set"):
        app.replica_module()
    with pytest.raises(ConfigError, match=r"app.yaml: images: not set"):
        app.image_builds()
    assert app.database == "app"  # nothing of the reference app by default
    assert AppProfile(auth_header="X-Api-Key", auth_scheme="").auth("k") == {"X-Api-Key": "k"}


def test_a_stage_context_reads_the_profile_once(tmp_path: Path) -> None:
    """Every step of a stage sees the profile the stage started with, not a file edited mid-run."""
    from harness.config import HarnessConfig
    from harness.stages.base import StageContext

    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "app.yaml").write_text("auth: {header: X-Api-Key, scheme: ''}\n", encoding="utf-8")
    ctx = StageContext(HarnessConfig.defaults(tmp_path), None, tmp_path / "run", "pr")
    first = ctx.app_profile
    (scenarios / "app.yaml").write_text("auth: {header: X-Other}\n", encoding="utf-8")
    assert ctx.app_profile is first and first.auth_header == "X-Api-Key"
