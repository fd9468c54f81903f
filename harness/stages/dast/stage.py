"""The DAST stage: Schemathesis always, ZAP when reachable, our header check on every response seen."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from harness.errors import StageError
from harness.redact import default_redactor
from harness.results import Result, Severity, Status
from harness.stages.base import StageContext
from harness.stages.dast import zap as zap_mod
from harness.stages.dast.findings import STAGE, Finding, judge
from harness.stages.dast.headers import SeenResponse, check_responses
from harness.stages.dast.options import DastOptions, read_options
from harness.stages.dast.reflect import PathTemplates, probe_reflection
from harness.stages.dast.rules import RuleSet, load_rules
from harness.stages.dast.schemathesis_run import (
    check_inventory,
    har_responses,
    junit_findings,
    run_schemathesis,
)
from harness.targets.base import Environment

PROBE_PATHS = ("/", "/openapi.json", "/healthz", "/api/uploads")


class DastStage:
    """Dynamic security testing of the running app (see ``harness/stages/dast/__init__.py``)."""

    NAME = "dast"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> list[Result]:
        env = ctx.environment
        if env is None:
            raise StageError("the dast stage needs a running environment")
        default_redactor().register(*(u.token for u in env.users))
        options = read_options(ctx.config.stage_options("dast"), root=ctx.config.root,
                               policies=ctx.config.paths.policies, profile=ctx.profile, target=env.target)
        rules = load_rules(options.rules_path, default=options.default_action,
                           shown_as=_shown(options.rules_path, ctx.config.root))
        return DastRun(ctx, env, options, rules).execute()


class DastRun:
    def __init__(self, ctx: StageContext, env: Environment, options: DastOptions, rules: RuleSet) -> None:
        self.ctx, self.env, self.options, self.rules = ctx, env, options, rules
        self.dir = ctx.evidence_dir / "dast"
        self.api_url = env.api_url.rstrip("/")
        self.responses: list[SeenResponse] = []
        self.templates = PathTemplates({})
        self.har_evidence: list[str] = []  # the responses the header check read
        self.results: list[Result] = []

    def execute(self) -> list[Result]:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.responses += probe(self.api_url, self.env)
        document = self._openapi()
        self.templates = PathTemplates(document)
        if self.options.active:
            self.results += self._reflection(document)
        self.results += self._schemathesis()
        self.results += self._zap()
        checks, findings = check_responses(self.responses, api_prefix=self.options.api_prefix,
                                           location=self.templates.template)
        self.results += judge(checks, findings, self.rules, evidence=self.har_evidence)
        default_redactor().redact_tree(self.dir)
        return self.results

    def _openapi(self) -> dict[str, Any]:
        try:
            document = httpx.get(f"{self.api_url}/openapi.json", timeout=10.0).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return document if isinstance(document, dict) else {}

    def _reflection(self, document: dict[str, Any]) -> list[Result]:
        token = self.env.users[0].token if self.env.users else None
        with httpx.Client(timeout=10.0) as http:
            check, findings, _ = probe_reflection(http, self.api_url, document, token)
        return judge([check], findings, self.rules)

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.ctx.run_dir))

    def _schemathesis(self) -> list[Result]:
        started = time.monotonic()
        report_dir = self.dir / "schemathesis"
        try:
            run = run_schemathesis(f"{self.api_url}/openapi.json", self.env.users[:2],
                                   self.options.schemathesis, report_dir)
        except StageError as exc:
            return [_tool_result("DAST-schemathesis", "Schemathesis run", Status.ERROR, str(exc), started)]
        assert run.junit is not None  # run_schemathesis guarantees it
        findings, errors = junit_findings(run.junit, self.api_url)
        for finding in findings:
            finding.url = self.templates.template(finding.url) if finding.url else None
        evidence = [self._rel(p) for p in (run.junit, run.har) if p is not None]
        seen = har_responses(run.har) if run.har else []
        self.har_evidence = [self._rel(run.har)] if run.har else []
        self.responses += seen
        st = self.options.schemathesis
        message = "\n".join(errors) if errors else f"ran all checks ({st.phases}; mode {st.mode})"
        summary = _tool_result("DAST-schemathesis", "Schemathesis run",
                               Status.ERROR if errors else Status.PASSED, message, started)
        summary.evidence = evidence
        summary.measured = {"requests": len(seen), "wall_s": round(run.duration_s, 1), "seed": st.seed,
                            "max_examples": st.max_examples, "failures": len(findings),
                            "scan_profile": self.options.scan_profile}
        skipped = self._unrun_checks()
        ran = [c for c in check_inventory() if c.result_id not in skipped]
        judged = judge(ran, findings, self.rules, evidence=evidence)
        not_run = [_tool_result(result_id, f"Schemathesis: {result_id[3:].replace('_', ' ')}",
                                Status.SKIPPED, why, started) for result_id, why in skipped.items()]
        return [summary, *judged, *not_run]

    def _unrun_checks(self) -> dict[str, str]:
        """Checks that did not run, and why (a skipped check is never reported as passed)."""
        skipped = {}
        if len(self.env.users) < 2:
            skipped["ST-object_level_authorization"] = (
                f"needs two test users (the environment has {len(self.env.users)})")
        if not self.options.active:
            skipped["ST-unsupported_method"] = "passive scan profile: undeclared methods are not sent"
        return skipped

    def _zap(self) -> list[Result]:
        started = time.monotonic()
        where = zap_mod.locate_zap(self.options.raw)
        if isinstance(where, str):
            return [_tool_result("DAST-zap", "ZAP scan", Status.SKIPPED, where, started)]
        try:
            if where.api_url:
                return self._zap_scan(where, started)
            with zap_mod.zap_daemon(where.origin, self.dir / "zap") as endpoint:
                return self._zap_scan(endpoint, started)
        except Exception as exc:  # a ZAP that cannot start or answer is a tool error, never a pass
            message = f"{type(exc).__name__}: {exc}"
            return [_tool_result("DAST-zap", "ZAP scan", Status.ERROR, message, started)]

    def _zap_scan(self, endpoint: zap_mod.ZapEndpoint, started: float) -> list[Result]:
        token = self.env.users[0].token if self.env.users else None
        outcome = zap_mod.ZapScan(zap_mod.client(endpoint), self.options.zap).run(
            self.api_url, f"{self.api_url}/openapi.json", token, self.dir / "zap")
        evidence = [self._rel(p) for p in outcome.reports]
        findings: list[Finding] = zap_mod.alert_findings(outcome.alerts, default_redactor().redact)
        summary = _tool_result("DAST-zap", "ZAP scan", Status.PASSED,
                               f"ZAP via {endpoint.origin}; profile {self.options.scan_profile}", started)
        summary.evidence, summary.measured = evidence, dict(outcome.measured)
        return [summary, *judge([], findings, self.rules, evidence=evidence)]


def probe(api_url: str, env: Environment) -> list[SeenResponse]:
    """A few requests of our own (anonymous and as the main user) so the header check always has input."""
    seen: list[SeenResponse] = []
    token = env.users[0].token if env.users else None
    with httpx.Client(timeout=10.0, follow_redirects=False) as http:
        for path in PROBE_PATHS:
            for headers in ({}, {"Authorization": f"Bearer {token}"} if token else None):
                if headers is None:
                    continue
                try:
                    response = http.get(f"{api_url}{path}", headers=headers)
                except httpx.HTTPError:
                    continue
                seen.append(SeenResponse("GET", str(response.url), response.status_code,
                                         dict(response.headers)))
    return seen


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _tool_result(result_id: str, title: str, status: Status, message: str, started: float) -> Result:
    return Result(id=result_id, stage=STAGE, title=title, status=status, severity=Severity.INFO,
                  message=message, duration_s=time.monotonic() - started)


__all__ = ["DastRun", "DastStage", "probe"]
