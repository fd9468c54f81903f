"""ZAP, driven through its API with the zaproxy package (zapv2).

Where ZAP comes from: ``ZAP_API_URL``/``ZAP_API_KEY`` (or ``[dast] zap_api_url``) when given;
otherwise ``zap.sh -daemon`` on 127.0.0.1 with a random API key when ``zap.sh`` is on PATH;
otherwise :func:`locate_zap` returns the reason it is skipped.

One scan: new session -> context (app included, SSE excluded) -> the app's auth header via a replacer
rule -> OpenAPI import -> spider -> passive scan drained -> (full profile) active scan with an
API-tuned policy and a time cap -> passive drained again -> alerts paged -> HTML/JSON/SARIF reports.
The passive profile (default on environments we do not own) neither imports the OpenAPI document
(ZAP would send every operation) nor attacks: it spiders and reports what passive rules see.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import StageError
from harness.results import Severity
from harness.stages.dast.findings import Finding

# Active scan rules that matter for a JSON API (injection, traversal, SSRF, XXE, template, log4shell...);
# the rest (e.g. browser-only or CMS-specific rules) are off in the harness' policy.
API_ACTIVE_SCANNERS = (
    "0,6,7,40003,40008,40009,40012,40014,40018,40019,40020,40021,40022,40024,40026,40033,40034,"
    "40043,40044,40046,40047,90019,90020,90021,90023,90024,90025,90034,90035,90036,90037"
)
RISK_SEVERITY = {"3": Severity.HIGH, "2": Severity.MEDIUM, "1": Severity.LOW, "0": Severity.INFO}
SSE_EXCLUDE = r".*/events(\?.*)?$"


@dataclass(slots=True)
class ZapOptions:
    active: bool = True
    spider_minutes: int = 1
    active_minutes: int = 5
    rule_minutes: int = 2
    passive_timeout_s: float = 120.0
    poll_interval_s: float = 2.0
    page_size: int = 200
    exclude: list[str] = field(default_factory=lambda: [SSE_EXCLUDE])
    policy: str = "harness-api"
    context: str = "harness"
    target_host: str | None = None  # how ZAP reaches the app when it runs elsewhere (e.g. in a container)
    # A directory both ZAP and we can see, for the reports ZAP writes itself (SARIF): its path as ZAP
    # sees it and as we see it (e.g. /zap/wrk mounted from $RUNNER_TEMP/zap-wrk). Default: our own path.
    shared_dir_zap: str | None = None
    shared_dir_local: str | None = None


@dataclass(slots=True)
class ZapEndpoint:
    api_url: str
    api_key: str | None
    origin: str  # "ZAP_API_URL", "config" or "zap.sh"


@dataclass(slots=True)
class ZapOutcome:
    alerts: list[dict[str, Any]]
    reports: list[Path]
    measured: dict[str, float | int | str]


def client(endpoint: ZapEndpoint) -> Any:
    """A zapv2 client: ZAP's API is reached as an HTTP proxy (that is how zapv2 talks to it)."""
    from zapv2 import ZAPv2

    return ZAPv2(apikey=endpoint.api_key, proxies={"http": endpoint.api_url, "https": endpoint.api_url},
                 validate_status_code=True)


def locate_zap(options: dict[str, Any], environ: dict[str, str] | None = None) -> ZapEndpoint | str:
    """Where to reach ZAP, or why it is skipped."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("ZAP_API_URL"):
        return ZapEndpoint(environ["ZAP_API_URL"], environ.get("ZAP_API_KEY"), "ZAP_API_URL")
    if options.get("zap_api_url"):
        key = options.get("zap_api_key") or environ.get("ZAP_API_KEY")
        return ZapEndpoint(str(options["zap_api_url"]), str(key) if key else None, "config")
    zap_sh = shutil.which(str(options.get("zap_path", "zap.sh")))
    if zap_sh:
        return ZapEndpoint("", None, zap_sh)
    return ("ZAP is not available: ZAP_API_URL is not set, [dast] zap_api_url is not configured and zap.sh "
            "is not on PATH (the nightly workflow runs the official ZAP container)")


@contextlib.contextmanager
def zap_daemon(zap_sh: str, log_dir: Path, *, timeout_s: float = 180.0) -> Iterator[ZapEndpoint]:
    """Start ``zap.sh -daemon`` on 127.0.0.1:<free port> with a random API key; stop it afterwards."""
    from harness.services.process import ManagedProcess, free_port, port_is_open

    port, key = free_port(), secrets.token_urlsafe(24)
    argv = [zap_sh, "-daemon", "-host", "127.0.0.1", "-port", str(port), "-config", f"api.key={key}",
            "-config", "api.addrs.addr.name=127.0.0.1", "-config", "api.addrs.addr.regex=false"]
    process = ManagedProcess("zap", argv, log_path=log_dir / "zap.log", ready=lambda: port_is_open(port))
    process.start(timeout=timeout_s)
    endpoint = ZapEndpoint(f"http://127.0.0.1:{port}", key, f"{zap_sh} -daemon on 127.0.0.1:{port}")
    try:
        yield endpoint
    finally:
        with contextlib.suppress(Exception):
            client(endpoint).core.shutdown()
        process.stop(timeout=30)


class ZapScan:
    """The scan workflow against one ZAP; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(self, zap: Any, options: ZapOptions, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.zap, self.options, self.sleep, self.clock = zap, options, sleep, clock

    def run(self, api_url: str, openapi_url: str, auth: tuple[str, str] | None,
            report_dir: Path) -> ZapOutcome:
        """Scan ``api_url``; ``auth`` (header, value) is set on every request ZAP sends."""
        started = self.clock()
        base, openapi_url = self._as_seen_by_zap(api_url), self._as_seen_by_zap(openapi_url)
        try:
            self.zap.core.new_session(name=f"harness-{int(time.time())}", overwrite="true")
            context_id = self._context(base)
            if auth:
                self.zap.replacer.add_rule(description="harness-auth", enabled="true", matchtype="REQ_HEADER",
                                           matchregex="false", matchstring=auth[0], replacement=auth[1],
                                           initiators="")
            if self.options.active:  # importing sends every operation, POSTs included: not passive
                self.zap.openapi.import_url(openapi_url, contextid=context_id)
            self._spider(base)
            self._drain_passive()
            if self.options.active:
                self._active(base, context_id)
                self._drain_passive()
            alerts = self.alerts(base)
            reports = self._reports(report_dir)
        except StageError:
            raise
        except Exception as exc:  # requests errors, ZAP's own error JSON: the tool broke, not the app
            raise StageError(f"ZAP API call failed: {type(exc).__name__}: {exc}") from exc
        measured: dict[str, float | int | str] = {
            "zap_alerts": len(alerts), "zap_wall_s": round(self.clock() - started, 1),
            "zap_messages": self._message_count(base), "zap_version": self._version()}
        return ZapOutcome(alerts, reports, measured)

    def _as_seen_by_zap(self, url: str) -> str:
        host = self.options.target_host
        return re.sub(r"^(\w+://)(127\.0\.0\.1|localhost)", rf"\g<1>{host}", url) if host else url

    def _context(self, base: str) -> str:
        name = self.options.context
        context_id = str(self.zap.context.new_context(name))
        self.zap.context.include_in_context(name, re.escape(base.rstrip("/")) + ".*")
        for regex in self.options.exclude:
            self.zap.context.exclude_from_context(name, regex)
            self.zap.spider.exclude_from_scan(regex)
            self.zap.ascan.exclude_from_scan(regex)
        return context_id

    def _spider(self, base: str) -> None:
        self.zap.spider.set_option_max_duration(str(self.options.spider_minutes))
        scan_id = str(self.zap.spider.scan(url=base, contextname=self.options.context))
        self._wait(lambda: int(self.zap.spider.status(scan_id)) >= 100, self.options.spider_minutes * 60 + 30,
                   "spider")

    def _drain_passive(self) -> None:
        self._wait(lambda: int(self.zap.pscan.records_to_scan) == 0, self.options.passive_timeout_s,
                   "passive scan")

    def _active(self, base: str, context_id: str) -> None:
        ascan, policy = self.zap.ascan, self.options.policy
        with contextlib.suppress(Exception):  # a policy left over from an earlier run on a shared ZAP
            ascan.remove_scan_policy(policy)
        ascan.add_scan_policy(policy, alertthreshold="MEDIUM", attackstrength="MEDIUM")
        ascan.disable_all_scanners(scanpolicyname=policy)
        ascan.enable_scanners(API_ACTIVE_SCANNERS, scanpolicyname=policy)
        ascan.set_option_max_scan_duration_in_mins(str(self.options.active_minutes))
        ascan.set_option_max_rule_duration_in_mins(str(self.options.rule_minutes))
        scan_id = str(ascan.scan(url=base, recurse="true", scanpolicyname=policy, contextid=context_id))
        # ZAP enforces the cap itself; our deadline only guards against a wedged scan.
        if not self._wait(lambda: int(ascan.status(scan_id)) >= 100, self.options.active_minutes * 60 + 60,
                          "active scan", raise_on_timeout=False):
            ascan.stop(scan_id)

    def alerts(self, base: str) -> list[dict[str, Any]]:
        """All alerts for the app, fetched page by page."""
        found: list[dict[str, Any]] = []
        while True:
            page = list(self.zap.alert.alerts(baseurl=base, start=str(len(found)),
                                              count=str(self.options.page_size)))
            found += page
            if len(page) < self.options.page_size:
                return found

    def _reports(self, report_dir: Path) -> list[Path]:
        report_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, fetch in (("zap-report.html", self.zap.core.htmlreport), ("zap-report.json",
                                                                            self.zap.core.jsonreport)):
            (report_dir / name).write_text(fetch(), encoding="utf-8")
            written.append(report_dir / name)
        sarif = self._sarif(report_dir)
        return [*written, *([sarif] if sarif else [])]

    def _sarif(self, report_dir: Path) -> Path | None:
        """ZAP writes SARIF on its own file system: kept when that is ours (or a shared volume)."""
        name = "zap-report.sarif.json"
        zap_dir = self.options.shared_dir_zap or str(report_dir.resolve())
        local = Path(self.options.shared_dir_local or report_dir) / name
        try:
            self.zap.reports.generate(title="harness DAST", template="sarif-json", reportdir=zap_dir,
                                      reportfilename=name)
        except Exception:  # the reports add-on is optional in ZAP
            return None
        if not local.is_file():
            return None
        if local.resolve() != (report_dir / name).resolve():
            shutil.copyfile(local, report_dir / name)
        return report_dir / name

    def _version(self) -> str:
        with contextlib.suppress(Exception):
            return str(self.zap.core.version)
        return "unknown"

    def _message_count(self, base: str) -> int:
        with contextlib.suppress(Exception):
            return int(self.zap.core.number_of_messages(baseurl=base))
        return -1

    def _wait(self, done: Callable[[], bool], timeout_s: float, what: str, *,
              raise_on_timeout: bool = True) -> bool:
        deadline = self.clock() + timeout_s
        while not done():
            if self.clock() >= deadline:
                if raise_on_timeout:
                    raise StageError(f"ZAP {what} did not finish within {timeout_s:.0f}s")
                return False
            self.sleep(self.options.poll_interval_s)
        return True


def path_regex(template: str) -> str:
    """A ZAP exclude regex for every URL of an operation path (``/a/{id}`` -> ``.*/a/[^/]+(\\?.*)?$``)."""
    return ".*" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + r"(\?.*)?$"


def alert_findings(alerts: list[dict[str, Any]], redact: Callable[[str], str]) -> list[Finding]:
    """ZAP alerts as findings keyed by plugin id (``ZAP-<pluginId>``)."""
    return [_alert_finding(alert, redact) for alert in alerts]


def _alert_finding(alert: dict[str, Any], redact: Callable[[str], str]) -> Finding:
    plugin = str(alert.get("pluginId", "unknown"))
    cwe, wasc = alert.get("cweid", ""), alert.get("wascid", "")
    controls = ["OWASP-A05"] + ([f"CWE-{cwe}"] if cwe not in ("", "-1", "0") else []) + (
        [f"WASC-{wasc}"] if wasc not in ("", "-1", "0") else [])
    detail = "\n".join(f"{k}: {alert[k]}" for k in ("method", "param", "attack", "evidence", "otherinfo")
                       if alert.get(k))
    severity = RISK_SEVERITY.get(str(alert.get("riskcode", "")), _risk(str(alert.get("risk", ""))))
    title = str(alert.get("name") or alert.get("alert"))
    return Finding(rule_id=plugin, result_id=f"ZAP-{plugin}", title=title, severity=severity,
                   url=str(alert.get("url", "")) or None, controls=controls,
                   evidence=redact(detail)[:1500], remediation=str(alert.get("solution") or "") or None)


def _risk(text: str) -> Severity:
    known = {"high": Severity.HIGH, "medium": Severity.MEDIUM, "low": Severity.LOW}
    return known.get(text.lower(), Severity.INFO)


__all__ = ["API_ACTIVE_SCANNERS", "SSE_EXCLUDE", "ZapEndpoint", "ZapOptions", "ZapOutcome", "ZapScan",
           "alert_findings", "client", "locate_zap", "path_regex", "zap_daemon"]
