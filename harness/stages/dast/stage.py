"""The DAST stage: the OWASP API Security Top 10 with two users, Schemathesis always, ZAP when reachable.

One run: log the users in (login hook) -> read the OpenAPI document and drop the excluded
operations -> start the loopback listener -> the stage's own read-only probes (inventory, CORS,
credentials in URLs, header samples) -> reflected XSS (active) -> Schemathesis with the harness'
checks in its loop -> login probes (active: enumeration, rate limit) -> SSRF hits -> sqlmap
confirmation -> ZAP -> every check judged by the rules file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from harness import __version__
from harness.errors import StageError
from harness.results import Result, Status
from harness.stages.base import StageContext, shown_path
from harness.stages.dast import attack_properties, probes, sqlmap
from harness.stages.dast.attack_ssrf import Listener, listening
from harness.stages.dast.catalog import CHECKS
from harness.stages.dast.findings import Finding, judge
from harness.stages.dast.findings import skipped as skip
from harness.stages.dast.headers import SeenResponse, check_responses
from harness.stages.dast.login import login
from harness.stages.dast.options import DastOptions, read_options
from harness.stages.dast.reflect import probe_reflection
from harness.stages.dast.rules import RuleSet, load_rules
from harness.stages.dast.scan_state import ScanConfig, ScanState
from harness.stages.dast.spec import ApiSpec, load_spec
from harness.stages.dast.tools import SchemathesisStep, ZapStep, summary
from harness.stages.dast.verdicts import Context, Records, check_states, enabled_names, to_finding
from harness.stages.dast.wire import OutOfBudget
from harness.targets.base import Environment, TestUser

PROBE_BUDGET_SHARE = 0.2  # of max_requests, for the stage's own probes outside Schemathesis
HEADER_SAMPLES = 6


class DastStage:
    """Dynamic security testing of the running app (see ``harness/stages/dast/__init__.py``)."""

    NAME = "dast"
    NEEDS_ENVIRONMENT = True

    def run(self, ctx: StageContext) -> Iterator[Result]:
        env = ctx.environment
        if env is None:
            raise StageError("the dast stage needs a running environment")
        ctx.redactor.register(*(u.token for u in env.users))
        options = read_options(
            ctx.config.stage_options("dast"),
            root=ctx.config.root,
            policies=ctx.config.paths.policies,
            profile=ctx.profile,
            target=env.target,
            production=env.production,
        )
        rules = load_rules(
            options.rules_path,
            default=options.default_action,
            shown_as=shown_path(options.rules_path, ctx.config.root),
        )
        yield from DastRun(ctx, env, options, rules).execute()


class DastRun:
    """One execution of the stage; the steps in ``tools.py`` report back through it."""

    def __init__(self, ctx: StageContext, env: Environment, options: DastOptions, rules: RuleSet) -> None:
        self.ctx, self.env, self.options, self.rules = ctx, env, options, rules
        self.dir = ctx.evidence_dir / "dast"
        self.api_url = env.api_url.rstrip("/")
        self.users: list[TestUser] = list(env.users)
        self.responses: list[SeenResponse] = []  # what the header check reads
        self.records = Records()
        self.ran: set[str] = set()
        self.versions: dict[str, str] = {}
        self.facts: dict[str, Any] = {}
        self.proven_on = f"harness API checks {__version__}"

    def execute(self) -> Generator[Result, None, None]:
        """Results as each step finishes (probes + Schemathesis, ZAP, the harness' checks, headers):
        an interrupted run keeps the finished steps'; ``run.json`` is written and the evidence
        redacted however the stage ends."""
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.users = self._logged_in()
            spec = load_spec(
                self.options.spec or f"{self.api_url}/openapi.json",
                self.api_url,
                root=self.ctx.config.root,
                exclusions=self.options.exclusions,
            )
            spec_file = self.dir / "openapi.json"  # what every tool was given: the document minus exclusions
            spec_file.write_text(json.dumps(spec.filtered_document(), indent=1), encoding="utf-8")
            with listening() as listener:
                listener.documents["/openapi.json"] = ("application/json", spec_file.read_bytes())
                yield from self._stamped(self._scan(spec, spec_file, listener))
                yield from self._stamped(ZapStep(self, listener).run())
            yield from self._stamped(self._judge_harness_checks(spec))
            yield from self._stamped(self._header_results(spec))
        finally:
            self._write_run_file()
            self.ctx.redactor.redact_tree(self.dir)

    def tool_facts(self, tool: str, facts: dict[str, Any]) -> None:
        """What a tool did (requests, wall time, version...): recorded in run.json."""
        self.facts[tool] = facts

    @property
    def mode(self) -> str:
        """``active (why)`` or ``passive (why)``: how this run scans."""
        return f"{'active' if self.options.active else 'passive'} ({self.options.mode_reason})"

    def _write_run_file(self) -> None:
        """run.json: mode, seed, budgets and what each tool did (written last: tools add facts)."""
        options = self.options
        (self.dir / "run.json").write_text(
            json.dumps(
                {
                    "scan_mode": self.mode,
                    "seed": options.seed,
                    "seed_given": options.seed_given,
                    "replay": f"harness verify ... --dast-seed {options.seed}",
                    "max_requests": options.max_requests,
                    "max_seconds": options.max_seconds,
                    "rate_limit_per_s": options.rate_per_s,
                    "excluded_operations": [f"{m} {p}" for m, p in options.exclusions.entries],
                    "harness_probe_requests": self.records.probe_requests,
                    "check_seconds": self.records.spent,
                    "tools": self.facts,
                },
                indent=1,
                default=str,
            ),
            encoding="utf-8",
        )

    def _stamped(self, results: list[Result]) -> list[Result]:
        """Each result that ran carries the seed, the mode and run.json; a failed Schemathesis
        result says how to replay it."""
        seed, mode = self.options.seed, self.mode
        for result in results:
            if result.status is Status.SKIPPED:
                continue
            result.measured.setdefault("seed", seed)
            result.measured.setdefault("scan_mode", mode)
            result.evidence.append(self.rel(self.dir / "run.json"))
            if result.status is Status.FAILED and "Schemathesis" in (result.proven_on or ""):
                result.message += f"\nreplay: --dast-seed {seed} ({mode} mode)"
        return results

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.ctx.run_dir))

    def _logged_in(self) -> list[TestUser]:
        """The environment's users, their tokens replaced (or users added) by the login hook."""
        users = {u.name: u for u in self.env.users}
        config = self.options.login
        if config is not None:
            with httpx.Client(timeout=15.0) as http:
                for entry in config.users:
                    token = login(http, self.api_url, config, entry)
                    self.ctx.redactor.register(token, entry.password)
                    users[entry.name] = TestUser(entry.name, token)
        return list(users.values())

    def scan_config(
        self, spec: ApiSpec, spec_file: Path, findings: Path, budget: int, ssrf: str | None
    ) -> ScanConfig:
        """What the harness' checks get, in the Schemathesis process or in this one."""
        login_config = self.options.login
        usernames = {u.name: u.username for u in login_config.users} if login_config else {}
        passwords = {f"{u.name}'s password": u.password for u in login_config.users} if login_config else {}
        return ScanConfig(
            api_url=self.api_url,
            findings_path=str(findings),
            spec_path=str(spec_file),
            users=[
                {"name": u.name, "token": u.token, "username": usernames.get(u.name, u.name)}
                for u in self.users
            ],
            checks=enabled_names(active=self.options.active, users=len(self.users)),
            base_path=spec.base_path,
            exclusions=[[m, p] for m, p in self.options.exclusions.entries],
            probe_budget=budget,
            total_budget=budget,
            rate_per_s=self.options.rate_per_s,
            request_timeout_s=self.options.schemathesis.request_timeout_s,
            slow_response_s=self.options.slow_response_s,
            max_page_items=self.options.max_page_items,
            ssrf_base=ssrf,
            known_secrets=passwords,
            login=asdict(login_config) if login_config else None,
            seed=self.options.seed,
            auth_header=self.ctx.app_profile.auth_header,
            auth_scheme=self.ctx.app_profile.auth_scheme,
        )

    def _scan(self, spec: ApiSpec, spec_file: Path, listener: Listener) -> list[Result]:
        own_budget = max(int(self.options.max_requests * PROBE_BUDGET_SHARE), 50)
        probe_file = self.dir / "probe-findings.jsonl"
        state = ScanState(self.scan_config(spec, spec_file, probe_file, own_budget, None))
        state.observe = functools.partial(attack_properties.scan, state)  # our probes' answers too
        results: list[Result] = []
        try:
            for probe in (probes.inventory, probes.cors, probes.credentials_in_url):
                _within_budget(lambda p=probe: p(state, spec))  # type: ignore[misc]
            self.responses += probes.sample_headers(state, spec, self.api_url, HEADER_SAMPLES)
            if self.options.active:
                check, found = probe_reflection(state, spec, self.proven_on)
                results += judge([check], found, self.rules)
            results += SchemathesisStep(self, spec, spec_file, listener).run(
                self.options.max_requests - own_budget
            )
            if self.options.active:
                known = (
                    [u.username for u in self.options.login.users]
                    if self.options.login
                    else [u.name for u in self.users]
                )
                _within_budget(lambda: probes.user_enumeration(state, spec, known))
                _within_budget(
                    lambda: probes.rate_limit(state, spec, self.options.burst, self.options.expensive)
                )
        finally:
            state.close()
        self.records.read(probe_file)
        self.records.findings += self.records.ssrf_hits(_nonces_after_grace(listener))
        return results

    def _judge_harness_checks(self, spec: ApiSpec) -> list[Result]:
        """Every catalog check: skipped (why), passed (targets tried), or its findings judged."""
        st = self.versions.get("schemathesis")
        loop_proof = f"{self.proven_on} in Schemathesis {st}'s loop" if st else self.proven_on
        sqlmap.confirm_records(
            self.records.findings,
            {u.name: u.token for u in self.users},
            self.dir / "sqlmap",
            self.ctx.run_dir,
            self.options.sqlmap_timeout_s,
        )
        findings = [self._finding(spec, record, loop_proof) for record in self.records.findings]
        checks, skipped = check_states(
            self.records.tried,
            {f.result_id for f in findings},
            Context(
                self.options.active,
                self.options.mode_reason,
                len(self.users),
                self.ran,
                loop_proof,
                self.proven_on,
            ),
        )
        results = judge(checks, findings, self.rules, write=self._instances)
        results += [skip(check, why) for check, why in skipped]
        if self.records.errors:
            results.append(
                summary(
                    "DAST-harness-checks",
                    "harness API checks",
                    Status.ERROR,
                    "\n".join(self.records.errors[:5]),
                    proven_on=loop_proof,
                )
            )
        return results

    def _finding(self, spec: ApiSpec, record: dict[str, object], loop_proof: str) -> Finding:
        where = next(c.where for c in CHECKS if c.name == record["check"])
        proof = loop_proof if where == "loop" else self.proven_on
        if record.get("confirmed_by"):
            proof += f"; confirmed by {record['confirmed_by']}"
        url = str(record.get("url", ""))
        return to_finding(record, spec.template_url(url) if url.startswith("http") else url, proof)

    def _header_results(self, spec: ApiSpec) -> list[Result]:
        checks, findings = check_responses(
            self.responses, api_prefix=self.options.api_prefix, location=spec.template_url
        )
        for check in checks:
            check.proven_on = f"harness header checks {__version__}"
        har = [self.rel(p) for p in sorted((self.dir / "schemathesis").glob("har*.json"))]
        return judge(checks, findings, self.rules, evidence=har)

    def _instances(self, result_id: str, findings: list[Finding]) -> str | None:
        """Every instance of a finding (request, response, users) as an evidence file."""
        path = self.dir / "findings" / f"{result_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Redacted as data: inside a JSON file, quotes are escaped and text patterns would miss them.
        instances = self.ctx.redactor.redact_data([f.to_dict() for f in findings])
        path.write_text(json.dumps(instances, indent=1), encoding="utf-8")
        return self.rel(path)


def _within_budget(probe: Callable[[], None]) -> None:
    # The stage's own probe budget spent: what ran is recorded, the rest did not run.
    with contextlib.suppress(OutOfBudget):
        probe()


def _nonces_after_grace(listener: Listener) -> set[str]:
    """The SSRF nonces the listener received (a server may fetch asynchronously: a second's grace)."""
    time.sleep(1.0)
    return listener.nonces()


__all__ = ["DastRun", "DastStage"]
