from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.harness.core.conftest import StageRegistrar

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[3]

FAKE_TARGET_CONFTEST = """
from pathlib import Path
import pytest
from tests.harness.core.fakes import FakeTarget

@pytest.hookimpl
def pytest_harness_make_target(harness_config):
    return FakeTarget(log=Path(__file__).parent / "target.log")
"""


@pytest.fixture
def tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # xdist workers import the fakes too
    monkeypatch.syspath_prepend(str(ROOT))
    pytester.makefile(".toml", harness='profile = "pr"\n')
    return pytester


def target_log(pytester: pytest.Pytester) -> list[list[str]]:
    path = pytester.path / "target.log"
    return [line.split() for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_options_are_registered(tester: pytest.Pytester) -> None:
    result = tester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*cloud-verify-harness*",
            "*--harness-target=SPEC*",
            "*--harness-stages=LIST*",
            "*--harness-profile=NAME*",
            "*--harness-root=PATH*",
            "*--harness-load-workers=N*",
        ]
    )


def test_harmless_when_unused(tester: pytest.Pytester) -> None:
    tester.makepyfile("def test_plain():\n    assert True\n")
    result = tester.runpytest()
    result.assert_outcomes(passed=1)
    assert not (tester.path / "reports").exists()
    assert "harness:" not in result.stdout.str()


def test_harness_config_fixture_reads_toml_and_options(tester: pytest.Pytester) -> None:
    tester.makepyfile(
        """
        def test_config(harness_config):
            assert harness_config.profile == "nightly"
            assert harness_config.target == "existing:up.json"
            assert harness_config.root.name == "ROOTNAME"
        """.replace("ROOTNAME", tester.path.name)
    )
    result = tester.runpytest("--harness-profile", "nightly", "--harness-target", "existing:up.json")
    result.assert_outcomes(passed=1)


def test_bad_option_is_a_usage_error(tester: pytest.Pytester) -> None:
    result = tester.runpytest("--harness-stages", "policy,fuzz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*harness: --stages: 'fuzz' is not one of policy, functional, dast, load*"])


def test_load_workers_from_the_plugin_set_the_locust_processes(tester: pytest.Pytester) -> None:
    tester.makepyfile("def test_workers(harness_config):\n    assert harness_config.load['processes'] == 3\n")
    tester.runpytest("--harness-load-workers", "3").assert_outcomes(passed=1)


@pytest.mark.parametrize("bad", ["0", "two", "-1", "1.5"])
def test_bad_load_workers_is_a_usage_error_naming_the_plugins_option(
    tester: pytest.Pytester, bad: str
) -> None:
    result = tester.runpytest(f"--harness-load-workers={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = f"*harness: --harness-load-workers: expected a whole number >= 1, got*{bad}*"
    result.stderr.fnmatch_lines([expected])


def test_environment_is_lazy_shared_and_torn_down(tester: pytest.Pytester) -> None:
    tester.makeconftest(FAKE_TARGET_CONFTEST)
    tester.makepyfile(
        """
        def test_no_env():
            pass

        def test_env(harness_environment):
            assert harness_environment.api_url == "http://127.0.0.1:1/api"

        def test_env_again(harness_environment):
            assert harness_environment.users[0].name == "alice"
        """
    )
    result = tester.runpytest("-p", "no:randomly", "-k", "no_env")
    result.assert_outcomes(passed=1, deselected=2)
    assert target_log(tester) == []  # never stood up when no test asks for it
    result = tester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)
    assert [entry[0] for entry in target_log(tester)] == ["up", "down"]


def test_the_target_logs_into_the_run_evidence_and_shares_its_redactor(tester: pytest.Pytester) -> None:
    """The fixture's environment is part of the session's run (issue 18: it had no evidence dir)."""
    tester.makeconftest(
        """
        from pathlib import Path
        import pytest
        from tests.harness.core.fakes import FakeTarget

        @pytest.hookimpl
        def pytest_harness_make_target(harness_config, evidence_dir, redactor):
            redactor.register("s3cr3t-from-the-target")
            (Path(__file__).parent / "evidence_dir.txt").write_text(str(evidence_dir))
            return FakeTarget()
        """
    )
    tester.makepyfile(
        """
        def test_env(harness_environment, request):
            engine = request.config.stash[__import__("harness.plugin").plugin._SESSION].engine
            assert "s3cr3t-from-the-target" in engine.redactor.secrets
        """
    )
    result = tester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    evidence = Path((tester.path / "evidence_dir.txt").read_text())
    assert evidence.parent.name == "evidence" and evidence.name == "target"
    assert evidence.parent.parent.parent == tester.path / "reports"  # reports/<run-id>/evidence/target


@pytest.mark.slow  # three fresh interpreters loading every installed pytest plugin
def test_each_xdist_worker_gets_its_own_environment(tester: pytest.Pytester) -> None:
    tester.makeconftest(FAKE_TARGET_CONFTEST)
    tester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_env(harness_environment, n):
            assert harness_environment.target == "fake"
        """
    )
    result = tester.runpytest_subprocess("-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=4)
    log = target_log(tester)
    ups = {worker for what, _pid, worker in log if what == "up"}
    downs = {worker for what, _pid, worker in log if what == "down"}
    assert ups == downs == {"gw0", "gw1"}


def test_stages_run_as_items_and_write_reports(tester: pytest.Pytester, use_stages: StageRegistrar) -> None:
    use_stages(policy="FailingStage", functional="EnvStage", dast="NotBuiltYet")
    tester.makeconftest(FAKE_TARGET_CONFTEST)
    result = tester.runpytest("--harness-stages", "policy,functional,dast", "-rA")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] *stage 'dast' is not built yet*",
            "FAILED harness::policy - stage policy failed: 1 passed, 1 failed",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["PASSED harness::functional"])
    result.stdout.fnmatch_lines(
        [
            "*stage policy failed: 1 passed, 1 failed*",
            "*FAILED CKV_AWS_21 terraform/s3.tf:3: bucket uploads has no versioning*",
            "*harness: FAILED (exit 1); report: *summary.md",
        ]
    )
    data = json.loads((tester.path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert [s["name"] for s in data["stages"]] == ["policy", "functional", "dast"]
    assert [entry[0] for entry in target_log(tester)] == ["up", "down"]


def test_reporters_hook_replaces_the_reporters(tester: pytest.Pytester, use_stages: StageRegistrar) -> None:
    use_stages(policy="PassingStage")
    tester.makeconftest(
        """
        import pytest

        class OnlyCounts:
            NAME = "counts"
            def write(self, record, run_dir):
                path = run_dir / "counts.txt"
                path.write_text(str(record.counts()["passed"]))
                return [path]

        @pytest.hookimpl
        def pytest_harness_reporters(harness_config):
            return [OnlyCounts()]
        """
    )
    result = tester.runpytest("--harness-stages", "policy")
    result.assert_outcomes(passed=1)
    latest = tester.path / "reports" / "latest"
    assert (latest / "counts.txt").read_text(encoding="utf-8") == "1"
    assert not (latest / "results.json").exists()


def test_plugin_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, harness.plugin; print(sorted(m for m in sys.modules if m.startswith('harness')))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert (
        out.strip() == "['harness', 'harness.config', 'harness.errors', 'harness.plugin', 'harness.redact', "
        "'harness.results', 'harness.schemas']"
    )


def test_a_target_that_cannot_come_up_fails_every_stage_item_before_any_runs(
    tester: pytest.Pytester, use_stages: StageRegistrar, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_stages(policy="PassingStage", functional="EnvStage")
    monkeypatch.setenv("PATH", str(tester.path / "no-tools"))  # no kind, no docker: whatever this host has
    result = tester.runpytest("--harness-stages", "policy,functional", "--harness-target", "kind", "-rA")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*harness: target kind cannot run here:*"])
    assert "Traceback" not in result.stdout.str()
    assert not (tester.path / "reports").exists()  # no stage ran, no run was recorded
