"""The local target's Prometheus: the real server, the manifests' rules, the replicas as its targets.

Ties :class:`~harness.services.prometheus.PrometheusService` to what the manifests declare: the
PrometheusRules on the model's compressed time (:mod:`.alert_rules`, the file kept in the run dir)
and the ServiceMonitor/PodMonitor labels of every live replica (:mod:`.monitoring`), rewritten into
the file-SD file whenever the replicas change (the controllers' loop calls :meth:`discover`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.services.prometheus import PrometheusService, Target
from harness.services.prometheus_api import PrometheusApi
from harness.targets.local.alert_rules import write_rule_file
from harness.targets.local.cluster.inputs import ReplicaInfo
from harness.targets.local.manifests import AppManifests
from harness.targets.local.monitoring import ScrapeSpec

# Prometheus scrapes and evaluates every monitor interval / time_scale (15 s -> 0.75 s at 20x), but
# not more often than this. Why 2 s: the app counts Prometheus' own GET /metrics in
# http_requests_total, which the templates' and rules' ratios include; a canary at 5 % of a PR run's
# load gets ~1 user request a second, so at a 1 s scrape half its "requests" were scrapes and a 30 %
# 5xx canary measured 0.948 (measured; the template fails below 0.95), at 2 s ~0.8. A cluster
# scrapes every 15 s against far more traffic. Each scrape also costs CPU the HPA model counts.
MIN_INTERVAL_S = 2.0
DEFAULT_INTERVAL_S = 30.0  # prometheus-operator's default when a monitor sets none


class LocalPrometheus:
    """One Prometheus for one local target run."""

    def __init__(self, workdir: Path, run_dir: Path, manifests: AppManifests, time_scale: float) -> None:
        self.scrape = ScrapeSpec.from_documents(manifests.documents)
        self.rules_file = run_dir / "prometheus-rules.yaml"
        self.alerts = write_rule_file(self.rules_file, manifests.documents, time_scale)
        interval = max(MIN_INTERVAL_S, (self.scrape.interval_s or DEFAULT_INTERVAL_S) / time_scale)
        self.service = PrometheusService(workdir, scrape_interval_s=interval, evaluation_interval_s=interval,
                                         rule_files=[self.rules_file])
        self._targets: list[Target] = []

    @property
    def url(self) -> str:
        return self.service.url

    def api(self) -> PrometheusApi:
        """The HTTP API client the canary analysis uses (version from the binary: no request)."""
        return PrometheusApi(self.service.url, version=self.service.version)

    def discover(self, replicas: list[ReplicaInfo]) -> None:
        """Rewrite the file-SD file when the replicas' targets changed."""
        targets = self.scrape.targets(replicas)
        if targets != self._targets:
            self.service.set_targets(targets)
            self._targets = targets

    def describe(self) -> dict[str, Any]:
        """For the Environment's ``extra`` (and ``harness up --json``)."""
        return {"url": self.url, "proven_on": self.service.proven_on,
                "scrape_interval_s": self.service.scrape_interval_s, "rules": str(self.rules_file),
                "alerts": self.alerts}


__all__ = ["LocalPrometheus"]
