"""A wrong ``[policy]`` or ``[dast]`` option stops every driver at config load: one line naming the file
and the key, exit 2, and no target was stood up (it used to surface when the stage started, after the
target had come up — or, before that, a typo was silently ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.core.conftest import StageRegistrar
from tests.harness.core.test_cli import run_cli
from tests.harness.core.test_config import BAD_STAGE_OPTIONS
from tests.harness.core.test_plugin import FAKE_TARGET_CONFTEST, target_log

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[3]
# One of each kind: a misspelt key, a wrong type, a key inside a profile table, one inside [dast.login].
CASES = [BAD_STAGE_OPTIONS[0], BAD_STAGE_OPTIONS[1], BAD_STAGE_OPTIONS[5], BAD_STAGE_OPTIONS[8],
         BAD_STAGE_OPTIONS[9], BAD_STAGE_OPTIONS[12]]


def _no_target(config: object, **kwargs: object) -> object:
    raise AssertionError("a target was made although the config is wrong")


@pytest.mark.parametrize("command", [["verify"], ["verify", "--stages", "policy"], ["up"]])
@pytest.mark.parametrize(("text", "message"), CASES)
def test_the_cli_refuses_before_any_target_comes_up(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    use_stages: StageRegistrar, command: list[str], text: str, message: str,
) -> None:
    (project / "harness.toml").write_text(text + "\n", encoding="utf-8")
    monkeypatch.setattr("harness.engine.default_target_factory", _no_target)  # `up` would block on one
    use_stages(policy="PassingStage", functional="EnvStage", dast="EnvStage")
    code, _, err = run_cli(capsys, *command)
    assert (code, err) == (2, f"harness: error: {message}\n")
    assert not (project / "reports").exists()


@pytest.mark.parametrize(("text", "message"), CASES[::2])
def test_the_pytest_plugin_refuses_before_any_target_comes_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.syspath_prepend(str(ROOT))
    pytester.makefile(".toml", harness=text)
    pytester.makeconftest(FAKE_TARGET_CONFTEST)
    result = pytester.runpytest("--harness-stages", "dast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: harness: {message}" in result.stderr.lines
    assert target_log(pytester) == []
