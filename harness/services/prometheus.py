"""A real Prometheus server as a child process (Debian's ``prometheus``; ``apt-get install prometheus``).

It scrapes what a file-based service discovery file lists (``file_sd_configs``, rewritten atomically
whenever the caller's targets change: Prometheus watches the file with inotify) and evaluates the
rule files it is given. It binds 127.0.0.1 on a free port, keeps its TSDB in ``workdir`` and has the
lifecycle API on (``/-/reload`` after a rule change).

Timing facts of Prometheus itself (2.42, ``discovery/manager.go``): the discovery manager forwards
target updates to the scrape manager at most every 5 s (``updatert``), so a replica that appears
is first scraped up to ~5 s plus one scrape interval later; ``first_scrape_s`` measures it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.errors import MissingToolError
from harness.services.process import ManagedProcess, ProcessService, answers_http, free_port

INSTALL_HINT = "apt-get install prometheus (or ./dev setup)"
Target = tuple[str, Mapping[str, str]]  # (host:port, labels)


def find_prometheus() -> str | None:
    """The ``prometheus`` executable on PATH, if any."""
    return shutil.which("prometheus")


def require_prometheus() -> str:
    found = find_prometheus()
    if found is None:
        raise MissingToolError("prometheus not found on PATH (the local target scrapes the replicas and "
                               "evaluates the canary analysis with it)", hint=INSTALL_HINT)
    return found


def tool_version(binary: str) -> str:
    """The version a Prometheus tool (``prometheus``, ``promtool``) prints, e.g. ``2.42.0+ds``."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"version (\S+)", done.stdout + done.stderr)
    return match.group(1) if match else "?"


def prometheus_version(binary: str) -> str:
    """``2.42.0`` from ``prometheus --version`` (a distribution suffix such as Debian's ``+ds`` dropped)."""
    return tool_version(binary).split("+")[0]


class PrometheusService(ProcessService):
    """Prometheus on 127.0.0.1 scraping the targets of one file-SD file, with ``rule_files``."""

    def __init__(
        self, workdir: Path, *, scrape_interval_s: float = 1.0, evaluation_interval_s: float = 1.0,
        rule_files: Sequence[Path] = (), port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "prometheus"
        self.port = port or free_port()
        self.scrape_interval_s = scrape_interval_s
        self.evaluation_interval_s = evaluation_interval_s
        self.rule_files = list(rule_files)
        self.sd_file = self.data_dir / "targets.json"
        self.config_file = self.data_dir / "prometheus.yml"
        self.binary = find_prometheus()
        self.version = prometheus_version(self.binary) if self.binary else "?"
        self.timings: dict[str, float] = {}
        self.started_at = 0.0  # epoch s of the last start()
        argv = [
            self.binary or "prometheus", f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.data_dir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle", "--storage.tsdb.retention.time=1d", "--log.level=warn",
        ]
        self.process = ManagedProcess("prometheus", argv, log_path=workdir / "logs" / "prometheus.log",
                                      ready=lambda: answers_http(f"{self.url}/-/ready", timeout=0.5))
        self._targets: list[Target] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proven_on(self) -> str:
        return f"Prometheus {self.version}"

    def start(self, timeout: float = 30.0) -> PrometheusService:
        if self.binary is None:
            require_prometheus()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False), encoding="utf-8")
        self.set_targets(self._targets)
        started, self.started_at = time.monotonic(), time.time()
        self.process.start(timeout=timeout)
        self.timings["start_to_ready_s"] = round(time.monotonic() - started, 3)
        return self

    def config(self) -> dict[str, Any]:
        """``prometheus.yml``: one job over the SD file; target labels come from the file."""
        return {
            "global": {"scrape_interval": _duration(self.scrape_interval_s),
                       "scrape_timeout": _duration(self.scrape_interval_s),
                       "evaluation_interval": _duration(self.evaluation_interval_s)},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [{
                "job_name": "harness-local",  # each target's own ``job`` label replaces it
                "file_sd_configs": [{"files": [str(self.sd_file)], "refresh_interval": "1s"}],
            }],
        }

    def set_targets(self, targets: Sequence[Target]) -> None:
        """Replace the scraped targets (atomic rename: Prometheus never reads a half-written file)."""
        self._targets = list(targets)
        groups = [{"targets": [address], "labels": dict(labels)} for address, labels in self._targets]
        self.sd_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.sd_file.with_suffix(".json.tmp")
        partial.write_text(json.dumps(groups, indent=1), encoding="utf-8")
        os.replace(partial, self.sd_file)


def _duration(seconds: float) -> str:
    """A Prometheus duration (whole milliseconds)."""
    return f"{max(1, round(seconds * 1000))}ms"


__all__ = ["INSTALL_HINT", "PrometheusService", "find_prometheus", "prometheus_version", "require_prometheus",
           "tool_version"]
