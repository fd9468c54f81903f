from __future__ import annotations

from pathlib import Path

import pytest

import harness.targets as targets
from harness.errors import ConfigError, NotBuiltError
from harness.targets import TargetSettings, get_target, register_target, target_names
from harness.targets.existing import ExistingTarget
from harness.targets.local import LocalTarget

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def settings() -> TargetSettings:
    return TargetSettings.for_root(ROOT)


def test_unknown_target_lists_the_valid_names(settings: TargetSettings) -> None:
    with pytest.raises(ConfigError) as info:
        get_target("kubernetes", settings)
    valid = "aws, existing, kind, local"
    assert str(info.value) == f"--target: unknown target 'kubernetes' (expected one of {valid})"


def test_a_registered_target_that_is_not_built_says_so(
    settings: TargetSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(targets.TARGETS, "someday", None)
    with pytest.raises(NotBuiltError, match="target 'someday' is not built yet"):
        get_target("someday://x", settings)
    assert "someday" in targets.not_built_targets()


def test_kind_resolves_and_refuses_options(settings: TargetSettings) -> None:
    from harness.targets.kind import KindTarget

    target = get_target("kind://nightly", settings)
    assert isinstance(target, KindTarget) and target.cluster == "nightly"
    assert isinstance(get_target("kind", settings), KindTarget)
    with pytest.raises(ConfigError, match=r"kind takes no options .* unknown: reuse"):
        get_target("kind://harness?reuse=1", settings)


def test_aws_resolves_and_keeps_its_guards(settings: TargetSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.targets.aws import AwsTarget

    monkeypatch.delenv("HARNESS_AWS_CONFIRM", raising=False)
    assert isinstance(get_target("aws://staging?yes-real-cloud=1", settings), AwsTarget)
    with pytest.raises(ConfigError, match="confirm with --yes-real-cloud"):
        get_target("aws://staging", settings)
    with pytest.raises(ConfigError, match="name the environment"):
        get_target("AWS", settings)


def test_local_and_existing_resolve(settings: TargetSettings, tmp_path: Path) -> None:
    assert isinstance(get_target("local", settings), LocalTarget)
    existing = get_target(f"existing:{tmp_path / 'up.json'}", settings)
    assert isinstance(existing, ExistingTarget)
    assert existing.path == tmp_path / "up.json"


def test_existing_path_is_relative_to_the_root(settings: TargetSettings) -> None:
    target = get_target("existing:.harness/up.json", settings)
    assert isinstance(target, ExistingTarget)
    assert target.path == ROOT / ".harness" / "up.json"


def test_existing_without_a_path_is_a_usage_error(settings: TargetSettings) -> None:
    with pytest.raises(ConfigError, match="existing:PATH"):
        get_target("existing", settings)


def test_local_options_from_the_spec(settings: TargetSettings) -> None:
    target = get_target("local?app=0&users=carol", settings)
    assert isinstance(target, LocalTarget)
    assert (target.with_app, target.user_names) == (False, ("carol",))


def test_local_router_option(settings: TargetSettings) -> None:
    target = get_target("local?router=tcp", settings)
    assert isinstance(target, LocalTarget) and target.router == "tcp"
    with pytest.raises(ConfigError, match="router must be http or tcp, not 'udp'"):
        get_target("local?router=udp", settings)


def test_register_target_adds_a_name(settings: TargetSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "_extra", {})
    made: list[str] = []

    def factory(spec: targets.TargetSpec, given: TargetSettings) -> LocalTarget:
        made.append(spec.location)
        return LocalTarget(given)

    register_target("Mine", factory)
    assert "mine" in target_names()
    get_target("mine://here", settings)
    assert made == ["here"]


def test_get_target_adapts_a_harness_config(tmp_path: Path) -> None:
    from harness.config import HarnessConfig

    target = get_target("local", HarnessConfig.defaults(ROOT))
    assert isinstance(target, LocalTarget)
    assert target.settings.terraform_dir == ROOT / "terraform" / "envs" / "local"
    assert target.settings.manifests_dir == ROOT / "manifests" / "overlays" / "local"


def test_evidence_dir_is_where_local_keeps_its_logs(settings: TargetSettings, tmp_path: Path) -> None:
    target = get_target("local", settings, evidence_dir=tmp_path / "evidence" / "target")
    assert isinstance(target, LocalTarget)
    assert target.logs_dir == tmp_path / "evidence" / "target" / "logs"


def test_local_options_from_the_config() -> None:
    from harness.config import HarnessConfig

    data = {"targets": {"local": {"ready_timeout_s": 5, "env": {"WORKER_CONCURRENCY": 1}}}}
    config = HarnessConfig.from_dict(data, root=ROOT, source="test")
    settings = TargetSettings.from_config(config)
    assert (settings.ready_timeout_s, settings.env) == (5.0, {"WORKER_CONCURRENCY": "1"})


def test_public_api_is_complete() -> None:
    ours = {
        name for name, value in vars(targets).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("harness.targets")
    }
    assert ours <= set(targets.__all__)
    assert all(hasattr(targets, name) for name in targets.__all__)
