"""The engines the stage drives: Schemathesis (always), ZAP (when reachable), sqlmap (to confirm).

Each step turns one tool run into Results. A tool that could not run, or that sent no request, is a
tool summary with status ``error`` (the stage is then ``error``): never a pass.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.results import Result, ResultKind, Severity, Status
from harness.stages.dast import zap as zap_mod
from harness.stages.dast.attack_ssrf import Listener
from harness.stages.dast.findings import STAGE, judge, skipped
from harness.stages.dast.options import PASSIVE_EXCLUDED_CHECKS
from harness.stages.dast.scan_state import ENV_VAR
from harness.stages.dast.schemathesis_run import (
    build_command,
    check_inventory,
    har_responses,
    installed_version,
    junit_findings,
    run_schemathesis,
    write_auth,
)
from harness.stages.dast.spec import ApiSpec

if TYPE_CHECKING:
    from harness.stages.dast.stage import DastRun

SCHEMATHESIS_RUN = ("DAST-schemathesis", "Schemathesis run")  # id and title of each tool's summary
ZAP_SCAN = ("DAST-zap", "ZAP scan")


def summary(
    result_id: str,
    title: str,
    status: Status,
    message: str,
    *,
    started: float | None = None,
    proven_on: str | None = None,
    measured: dict[str, float | int | str] | None = None,
    evidence: list[str] | None = None,
) -> Result:
    """What a tool did, as a ``summary`` result: never evidence, never a pass of any control.

    A broken tool (error) still gates the run; a tool that did not run is skipped with the reason;
    a tool that ran is recorded (requests, seed, mode, version) in ``evidence/dast/run.json`` and
    as a ``passed`` summary, which the verdict does not count as verification.
    """
    return Result(
        id=result_id,
        stage=STAGE,
        title=title,
        status=status,
        severity=Severity.INFO,
        message=message,
        duration_s=time.monotonic() - started if started else 0.0,
        proven_on=proven_on,
        measured=dict(measured or {}),
        evidence=list(evidence or []),
        kind=ResultKind.SUMMARY,
    )


class SchemathesisStep:
    """Schemathesis with the harness' checks in its loop; its own checks judged from its JUnit."""

    def __init__(self, run: DastRun, spec: ApiSpec, spec_file: Path, listener: Listener) -> None:
        self.run_, self.spec, self.spec_file, self.listener = run, spec, spec_file, listener
        self.report_dir = run.dir / "schemathesis"

    def run(self, budget: int) -> list[Result]:
        started, options, st = time.monotonic(), self.run_.options, self.run_.options.schemathesis
        findings_file = self.report_dir / "harness-findings.jsonl"
        self.report_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="harness-st-") as private:
            scan = Path(private) / "scan.json"
            self.run_.scan_config(self.spec, self.spec_file, findings_file, budget, self.listener.url).write(
                scan
            )
            auth = write_auth(Path(private), self.run_.users, options.login, self.run_.api_url,
                              self.run_.ctx.app_profile)
            root = self.run_.api_url + self.spec.base_path
            command = build_command(str(self.spec_file), root, st, self.report_dir.resolve(), auth)
            try:
                done = run_schemathesis(
                    command, st, self.report_dir, cwd=Path(private), env={ENV_VAR: str(scan)}
                )
            except Exception as exc:  # StageError, or the process could not start: a tool error
                return [summary(*SCHEMATHESIS_RUN, Status.ERROR, str(exc), started=started,
                                proven_on=f"Schemathesis {installed_version()}")]
        self.run_.records.read(findings_file)
        return self._results(done, started, budget)

    def _results(self, done: Any, started: float, budget: int) -> list[Result]:
        version = f"Schemathesis {done.version}"
        self.run_.versions["schemathesis"] = done.version
        har = har_responses(done.har) if done.har else []
        self.run_.responses += har
        evidence = [self.run_.rel(p) for p in (done.junit, done.har) if p is not None]
        stopped = self._stopped(done, budget)
        measured: dict[str, float | int | str] = {
            "requests": len(har),
            "harness_probe_requests": self.run_.records.probe_requests,
            "wall_s": round(done.duration_s, 1),
            "seed": self.run_.options.seed,
            "max_examples": self.run_.options.schemathesis.max_examples,
            "scan_mode": self.run_.mode,
            "request_budget": budget,
            "stopped": stopped,
        }
        findings, errors = junit_findings(done.junit, self.run_.api_url)
        for finding in findings:
            finding.url = self.spec.template_url(finding.url) if finding.url else None
            finding.proven_on = version
        if not har:
            errors.append("Schemathesis sent no request")
        self.run_.ran.add("schemathesis")
        replay = self._message(stopped)
        self.run_.tool_facts("schemathesis", {**measured, "version": done.version, "evidence": evidence,
                                              "replay": replay})
        done_as = f"{len(har)} requests ({self.run_.mode} mode, seed {measured['seed']})"
        status = Status.ERROR if errors else Status.PASSED
        tool = summary(*SCHEMATHESIS_RUN, status, "\n".join(errors) or done_as, started=started,
                       proven_on=version, measured=measured, evidence=evidence)
        unrun = self._unrun()
        inventory = check_inventory()
        for check in inventory:
            check.proven_on = version
        judged = judge(
            [c for c in inventory if c.result_id not in unrun], findings, self.run_.rules, evidence=evidence
        )
        return [tool, *judged, *(skipped(c, unrun[c.result_id]) for c in inventory if c.result_id in unrun)]

    def _message(self, stopped: str) -> str:
        options = self.run_.options
        replay = "" if options.seed_given else " (fresh this run)"
        return (
            f"{self.run_.mode} mode; seed {options.seed}{replay}: replay with --dast-seed {options.seed}; "
            f"{stopped}"
        )

    def _stopped(self, done: Any, budget: int) -> str:
        if self.run_.records.budget:
            return f"stopped at the request budget ({budget}): " + "; ".join(self.run_.records.budget)
        if done.timed_out:
            return f"stopped at the time budget ({self.run_.options.max_seconds}s)"
        return str(done.report.get("stop_reason") or "completed")

    def _unrun(self) -> dict[str, str]:
        """Schemathesis checks that had nothing to run on here, and why (never reported as passed)."""
        options, ops = self.run_.options, self.spec.operations()
        skipped: dict[str, str] = {}
        if not options.active:
            skipped |= {f"ST-{n}": f"passive mode ({options.mode_reason})" for n in PASSIVE_EXCLUDED_CHECKS}
        methods = {o.method for o in ops}
        needs = {
            "use_after_free": ("DELETE" in methods, "no DELETE operation in the document"),
            "ensure_resource_availability": (
                "POST" in methods and any(o.params("path") for o in ops),
                "no POST and GET-by-id pair in the document",
            ),
            "ignored_auth": (any(o.secured for o in ops), "no operation declares security"),
            "missing_required_header": (
                any(p.get("required") for o in ops for p in o.params("header")),
                "no operation declares a required header",
            ),
            "object_level_authorization": (
                len(self.run_.users) >= 2,
                f"needs two test users (the environment has {len(self.run_.users)})",
            ),
            "max_response_time": (bool(options.schemathesis.max_response_time_s), "no response-time budget"),
        }
        for name, (applies, why) in needs.items():
            if not applies:
                skipped.setdefault(f"ST-{name}", why)
        return skipped


class ZapStep:
    """ZAP (zapv2): an existing daemon, or ``zap.sh -daemon`` started here, or skipped with the reason."""

    def __init__(self, run: DastRun, listener: Listener) -> None:
        self.run_, self.listener = run, listener

    def run(self) -> list[Result]:
        started = time.monotonic()
        where = zap_mod.locate_zap(self.run_.options.raw)
        if isinstance(where, str):
            return [summary(*ZAP_SCAN, Status.SKIPPED, where, started=started,
                            proven_on=f"harness DAST stage {__version__}")]
        try:
            if where.api_url:
                return self._scan(where, started)
            with zap_mod.zap_daemon(where.origin, self.run_.dir / "zap") as endpoint:
                return self._scan(endpoint, started)
        except Exception as exc:  # a ZAP that cannot start or answer is a tool error, never a pass
            return [summary(*ZAP_SCAN, Status.ERROR, f"{type(exc).__name__}: {exc}", started=started,
                            proven_on="ZAP")]

    def _scan(self, endpoint: zap_mod.ZapEndpoint, started: float) -> list[Result]:
        run = self.run_
        options = run.options.zap
        options.exclude = [
            *options.exclude,
            *(zap_mod.path_regex(p) for _, p in run.options.exclusions.entries),
        ]
        app = run.ctx.app_profile
        auth = (app.auth_header, app.auth_value(run.users[0].token)) if run.users else None
        outcome = zap_mod.ZapScan(zap_mod.client(endpoint), options).run(
            run.api_url, f"{self.listener.url}/openapi.json", auth, run.dir / "zap"
        )
        version = f"ZAP {outcome.measured.get('zap_version', 'unknown')}"
        evidence = [run.rel(p) for p in outcome.reports]
        findings = zap_mod.alert_findings(outcome.alerts, run.ctx.redactor.redact)
        for finding in findings:
            finding.proven_on = version
        sent = int(outcome.measured.get("zap_messages", -1))
        mode = "active" if options.active else "passive"
        run.tool_facts(
            "zap", {**outcome.measured, "via": endpoint.origin, "scan": mode, "evidence": evidence}
        )
        tool = summary(*ZAP_SCAN, Status.ERROR if sent == 0 else Status.PASSED,
                       "ZAP sent no request" if sent == 0 else f"{mode} scan, {sent} messages",
                       started=started, proven_on=version, measured=dict(outcome.measured), evidence=evidence)
        return [tool, *judge([], findings, run.rules, evidence=evidence)]


__all__ = ["SchemathesisStep", "ZapStep", "summary"]
