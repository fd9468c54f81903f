"""The ``harness`` command: verify, up, down, doctor, report.

Exit codes (the verdict's, see :class:`harness.results.Outcome`): 0 PASSED or PASSED WITH GAPS;
1 FAILED (a gate failed); 2 no verdict: ERROR (the harness or a tool broke), NOTHING VERIFIED, a
target that cannot come up (preflight) or a usage error. A user mistake prints one line naming the
file or option (``harness: error: ...``), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from harness.config import PROFILES, STAGE_NAMES, HarnessConfig
from harness.errors import HarnessError, ReportError
from harness.registry import unknown_name

if TYPE_CHECKING:
    from harness.output import ReportWriter
    from harness.results import RunRecord
    from harness.targets.base import Environment

STATE_DIR = ".harness"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"harness: error: {message} (see: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", metavar="PATH", help="checkout to verify (default: current directory)")
    parser.add_argument("--config", metavar="FILE", help="harness.toml or pyproject.toml to read")


# `harness report` re-renders everything but results.json, its source (the bundle last).
_REPORT_FORMATS = ("junit", "sarif", "markdown", "html", "oscal", "bundle")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description="Verify a cloud app: policy, functional, DAST, load.")
    from harness import __version__

    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    verify = commands.add_parser("verify", help="run the stages and write reports")
    _common(verify)
    verify.add_argument("--target", metavar="SPEC", help="local (default), existing:up.json, kind://...")
    verify.add_argument("--yes-real-cloud", action="store_true", help="confirm an aws:ENV target (billed)")
    verify.add_argument("--stages", metavar="LIST", help=f"comma-separated subset of {','.join(STAGE_NAMES)}")
    verify.add_argument("--profile", choices=PROFILES, help="pr (fast) or nightly (thorough)")
    verify.add_argument("--reports", metavar="DIR", help="where run directories go (default: reports/)")
    verify.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    verify.add_argument("--load-workers", metavar="N", type=int,
                        help="Locust worker processes for every load scenario (distributed mode when > 1; "
                             "[load] processes)")
    verify.add_argument("--dast-seed", metavar="N", type=int,
                        help="replay a DAST run: the seed its report names (default: a fresh seed per run)")
    verify.add_argument("--compare", metavar="RUN",
                        help="compare with a previous run (run id, run directory or results.json): "
                             "comparison.md, a section in summary.md and index.html; exit 1 on new failures")
    verify.add_argument("--no-bundle", action="store_true",
                        help="skip the evidence bundle (reports/<run-id>.tar.gz)")
    up = commands.add_parser("up", help="stand the target up, print endpoints and test users; Ctrl-C stops")
    _common(up)
    up.add_argument("--target", metavar="SPEC")
    up.add_argument("--yes-real-cloud", action="store_true", help="confirm an aws:ENV target (billed)")
    up.add_argument("--json", metavar="PATH", help="also write endpoints and users as JSON")
    down = commands.add_parser("down", help="stop what `harness up` started")
    _common(down)
    down.add_argument("--target", metavar="SPEC")
    doctor = commands.add_parser("doctor", help="which tools are available and which stages they enable")
    doctor.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report = commands.add_parser("report", help="re-render a run's reports from its results.json")
    _common(report)
    report.add_argument("run", nargs="?", help="run id, run directory or 'latest' (default)")
    report.add_argument("--format", metavar="LIST", default=",".join(_REPORT_FORMATS),
                        help="comma-separated formats (default: %(default)s)")
    report.add_argument("--compare", metavar="RUN",
                        help="compare with a previous run (run id, run directory or results.json): print "
                             "the Markdown diff (written files go to stderr), write comparison.md and the "
                             "section in summary.md and index.html; exit 1 on new failures")
    return parser


def load_config(args: argparse.Namespace) -> HarnessConfig:
    root = getattr(args, "root", None)
    if getattr(args, "config", None):
        config = HarnessConfig.from_path(args.config, root=root)
    else:
        config = HarnessConfig.discover(root or ".")
    target = getattr(args, "target", None)
    if getattr(args, "yes_real_cloud", False):  # the aws target reads it as a spec option
        spec = target or config.target
        target = f"{spec}{'&' if '?' in spec else '?'}yes-real-cloud=1"
    return config.update(target=target, stages=getattr(args, "stages", None),
                         profile=getattr(args, "profile", None), reports=getattr(args, "reports", None),
                         dast_seed=getattr(args, "dast_seed", None),
                         load_workers=getattr(args, "load_workers", None))


def load_baseline(ref: str, reports_dir: Path) -> RunRecord:
    """The run to compare with: a run id (or ``latest``) under ``reports_dir``, a run directory or a
    results.json. Raises :class:`ReportError` (a usage error: exit 2) when there is no such run."""
    from harness.results import find_results, load_record

    try:
        return load_record(find_results(ref, reports_dir))
    except ReportError as exc:
        raise ReportError(f"--compare: {exc}") from None


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.engine import Engine
    from harness.output import PlainProgress, ReportWriter, progress_handler
    from harness.reporters import REPORTERS

    config = load_config(args)
    # Before anything is stood up: a mistyped baseline fails in a second, not after the run.
    baseline = load_baseline(args.compare, config.paths.reports) if args.compare else None
    names = [n for n in REPORTERS if n != "bundle"] if args.no_bundle else None
    writer = ReportWriter.for_config(config, names, baseline=baseline)
    progress = PlainProgress() if args.plain else progress_handler()
    engine = Engine(config, handlers=[progress], report_writer=writer)
    engine.run()  # preflight first: a target that cannot come up is one line and exit 2, no stage run
    for error in engine.handler_errors:
        print(f"harness: error: {error}", file=sys.stderr)
    _github_step_summary(engine.run_dir / "summary.md")
    return max(engine.exit_code, _show_comparison(writer))


def _show_comparison(writer: ReportWriter) -> int:
    """Print the comparison with the baseline run, if any, as Markdown; 1 when it shows a regression."""
    if writer.comparison is None:
        return 0
    from harness.reporters.compare import render_markdown

    print(render_markdown(writer.comparison), end="", flush=True)
    return 1 if writer.comparison.has_regression else 0


def _github_step_summary(summary: Path) -> None:
    """On GitHub Actions, show summary.md on the run's page too."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target and summary.is_file():
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(summary.read_text(encoding="utf-8"))


def cmd_report(args: argparse.Namespace) -> int:
    from harness.output import ReportWriter
    from harness.reporters import REPORTERS
    from harness.results import find_results, load_record

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    choices = [name for name in REPORTERS if name != "json"]  # results.json is the source
    unknown = [f for f in formats if f not in choices] or ([] if formats else [""])
    if unknown:
        raise unknown_name("--format", "format", unknown[0], choices)
    config = load_config(args)
    source = find_results(args.run, config.paths.reports)
    record = load_record(source)
    baseline = load_baseline(args.compare, config.paths.reports) if args.compare else None
    # reports/latest is a link: render into the run's own directory, so the bundle is <run-id>.tar.gz
    run_dir = source.parent.resolve()
    writer = ReportWriter.for_config(config, formats, baseline=baseline)
    writer.latest = False
    written = writer.write(record, run_dir)
    for path in dict.fromkeys(written):  # with --compare, stdout is the diff alone (e.g. for a PR comment)
        print(path, file=sys.stderr if baseline is not None else sys.stdout)
    regression = _show_comparison(writer)
    for error in writer.errors:
        print(f"harness: error: report {error}", file=sys.stderr)
    return 2 if writer.errors else regression


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when the main job (./dev verify) can run here, 1 when it cannot."""
    from harness.doctor import capabilities, main_job_line, not_built
    from harness.output import is_ci

    found = capabilities()
    runnable, summary = main_job_line(found)
    if args.json:
        print(json.dumps({"tools": [c.to_dict() for c in found], "not_built": not_built(),
                          "main_job": {"can_run": runnable, "message": summary}}, indent=2))
        return 0 if runnable else 1
    rows = [("ok " if c.found else "-- ", c.name, c.detail, _uses(c)) for c in found]
    rows += [("-- ", f"target {name}", "not built yet", hint) for name, hint in not_built().items()]
    if is_ci(sys.stdout):
        for mark, name, detail, uses in rows:
            print(f"{mark} {name:<20} {detail:<48} {uses}")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="harness doctor")
        for column in ("", "tool", "found", "used by"):
            table.add_column(column)
        for mark, name, detail, uses in rows:
            table.add_row("✅" if mark == "ok " else "❌", name, detail, uses)
        Console().print(table)
    print(f"harness doctor: {summary}")
    return 0 if runnable else 1


def _uses(capability: Any) -> str:
    needs = [f"{n.user} ({'required' if n.required else 'optional'}: {n.why})" for n in capability.used_by]
    return "; ".join(needs) or "nothing in the harness yet"


def _state_file(config: HarnessConfig) -> Path:
    return config.root / STATE_DIR / "up.json"


def cmd_up(args: argparse.Namespace) -> int:
    """Stand the target up through the run's lifecycle and hold it until SIGINT/SIGTERM (or
    ``harness down``); process logs go to the run's evidence dir, no report is written."""
    from harness.engine import Engine
    from harness.output import ReportWriter

    config = load_config(args)
    engine = Engine(config, report_writer=ReportWriter([], latest=False))
    state = _state_file(config)
    with engine.lifecycle(environment=True):  # preflight first: what is missing here, in one line
        try:
            _announce(engine.environment(), args.json, engine.run_dir / "evidence" / "target")
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps({"pid": os.getpid(), "target": config.target}), encoding="utf-8")
            print("up; press Ctrl-C or run `harness down` to stop", flush=True)
            while True:
                time.sleep(1)
        finally:
            state.unlink(missing_ok=True)
    failed = [s.message for s in engine.stages if s.name == "teardown"]
    print(failed[0] if failed else f"target {config.target} down", flush=True)
    return 2 if failed else 0


def _announce(env: Environment, json_path: str | None, logs: Path) -> None:
    print(f"api:   {env.api_url}\nweb:   {env.web_url}\nlogs:  {logs}")
    print(f"aws:   {env.aws.endpoint_url or 'default endpoint'} ({env.aws.region}) buckets: "
          + ", ".join(f"{k}={v}" for k, v in env.aws.buckets.items()))
    for user in env.users:
        print(f"user:  {user.name}  token: {user.token}")
    if json_path:
        from harness.targets.existing import write_environment

        write_environment(env, Path(json_path))  # mode 0600: it holds tokens
        print(f"environment written to {json_path}")


def cmd_down(args: argparse.Namespace) -> int:
    """Stop a running ``harness up``: its lifecycle tears the target down (there is no other)."""
    config = load_config(args)
    state = _state_file(config)
    if state.is_file():
        pid = int(json.loads(state.read_text(encoding="utf-8"))["pid"])
        if _signal_and_wait(pid):
            print(f"stopped `harness up` (pid {pid})")
            return 0
        state.unlink(missing_ok=True)
    print(f"no running `harness up` found for {config.root}; nothing to stop")
    return 0


def _signal_and_wait(pid: int, timeout_s: float = 120.0) -> bool:
    if not _is_harness_up(pid):  # stale state file; the pid may belong to someone else by now
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _is_harness_up(pid):
            return True
        time.sleep(0.2)
    raise HarnessError(f"`harness up` (pid {pid}) did not stop within {timeout_s:.0f}s")


def _is_harness_up(pid: int) -> bool:
    """Whether ``pid`` still runs a ``harness`` command (an exited child that was not reaped yet
    counts as gone)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and "harness" in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "verify": cmd_verify, "up": cmd_up, "down": cmd_down, "doctor": cmd_doctor, "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error(f"a command is required ({', '.join(COMMANDS)})")
        return COMMANDS[args.command](args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("HARNESS_DEBUG"):
            raise
        print(f"harness: internal error: {type(exc).__name__}: {exc} (HARNESS_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 2


def entry_point() -> NoReturn:
    """The ``harness`` console script: :func:`main`, then exit with its code.

    After a run that a signal interrupted (torn down, its reports saying exit 2), one more Ctrl-C
    while the interpreter shuts down killed the process by SIGINT (exit -2/130, "crashed"): CPython's
    finalization puts its signal handlers back to SIG_DFL, so no handler of ours can catch it. An
    ignored signal stays ignored, so such a process ignores further stop signals on its way out.
    """
    from harness.targets.lifecycle import HELD, stop_signals_received

    code = main()
    if stop_signals_received():
        for held in HELD:
            signal.signal(held, signal.SIG_IGN)
    sys.exit(code)


__all__ = ["build_parser", "entry_point", "load_baseline", "load_config", "main"]
