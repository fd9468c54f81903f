"""pytest plugin: the second driver of the harness engine (auto-loaded through the ``pytest11`` entry point).

Cheap and inert unless used: nothing beyond pytest is imported until a ``--harness-*`` option is
given or a ``harness_*`` fixture is requested.

* Options: ``--harness-target``, ``--harness-stages``, ``--harness-profile``, ``--harness-root``,
  ``--harness-load-workers N`` (the CLI's ``--load-workers``: Locust workers, the target's own when
  it runs them, e.g. a Job on kind/aws; validated the same way, the error naming this option).
* Fixtures: ``harness_config``; ``harness_environment`` (session-scoped, stands the target up on
  first request; under pytest-xdist each worker gets its own environment).
* ``--harness-stages policy,functional`` adds one test item per stage (``harness::policy``).
* One run per session (per xdist worker): the engine's lifecycle owns the target, from the first
  stage item or ``harness_environment`` request to the session's end, so the fixture's environment
  keeps its process logs in the run's evidence dir and shares the run's redactor; the usual
  reports are written at the end. pytest owns the signals: a Ctrl-C reaches the lifecycle as the
  interrupt it records.
* Hooks: ``pytest_harness_make_target`` and ``pytest_harness_reporters`` (both ``firstresult``;
  our defaults are ``trylast``), so a conftest can replace the target or the reporters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import ExitStack

    from harness.config import HarnessConfig
    from harness.engine import Engine
    from harness.redact import Redactor
    from harness.reporters import Reporter
    from harness.results import Result, StageSummary
    from harness.targets.base import Environment, Target


class HarnessHookSpecs:
    """Hooks a conftest.py or plugin may implement."""

    @pytest.hookspec(firstresult=True)
    def pytest_harness_make_target(self, harness_config: HarnessConfig, evidence_dir: Path,
                                   redactor: Redactor) -> Target | None:
        """Return the Target to stand up (default: the registry's target for ``harness_config.target``,
        its process logs under ``evidence_dir``, its secrets registered with the run's ``redactor``)."""
        raise NotImplementedError

    @pytest.hookspec(firstresult=True)
    def pytest_harness_reporters(self, harness_config: HarnessConfig) -> list[Reporter] | None:
        """Return the reporters that write the run's reports (default: every registered reporter)."""
        raise NotImplementedError


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(HarnessHookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "cloud-verify-harness")
    group.addoption("--harness-target", metavar="SPEC",
                    help="target to stand up (default: from harness.toml)")
    group.addoption("--harness-stages", metavar="LIST",
                    help="run these harness stages as test items, e.g. policy,functional")
    group.addoption("--harness-profile", metavar="NAME", help="pr or nightly")
    group.addoption("--harness-root", metavar="PATH", help="checkout to verify (default: pytest's rootdir)")
    group.addoption("--harness-load-workers", metavar="N",
                    help="Locust workers for every load scenario (distributed mode when > 1; the target "
                         "runs them: processes locally, a Job on kind/aws; [load] processes)")


_OPTIONS = ("harness_target", "harness_stages", "harness_profile", "harness_root", "harness_load_workers")


class HarnessSession:
    """Per-process state: the config and the run (an engine inside its lifecycle), made on first use."""

    def __init__(self, pytestconfig: pytest.Config) -> None:
        self.pytestconfig = pytestconfig
        self._config: HarnessConfig | None = None
        self.engine: Engine | None = None
        self._lifecycle: ExitStack | None = None

    @property
    def config(self) -> HarnessConfig:
        if self._config is None:
            from harness.config import HarnessConfig, load_workers

            opt = self.pytestconfig.getoption
            root = opt("harness_root") or self.pytestconfig.rootpath
            workers = opt("harness_load_workers")
            self._config = HarnessConfig.discover(root).update(
                target=opt("harness_target"), stages=opt("harness_stages"), profile=opt("harness_profile"),
                load_workers=None if workers is None else load_workers(
                    int(workers) if workers.strip().isdigit() else workers, "--harness-load-workers"))
        return self._config

    def environment(self) -> Environment:
        return self.get_engine().environment()

    def get_engine(self) -> Engine:
        """The session's run, inside the engine's lifecycle (preflight first: a target that cannot
        come up fails every stage item, and nothing runs)."""
        if self.engine is None:
            from contextlib import ExitStack

            from harness.engine import Engine
            from harness.output import ReportWriter

            hook = self.pytestconfig.hook
            reporters = hook.pytest_harness_reporters(harness_config=self.config)
            # Only a session that runs stage items writes reports (the fixture alone verifies nothing).
            staged = bool(self.pytestconfig.getoption("harness_stages", None))
            writer = ReportWriter(reporters or []) if staged else ReportWriter([], latest=False)
            engine = Engine(self.config, report_writer=writer)
            engine.target_factory = lambda config: self._make_target(engine)
            with ExitStack() as stack:
                stack.enter_context(engine.lifecycle(owner=False))
                self._lifecycle = stack.pop_all()
            self.engine = engine
        return self.engine

    def _make_target(self, engine: Engine) -> Target:
        target: Target | None = self.pytestconfig.hook.pytest_harness_make_target(
            harness_config=self.config, evidence_dir=engine.run_dir / "evidence" / "target",
            redactor=engine.redactor)
        assert target is not None, "pytest_harness_make_target returned None"
        return target

    def close(self, *, interrupted: bool = False) -> None:
        """End the run: the lifecycle tears the target down and writes the reports; a session
        that pytest stopped on Ctrl-C reaches it as the interrupt it records."""
        lifecycle, self._lifecycle = self._lifecycle, None
        if lifecycle is None:
            return
        if interrupted:
            lifecycle.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
        else:
            lifecycle.close()


_SESSION = pytest.StashKey[HarnessSession]()


def _session(config: pytest.Config) -> HarnessSession:
    if _SESSION not in config.stash:
        config.stash[_SESSION] = HarnessSession(config)
    return config.stash[_SESSION]


def _used(config: pytest.Config) -> bool:
    return any(config.getoption(name, None) for name in _OPTIONS)


@pytest.hookimpl(trylast=True)
def pytest_harness_make_target(harness_config: HarnessConfig, evidence_dir: Path,
                               redactor: Redactor) -> Target:
    from harness.engine import default_target_factory

    return default_target_factory(harness_config, evidence_dir=evidence_dir, redactor=redactor)


@pytest.hookimpl(trylast=True)
def pytest_harness_reporters(harness_config: HarnessConfig) -> list[Reporter]:
    from harness.output import ReportWriter

    return ReportWriter.for_config(harness_config).reporters


def pytest_configure(config: pytest.Config) -> None:
    if not _used(config):
        return
    try:
        _session(config).config  # noqa: B018 - validate the options now: a usage error, not N test errors
    except HarnessError as exc:
        raise pytest.UsageError(f"harness: {exc}") from None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    if not config.getoption("harness_stages", None):
        return
    for stage in _session(config).config.stages:
        node = f"harness::{stage}"
        items.append(HarnessStageItem.from_parent(session, name=node, nodeid=node, stage=stage))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SESSION in session.config.stash:
        session.config.stash[_SESSION].close(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    engine = config.stash[_SESSION].engine if _SESSION in config.stash else None
    if engine is not None and engine.record is not None and engine.stages:
        verdict = engine.record.verdict.status.value
        terminalreporter.write_line(f"harness: {verdict} (exit {engine.exit_code}); "
                                    f"report: {engine.run_dir / 'summary.md'}")


class HarnessStageFailed(HarnessError):
    """A stage item failed: the system broke a rule (failed) or the harness broke (error)."""

    def __init__(self, summary: StageSummary, results: list[Result]) -> None:
        super().__init__(summary.message)
        self.summary = summary
        self.results = results


class HarnessStageItem(pytest.Item):
    """One harness stage run by the engine as a pytest test item."""

    def __init__(self, *, stage: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage = stage

    def runtest(self) -> None:
        from harness.results import Status

        engine = _session(self.config).get_engine()
        summary = engine.run_stage(self.stage)
        if summary.status is Status.SKIPPED:
            pytest.skip(summary.message)
        if summary.status in (Status.FAILED, Status.ERROR):
            bad = [r for r in engine.results if r.stage == self.stage and r.status in (Status.FAILED,
                                                                                      Status.ERROR)]
            raise HarnessStageFailed(summary, bad)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, HarnessStageFailed):
            failure = excinfo.value
            lines = [f"stage {self.stage} {failure.summary.status.value}: {failure.summary.message}"]
            from harness.output import result_line

            lines += [f"  {result_line(r)}" for r in failure.results]
            return "\n".join(lines)
        if isinstance(excinfo.value, HarnessError):  # preflight: one line, no traceback
            return f"harness: {excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"harness stage {self.stage}"


@pytest.fixture(scope="session")
def harness_config(pytestconfig: pytest.Config) -> HarnessConfig:
    """The HarnessConfig for this test session (harness.toml + ``--harness-*`` options)."""
    return _session(pytestconfig).config


@pytest.fixture(scope="session")
def harness_environment(pytestconfig: pytest.Config) -> Iterator[Environment]:
    """The running system under test, stood up on first use and torn down at session end."""
    session = _session(pytestconfig)
    yield session.environment()
    session.close()
