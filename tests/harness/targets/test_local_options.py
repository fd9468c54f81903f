"""[targets.local] in harness.toml: checked by the config schema, and time_scale reaches the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import HarnessConfig
from harness.errors import ConfigError
from harness.targets import get_target
from harness.targets.local import LocalTarget


def config(tmp_path: Path, table: str) -> HarnessConfig:
    (tmp_path / "harness.toml").write_text(f"[targets.local]\n{table}\n", encoding="utf-8")
    return HarnessConfig.discover(tmp_path)


def test_time_scale_from_the_config_and_the_spec_option_wins(tmp_path: Path) -> None:
    cfg = config(tmp_path, "time_scale = 40")
    target = get_target("local", cfg)
    assert isinstance(target, LocalTarget) and target.time_scale == 40.0
    target = get_target("local?time_scale=5", cfg)
    assert isinstance(target, LocalTarget) and target.time_scale == 5.0


@pytest.mark.parametrize(("table", "key"), [("time_scal = 4", "time_scal"), ("time_scale = 0", "time_scale"),
                                            ("aws_emulator = 'minio'", "aws_emulator")])
def test_a_wrong_key_is_named_with_its_file(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"harness\.toml: .*{key}"):
        config(tmp_path, table)
