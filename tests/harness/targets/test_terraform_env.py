"""TerraformEnv's background apply, with the real terraform binary and its built-in provider
(``terraform_data`` + ``local-exec``: no provider to install, seconds per apply).

The observation is Terraform's own: which outputs its state holds while the apply still runs, and
how the apply process ends (its exit status and diagnostics), never a value we computed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.iac.terraform_cli import TerraformError, TerraformSettings
from harness.targets.terraform_env import TerraformEnv, declared_outputs

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform not on PATH")

# `usable` is what the output needs; `marker` completes after it, so Terraform writes a state that
# holds the output while `slow` still runs (the local backend writes after every resource).
ENV = """
resource "terraform_data" "usable" {
  input = "ready-value"
}

resource "terraform_data" "marker" {
  depends_on = [terraform_data.usable]
  provisioner "local-exec" {
    command = "sleep 1"
  }
}

resource "terraform_data" "slow" {
  depends_on = [terraform_data.usable]
  provisioner "local-exec" {
    command = "%s"
  }
}

output "name" {
  value = terraform_data.usable.output
}
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))


def _env(tmp_path: Path, slow_command: str) -> TerraformEnv:
    source = tmp_path / "src" / "env"
    source.mkdir(parents=True)
    (source / "main.tf").write_text(ENV % slow_command)
    return TerraformEnv(source, tmp_path / "run", TerraformSettings(timeout_s=120), run_id="t-1")


def test_outputs_are_usable_before_the_apply_ends_and_a_later_failure_is_reported(tmp_path: Path) -> None:
    env = _env(tmp_path, "sleep 6; echo lifecycle-broke >&2; exit 3")
    env.start_apply()
    try:
        assert env.wait_usable() == {"name": "ready-value"}
        assert env.running  # the slow resource is still being created
    finally:
        problem = env.settle()
    assert problem is not None
    assert problem.startswith("terraform apply did not complete: terraform apply failed")
    assert "local-exec provisioner error" in problem
    env.destroy()


def test_a_background_apply_that_succeeds_settles_with_no_problem(tmp_path: Path) -> None:
    env = _env(tmp_path, "sleep 2")
    env.start_apply()
    assert env.wait_usable() == {"name": "ready-value"}
    assert env.settle() is None
    assert env.outputs == {"name": "ready-value"}  # `terraform output -json` after the apply
    assert {"init", "usable", "complete"} <= env.timings.keys()
    env.destroy()


def test_a_failure_before_the_outputs_exist_is_raised_by_wait_usable(tmp_path: Path) -> None:
    source = tmp_path / "src" / "env"
    source.mkdir(parents=True)
    (source / "main.tf").write_text('resource "terraform_data" "x" {\n  provisioner "local-exec" {\n'
                                    '    command = "exit 4"\n  }\n}\n\noutput "name" {\n'
                                    '  value = terraform_data.x.id\n}\n')
    env = TerraformEnv(source, tmp_path / "run", TerraformSettings(timeout_s=120), run_id="t-2")
    env.start_apply()
    with pytest.raises(TerraformError, match=r"terraform apply failed"):
        env.wait_usable()
    assert env.settle() is None  # already reported, once
    env.destroy()


def test_cancel_stops_the_background_apply_and_destroy_still_runs(tmp_path: Path) -> None:
    env = _env(tmp_path, "sleep 60")
    env.start_apply()
    env.wait_usable()
    env.cancel()
    assert not env.running
    env.destroy()  # waits for the cancelled apply's state, then destroys what it holds
    assert not env.applied


def test_declared_outputs_lists_the_output_blocks(tmp_path: Path) -> None:
    (tmp_path / "o.tf").write_text('output "a" {\n  value = 1\n}\n\noutput "b" {\n  value = 2\n}\n')
    assert declared_outputs(tmp_path) == {"a", "b"}
