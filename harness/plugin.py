"""pytest plugin: the second driver of the harness engine (auto-loaded through the ``pytest11`` entry point).

Cheap and inert unless used: nothing beyond pytest is imported until a ``--harness-*`` option is
given or a ``harness_*`` fixture is requested.

* Options: ``--harness-target``, ``--harness-stages``, ``--harness-profile``, ``--harness-root``.
* Fixtures: ``harness_config``; ``harness_environment`` (session-scoped, stands the target up on
  first request; under pytest-xdist each worker gets its own environment).
* ``--harness-stages policy,functional`` adds one test item per stage (``harness::policy``); the
  stages run through the engine, which writes the usual reports (one run per xdist worker).
* Hooks: ``pytest_harness_make_target`` and ``pytest_harness_reporters`` (both ``firstresult``;
  our defaults are ``trylast``), so a conftest can replace the target or the reporters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.config import HarnessConfig
    from harness.engine import Engine
    from harness.reporters import Reporter
    from harness.results import Result, StageSummary
    from harness.targets.base import Environment, Target


class HarnessHookSpecs:
    """Hooks a conftest.py or plugin may implement."""

    @pytest.hookspec(firstresult=True)
    def pytest_harness_make_target(self, harness_config: HarnessConfig) -> Target | None:
        """Return the Target to stand up (default: the registry's target for ``harness_config.target``)."""
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


_OPTIONS = ("harness_target", "harness_stages", "harness_profile", "harness_root")


class HarnessSession:
    """Per-process state: the config, the (lazily stood up) target and the engine."""

    def __init__(self, pytestconfig: pytest.Config) -> None:
        self.pytestconfig = pytestconfig
        self._config: HarnessConfig | None = None
        self._target: Target | None = None
        self._environment: Environment | None = None
        self.engine: Engine | None = None

    @property
    def config(self) -> HarnessConfig:
        if self._config is None:
            from harness.config import HarnessConfig

            opt = self.pytestconfig.getoption
            root = opt("harness_root") or self.pytestconfig.rootpath
            self._config = HarnessConfig.discover(root).update(
                target=opt("harness_target"), stages=opt("harness_stages"), profile=opt("harness_profile"))
        return self._config

    def environment(self) -> Environment:
        if self._environment is None:
            from harness.redact import register_secret

            if self._target is None:
                hook = self.pytestconfig.hook
                self._target = hook.pytest_harness_make_target(harness_config=self.config)
                assert self._target is not None, "pytest_harness_make_target returned None"
            self._environment = self._target.up()
            register_secret(*(u.token for u in self._environment.users))
        return self._environment

    def preflight(self) -> None:
        """The session's target checks itself before any stage runs (once per session)."""
        if self._environment is None and self._target is None:
            self._target = self.pytestconfig.hook.pytest_harness_make_target(harness_config=self.config)
            assert self._target is not None, "pytest_harness_make_target returned None"
        check = getattr(self._target, "preflight", None)
        if self._environment is None and callable(check):
            check()

    def get_engine(self) -> Engine:
        if self.engine is None:
            from harness.engine import Engine
            from harness.output import ReportWriter

            reporters = self.pytestconfig.hook.pytest_harness_reporters(harness_config=self.config)
            engine = Engine(self.config, target_factory=lambda _config: _SharedTarget(self),
                            report_writer=ReportWriter(reporters or []))
            engine.preflight()  # a target that cannot come up fails every stage item, and nothing runs
            self.engine = engine
            self.engine.begin()
        return self.engine

    def close(self) -> None:
        """Finish the engine's run (reports), then tear the shared target down."""
        try:
            if self.engine is not None:
                self.engine.finish()
        finally:
            target, self._target, self._environment = self._target, None, None
            if target is not None:
                target.down()


class _SharedTarget:
    """Gives the engine the session's environment; the session, not the engine, tears it down."""

    NAME = "shared"

    def __init__(self, session: HarnessSession) -> None:
        self.session = session

    def preflight(self) -> None:
        self.session.preflight()

    def up(self) -> Environment:
        return self.session.environment()

    def down(self) -> None:
        return None


_SESSION = pytest.StashKey[HarnessSession]()


def _session(config: pytest.Config) -> HarnessSession:
    if _SESSION not in config.stash:
        config.stash[_SESSION] = HarnessSession(config)
    return config.stash[_SESSION]


def _used(config: pytest.Config) -> bool:
    return any(config.getoption(name, None) for name in _OPTIONS)


@pytest.hookimpl(trylast=True)
def pytest_harness_make_target(harness_config: HarnessConfig) -> Target:
    from harness.engine import default_target_factory

    return default_target_factory(harness_config)


@pytest.hookimpl(trylast=True)
def pytest_harness_reporters(harness_config: HarnessConfig) -> list[Reporter]:
    from harness.output import ReportWriter

    return ReportWriter.for_config(harness_config).reporters


def pytest_configure(config: pytest.Config) -> None:
    if not _used(config):
        return
    from harness.errors import HarnessError

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


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _SESSION in session.config.stash:
        session.config.stash[_SESSION].close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    engine = config.stash[_SESSION].engine if _SESSION in config.stash else None
    if engine is not None and engine.record is not None:
        from harness.output import verdict

        terminalreporter.write_line(f"harness: {verdict(engine.record)} (exit {engine.exit_code}); "
                                    f"report: {engine.run_dir / 'summary.md'}")


class HarnessStageFailed(Exception):
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
        from harness.errors import HarnessError

        if isinstance(excinfo.value, HarnessError):  # preflight: one line, no traceback
            return f"harness: {excinfo.value}"
        if isinstance(excinfo.value, HarnessStageFailed):
            failure = excinfo.value
            lines = [f"stage {self.stage} {failure.summary.status.value}: {failure.summary.message}"]
            from harness.output import result_line

            lines += [f"  {result_line(r)}" for r in failure.results]
            return "\n".join(lines)
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
