"""The terraform runner: settings, JSON diagnostics, timeouts and cancellation, with the real binary
where it needs no provider (fast) and a stand-in binary for the process-control cases."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.config import HarnessConfig
from harness.errors import ConfigError, MissingToolError
from harness.iac.terraform_cli import Diagnostic, TerraformError, TerraformRunner, TerraformSettings

needs_terraform = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")


def test_plugin_dir_comes_from_the_environment_before_the_file(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text('[terraform]\nplugin_dir = "mirror"\ntimeout_s = 30\n')
    config = HarnessConfig.discover(tmp_path)
    from_file = TerraformSettings.from_config(config, environ={})
    assert (from_file.plugin_dir, from_file.timeout_s) == (tmp_path / "mirror", 30.0)
    assert TerraformSettings.from_config(config, environ={"TF_PLUGIN_DIR": "/m"}).plugin_dir == Path("/m")
    assert TerraformSettings.from_config(None, environ={}).plugin_dir is None  # terraform's own default


def test_an_unknown_terraform_key_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text('[terraform]\nplugin_dirs = "x"\n')
    with pytest.raises(ConfigError, match=r"terraform: unknown key 'plugin_dirs'"):
        HarnessConfig.discover(tmp_path)


def test_a_missing_binary_says_how_to_install(tmp_path: Path) -> None:
    runner = TerraformRunner(TerraformSettings(binary="no-such-terraform-here"), tmp_path)
    with pytest.raises(MissingToolError, match=r"'no-such-terraform-here' not found on PATH") as info:
        runner.run(["version"])
    assert "install Terraform" in str(info.value)


def test_diagnostic_locations_fold_module_paths() -> None:
    found = Diagnostic.from_json({"severity": "error", "summary": "Bad", "detail": "very",
                                  "range": {"filename": "../../modules/m/main.tf", "start": {"line": 7}}})
    assert found.location("terraform/envs/x") == "terraform/modules/m/main.tf:7"
    assert found.text() == "Bad: very"
    assert Diagnostic.from_json({"summary": "no range"}).location("terraform") is None


@needs_terraform
def test_validate_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('variable "x" {}\n\noutput "y" {\n  value = var.nope\n}\n')
    runner = TerraformRunner(TerraformSettings(), tmp_path, log=tmp_path / "tf.log")
    runner.init(backend=False)
    done = runner.validate()
    assert done.returncode == 1
    assert [(d.summary, d.location("envs/x")) for d in done.errors] == [
        ("Reference to undeclared input variable", "envs/x/main.tf:4")]
    assert "validate -json" in (tmp_path / "tf.log").read_text()


@needs_terraform
def test_a_failed_command_raises_with_its_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "y" {\n  value = var.nope\n}\n')
    runner = TerraformRunner(TerraformSettings(), tmp_path)
    with pytest.raises(TerraformError, match=r"terraform apply failed \(exit 1\): Reference to undeclared"):
        runner.apply()


def _sleeper(tmp_path: Path) -> TerraformSettings:
    """A 'terraform' that never answers, with a child of its own (like a provider plugin)."""
    script = tmp_path / "slow-terraform"
    script.write_text("#!/bin/sh\nsleep 300 &\nsleep 300\n")
    script.chmod(0o755)
    return TerraformSettings(binary=str(script), timeout_s=1)


def _sleepers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "sleep" in p.name()]


def test_a_command_that_hangs_is_stopped_with_its_children(tmp_path: Path) -> None:
    runner = TerraformRunner(_sleeper(tmp_path), tmp_path)
    with pytest.raises(TerraformError, match=r"terraform apply: no answer after 1s \(stopped\)"):
        runner.apply()
    assert _sleepers() == []


def test_cancel_stops_the_running_command_and_refuses_new_ones(tmp_path: Path) -> None:
    settings = _sleeper(tmp_path)
    runner = TerraformRunner(TerraformSettings(settings.binary, timeout_s=60), tmp_path)
    threading.Timer(0.5, runner.cancel).start()
    started = time.monotonic()
    with pytest.raises(TerraformError):
        runner.apply()
    assert time.monotonic() - started < 30 and _sleepers() == []
    with pytest.raises(TerraformError, match="cancelled"):
        runner.apply()
