"""Schemathesis v4 as a subprocess CLI: all checks (ours too), two identities, a recorded seed.

A subprocess isolates Hypothesis (its warnings, its example database, its globals) from the harness.
Tokens never reach the command line: they go into a Web Fuzzing Commons auth file in a private
temporary directory, which also names both users as ``peers`` so that Schemathesis'
``object_level_authorization`` check replays one user's reads as the other; with a login hook the
entries are ``loginEndpointAuth`` and Schemathesis logs in (and refreshes) itself. The harness' own
checks ride along as Schemathesis checks (``SCHEMATHESIS_HOOKS=harness.stages.dast.loop_hooks``).
The run continues after failures; it is interrupted like Ctrl-C at its time budget (and by the
hooks at its request budget), after which Schemathesis still writes its reports (exit code 130).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.app_profile import AppProfile
from harness.errors import StageError
from harness.results import Severity
from harness.services.process import stop_group
from harness.stages.dast.findings import Check, Finding
from harness.stages.dast.headers import SeenResponse
from harness.stages.dast.login import LoginConfig
from harness.stages.dast.rules import SCHEMATHESIS_PREFIX
from harness.stages.dast.scan_state import ENV_VAR as SCAN_ENV_VAR
from harness.stages.dast.wire import write_private
from harness.targets.base import TestUser

HOOKS_MODULE = "harness.stages.dast.loop_hooks"
INTERRUPTED = 130  # Schemathesis' exit code after Ctrl-C (schemathesis/cli/constants.py ExitCode)

# Schemathesis failure code -> check name (schemathesis.failure_codes.FAILURE_CLASSES; a test keeps
# this in step with the installed version, so the harness process never has to import Schemathesis).
FAILURE_CHECKS: dict[str, str] = {
    "ST101": "not_a_server_error", "ST102": "not_a_server_error", "ST103": "status_code_conformance",
    "ST104": "content_type_conformance", "ST105": "content_type_conformance",
    "ST106": "content_type_conformance", "ST107": "response_headers_conformance",
    "ST108": "response_schema_conformance", "ST109": "response_schema_conformance",
    "ST110": "response_schema_conformance", "ST111": "response_schema_conformance",
    "ST112": "max_response_time", "ST201": "negative_data_rejection", "ST202": "positive_data_acceptance",
    "ST203": "missing_required_header", "ST204": "unsupported_method", "ST205": "allow_header_conformance",
    "ST301": "use_after_free", "ST302": "ensure_resource_availability", "ST401": "ignored_auth",
    "ST402": "object_level_authorization", "ST901": "custom",
}
# check -> (severity, controls: OWASP Top 10 2021 / API Security Top 10 2023 / ASVS 4.0.3)
CHECKS: dict[str, tuple[Severity, tuple[str, ...]]] = {
    "not_a_server_error": (Severity.MEDIUM, ("OWASP-A04", "ASVS-7.4.1")),
    "status_code_conformance": (Severity.LOW, ("OWASP-API9", "ASVS-13.2.1")),
    "content_type_conformance": (Severity.LOW, ("OWASP-A05", "ASVS-13.1.5")),
    "response_headers_conformance": (Severity.LOW, ("OWASP-API9", "ASVS-13.2.1")),
    "response_schema_conformance": (Severity.MEDIUM, ("OWASP-API3", "ASVS-13.2.1")),
    "negative_data_rejection": (Severity.MEDIUM, ("OWASP-A03", "ASVS-5.1.3", "ASVS-13.2.2")),
    "positive_data_acceptance": (Severity.LOW, ("OWASP-API9", "ASVS-13.2.1")),
    "missing_required_header": (Severity.LOW, ("OWASP-A04", "ASVS-13.2.1")),
    "unsupported_method": (Severity.LOW, ("OWASP-A05", "ASVS-13.2.1")),
    "allow_header_conformance": (Severity.INFO, ("OWASP-A05",)),
    "use_after_free": (Severity.HIGH, ("OWASP-A01", "ASVS-4.1.3")),
    "ensure_resource_availability": (Severity.LOW, ("OWASP-API9",)),
    "ignored_auth": (Severity.CRITICAL, ("OWASP-A07", "OWASP-API2", "ASVS-4.1.1", "ASVS-13.1.3")),
    "object_level_authorization": (Severity.HIGH, ("OWASP-A01", "OWASP-API1", "ASVS-4.2.1")),
    "max_response_time": (Severity.LOW, ("OWASP-API4",)),
}
_FAILURE_HEAD = re.compile(r"^- (ST\d{3}) (.*)$", re.MULTILINE)
_NEXT_CASE = re.compile(r"^\d+\. Test Case ID", re.MULTILINE)
_CURL_URL = re.compile(r"'?(https?://[^\s']+)'?")
EVIDENCE_CHARS = 1500
REPRODUCE_CHARS = 300



@dataclass(slots=True)
class SchemathesisOptions:
    max_examples: int = 20
    seed: int = 20261126
    phases: str = "examples,coverage,fuzzing,stateful"
    mode: str = "all"
    request_timeout_s: float = 10.0
    max_time_s: int | None = None
    workers: int = 1
    exclude_path_regex: str | None = r"/events$"
    wait_for_schema_s: float = 30.0
    timeout_s: float = 1800.0  # then interrupted (reports are still written)
    max_response_time_s: float | None = None
    rate_per_s: float | None = None
    extra_args: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SchemathesisRun:
    returncode: int
    duration_s: float
    report_dir: Path
    output: str
    timed_out: bool = False

    def _one(self, pattern: str) -> Path | None:
        found = sorted(self.report_dir.glob(pattern))
        return found[-1] if found else None

    @property
    def junit(self) -> Path | None:
        return self._one("junit*.xml")

    @property
    def har(self) -> Path | None:
        return self._one("har*.json")

    @property
    def report(self) -> dict[str, Any]:
        """Schemathesis' JSON run report (version, stop reason, warnings), or {} when absent."""
        found = self._one("json*.json")
        try:
            data = json.loads(found.read_text(encoding="utf-8")) if found else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def version(self) -> str:
        return str(self.report.get("schemathesis_version") or installed_version())


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("schemathesis")
    except PackageNotFoundError:
        return "unknown"


def build_command(location: str, base_url: str | None, options: SchemathesisOptions, report_dir: Path,
                  config_file: Path | None) -> list[str]:
    command = [sys.executable, "-m", "schemathesis.cli"]
    if config_file is not None:
        command += ["--config-file", str(config_file)]
    command += ["run", location, *(["--url", base_url] if base_url else []), "--checks", "all",
                "--continue-on-failure", "--mode", options.mode, "--phases", options.phases,
                "--seed", str(options.seed), "--max-examples", str(options.max_examples),
                "--workers", str(options.workers), "--request-timeout", str(options.request_timeout_s),
                "--generation-database", "none", "--report", "junit,har,json",
                "--report-dir", str(report_dir),
                "--no-color"]
    if not base_url:
        command += ["--wait-for-schema", str(options.wait_for_schema_s)]
    if options.max_time_s:
        command += ["--max-time", str(options.max_time_s)]
    if options.max_response_time_s:
        command += ["--max-response-time", str(options.max_response_time_s)]
    if options.rate_per_s:
        command += ["--rate-limit", f"{max(int(options.rate_per_s), 1)}/s"]
    if options.exclude_path_regex:
        command += ["--exclude-path-regex", options.exclude_path_regex]
    return command + list(options.extra_args)


def write_auth(directory: Path, users: Sequence[TestUser], login: LoginConfig | None = None,
               api_url: str = "", app: AppProfile | None = None) -> Path | None:
    """A WFC auth file (one entry per user, peers = all; tokens in ``app``'s auth header, by default
    ``Authorization: Bearer``) and a schemathesis.toml pointing at it."""
    if not users:
        return None
    wfc = directory / "wfc-auth.json"
    app = app or AppProfile()
    by_login = {u.name: u for u in login.users} if login else {}
    entries = [login.wfc_entry(api_url, by_login[u.name], app) if login and u.name in by_login else
               {"name": u.name, "fixedHeaders": [{"name": app.auth_header, "value": app.auth_value(u.token)}]}
               for u in users]
    write_private(wfc, json.dumps({"auth": entries}))
    config = directory / "schemathesis.toml"
    peers = ", ".join(json.dumps(u.name) for u in users) if len(users) > 1 else ""
    refresh = f"refresh_interval = {login.refresh_s}\n" if login else ""
    text = f"[auth.wfc]\npath = {json.dumps(str(wfc))}\n{refresh}" + (f"peers = [{peers}]\n" if peers else "")
    write_private(config, text)
    return config


def run_schemathesis(command: list[str], options: SchemathesisOptions, report_dir: Path, *, cwd: Path,
                     env: dict[str, str]) -> SchemathesisRun:
    """Run the CLI in its own process group; interrupt it at ``options.timeout_s``.

    Raises :class:`StageError` when it cannot run at all (not when checks fail).
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    quiet = {"PYTHONWARNINGS": "ignore", "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}
    environ = {**os.environ, **quiet, **env}
    if SCAN_ENV_VAR in env:  # the harness' checks ride along only with their configuration
        environ["SCHEMATHESIS_HOOKS"] = HOOKS_MODULE
    process = subprocess.Popen(command, cwd=cwd, env=environ, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, timed_out = _wait(process, options.timeout_s)
    finally:
        stop_group(process, signal.SIGKILL)
    run = SchemathesisRun(process.returncode, time.monotonic() - started, report_dir, output, timed_out)
    if process.returncode not in (0, 1, INTERRUPTED) or run.junit is None:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise StageError(f"schemathesis exited with {process.returncode} and no usable report:\n{tail}")
    if not any(True for _ in ET.parse(run.junit).getroot().iter("testcase")):
        raise StageError("schemathesis tested no operation (check the OpenAPI document and the filters)")
    return run


def _wait(process: subprocess.Popen[str], timeout_s: float) -> tuple[str, bool]:
    """The output; at the deadline, SIGINT (Schemathesis stops and reports), then SIGKILL after 60s."""
    try:
        output, _ = process.communicate(timeout=timeout_s)
        return output, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output, True


def junit_findings(junit: Path, base_url: str) -> tuple[list[Finding], list[str]]:
    """Findings per failure code in each test case, and the tool errors (as text) the JUnit lists."""
    findings: list[Finding] = []
    errors: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        label = case.get("name", "")
        for failure in case.iter("failure"):
            findings += _failure_findings(label, failure.text or "", failure.get("message", ""), base_url)
        errors += [f"{label}: {(e.text or e.get('message') or '').strip()[:EVIDENCE_CHARS]}"
                   for e in case.iter("error")]
    return findings, errors


def check_inventory() -> list[Check]:
    """Every Schemathesis check we run, so a clean run records each as passed."""
    return [_check(name) for name in CHECKS]


def _check(name: str) -> Check:
    severity, controls = CHECKS.get(name, (Severity.MEDIUM, ("OWASP-API9",)))
    return Check(SCHEMATHESIS_PREFIX + name, f"ST-{name}", _title(name), severity, list(controls))


def har_responses(har: Path) -> list[SeenResponse]:
    """The responses recorded in a HAR file, for the header check and request counts."""
    entries = json.loads(har.read_text(encoding="utf-8")).get("log", {}).get("entries", [])
    return [SeenResponse(e["request"]["method"], e["request"]["url"], int(e["response"]["status"]),
                         {h["name"]: h["value"] for h in e["response"].get("headers", [])})
            for e in entries if e.get("response", {}).get("status")]


def _failure_findings(label: str, text: str, codes: str, base_url: str) -> list[Finding]:
    _, _, path = label.partition(" ")
    url = f"{base_url.rstrip('/')}{path}" if path.startswith("/") else None
    found: list[Finding] = []
    heads = list(_FAILURE_HEAD.finditer(text))
    for index, head in enumerate(heads):
        end = heads[index + 1].start() if index + 1 < len(heads) else len(text)
        nxt = _NEXT_CASE.search(text, head.end(), end)
        block = text[head.start(): nxt.start() if nxt else end].strip()
        found.append(_finding(head.group(1), head.group(2), label, url or _reproduced_url(block), block))
    if not found:  # a format we do not know: keep the codes the message attribute names
        found = [_finding(c.strip(), "", label, url, text.strip()) for c in codes.split(",") if c.strip()]
    return found


def _reproduced_url(block: str) -> str | None:
    """The URL of the reproduction command (stateful scenarios have no single operation label)."""
    urls = _CURL_URL.findall(block.partition("Reproduce with:")[2])
    return urls[-1].split("?", 1)[0] if urls else None


def _finding(code: str, title: str, label: str, url: str | None, block: str) -> Finding:
    check = _check(FAILURE_CHECKS.get(code, "custom"))
    return check.finding(url, evidence=f"{label}: {code} {title}\n{_excerpt(block)}")


def _excerpt(block: str) -> str:
    """The failure's explanation, and the start of its reproduction (fuzzed bodies can be huge)."""
    explanation, found, reproduce = block.partition("Reproduce with:")
    text = explanation.strip()[:EVIDENCE_CHARS]
    if found:
        command = reproduce.strip()
        cut = "..." if len(command) > REPRODUCE_CHARS else ""
        text += f"\nReproduce with: {command[:REPRODUCE_CHARS]}{cut}"
    return text


def _title(check: str) -> str:
    return f"Schemathesis: {check.replace('_', ' ')}"


__all__ = ["CHECKS", "FAILURE_CHECKS", "HOOKS_MODULE", "SchemathesisOptions",
           "SchemathesisRun", "build_command", "check_inventory", "har_responses", "installed_version",
           "junit_findings", "run_schemathesis", "write_auth"]
