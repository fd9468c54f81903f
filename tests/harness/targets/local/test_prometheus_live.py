"""The real Prometheus scraping stand-in replicas labelled from the repository's manifests.

Each stand-in serves an exposition shaped like the reference app's (``http_requests_total`` and the
latency histogram), its counters growing with wall time at a chosen error share. Prometheus is
started exactly as the local target starts it (:class:`LocalPrometheus`: the rendered overlay's
monitors and rules); the AnalysisTemplates' queries go to it unchanged and the analysis model judges
the values it returns. The observation is Prometheus' own (its scrapes, its PromQL, its rule
evaluation): a canary whose stand-in answers 30 % 5xx must be measured Failed, a clean one
Successful, and the error-rate alert must fire on the stable service only when it errs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.results import Status
from harness.services.prometheus import find_prometheus
from harness.services.prometheus_api import PrometheusApi
from harness.stages.functional import steps_alerts
from harness.stages.functional.context import Context, StepFailed
from harness.stages.load.alert_checks import alert_results
from harness.targets.local.cluster.analysis import measurement_phase
from harness.targets.local.cluster.inputs import ControlPlaneSpec, ReplicaInfo
from harness.targets.local.manifests import load_app_manifests
from harness.targets.local.prometheus import LocalPrometheus

ROOT = Path(__file__).resolve().parents[4]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(find_prometheus() is None, reason="prometheus not on PATH "
                                                   "(apt-get install prometheus)")]
TIME_SCALE = 30.0  # the error-rate alert: [5m] -> [10s], for 5m -> 10s


class _Exposition(BaseHTTPRequestHandler):
    error_share = 0.0
    started = time.monotonic()

    def do_GET(self) -> None:
        n = int((time.monotonic() - self.started) * 50)  # 50 requests a second
        errors = int(n * self.error_share)
        route = 'route="/api/uploads",method="GET"'
        lines = ["# TYPE http_requests_total counter",
                 f'http_requests_total{{{route},status="200",version="x"}} {n - errors}',
                 f'http_requests_total{{{route},status="503",version="x"}} {errors}',
                 "# TYPE http_request_duration_seconds histogram"]
        lines += [f'http_request_duration_seconds_bucket{{{route},status="200",version="x",le="{le}"}} {n}'
                  for le in ("0.05", "+Inf")]
        lines += [f"http_request_duration_seconds_count{{{route},status=\"200\",version=\"x\"}} {n}",
                  f"http_request_duration_seconds_sum{{{route},status=\"200\",version=\"x\"}} {n * 0.01}"]
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _replica(track: str, version: str, error_share: float) -> tuple[ThreadingHTTPServer, ReplicaInfo]:
    handler = type("Handler", (_Exposition,), {"error_share": error_share, "started": time.monotonic()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    return server, ReplicaInfo("api", track, version, None, url)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusApi, LocalPrometheus]]:
    manifests = load_app_manifests(ROOT / "manifests" / "overlays" / "local")
    work = tmp_path_factory.mktemp("prometheus")
    prometheus = LocalPrometheus(work, work / "run", manifests, TIME_SCALE)
    replicas = [_replica("stable", "v1", 0.3), _replica("canary", "v2-bad", 0.3),
                _replica("canary", "v2", 0.0)]
    try:
        prometheus.service.start(timeout=30)
        prometheus.discover([info for _, info in replicas])
        api = prometheus.api()
        _wait_for(api, 'count(count_over_time(up{service="api-canary"}[1m]) >= 3) == 2', timeout=40)
        yield api, prometheus
    finally:
        prometheus.service.cleanup()
        for server, _ in replicas:
            server.shutdown()
            server.server_close()


def _wait_for(api: PrometheusApi, promql: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.query(promql).vector:
            return
        time.sleep(0.25)
    pytest.fail(f"prometheus: {promql!r} stayed empty for {timeout:.0f}s")


def _measure(api: PrometheusApi, canary_hash: str) -> dict[str, tuple[Any, str]]:
    overlay = ROOT / "manifests" / "overlays" / "local"
    spec = ControlPlaneSpec.from_documents(load_app_manifests(overlay).documents)
    out = {}
    for template in spec.templates.values():
        for metric in template.metric_specs({"service-name": "api-canary", "canary-hash": canary_hash}):
            assert metric.query is not None
            value = api.query(metric.query).argo_value
            out[metric.name] = (value, measurement_phase(metric, value).value)
    return out


def test_the_templates_fail_a_canary_that_errors(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    measured = _measure(scraped[0], "v2-bad")
    value, phase = measured["success-rate"]
    assert phase == "Failed" and 0.6 < value[0] < 0.8, measured
    assert measured["latency-p95"][1] == "Successful"


def test_the_templates_pass_a_clean_canary(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    measured = _measure(scraped[0], "v2")
    assert measured["success-rate"] == ([1.0], "Successful"), measured


def test_targets_carry_the_monitors_labels(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    series = scraped[0].query('up{rollouts_pod_template_hash="v2-bad"}').vector or ()
    labels = [dict(s) for s, _ in series]
    assert len(labels) == 1, labels  # a canary pod is behind the canary Service only
    assert {k: labels[0][k] for k in ("namespace", "service", "job", "role", "endpoint", "container")} == {
        "namespace": "easy-upload", "service": "api-canary", "job": "api-canary", "role": "canary",
        "endpoint": "http", "container": "api"}


def test_the_error_rate_alert_fires_on_the_erring_stable_service(
    scraped: tuple[PrometheusApi, LocalPrometheus],
) -> None:
    api, prometheus = scraped
    assert "EasyUploadApiHighErrorRate" in prometheus.alerts
    _wait_for(api, 'ALERTS{alertname="EasyUploadApiHighErrorRate",alertstate="firing"}', timeout=30)
    firing = {a.name for a in api.alerts() if a.state == "firing"}
    assert "EasyUploadApiHighLatency" not in firing  # every stand-in request takes < 50 ms


def test_an_alert_that_fired_was_pending_first(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    """What a check that did not fire reports: whether the condition ever held. The error-rate alert
    (for: 5m -> 10 s, evaluated every 2 s) was pending at ~5 evaluations before it fired, by the
    ``ALERTS`` series Prometheus wrote; the backlog alert, whose condition never holds here, at none."""
    api, prometheus = scraped
    since = prometheus.service.started_at
    _wait_for(api, 'ALERTS{alertname="EasyUploadApiHighErrorRate",alertstate="firing"}', timeout=30)
    assert api.pending_evaluations("EasyUploadApiHighErrorRate", since) >= 4
    assert api.pending_evaluations("EasyUploadQueueBacklog", since) == 0
    why = api.why_not_fired(["EasyUploadApiHighErrorRate"], since, "the test began")
    assert re.fullmatch(r"firing now, pending at \d+ rule evaluations since the test began",
                        why["EasyUploadApiHighErrorRate"]), why


# -- the stages' alert checks, against the same real Prometheus ------------------------------------

def _context(url: str, began: float) -> Context:
    env = SimpleNamespace(prometheus_url=url, target="local")
    return cast(Context, SimpleNamespace(env=env, started=began))


def _since_fixture(scraped: tuple[PrometheusApi, LocalPrometheus]) -> float:
    """Monotonic time at which a scenario would have begun with the fixture (its Prometheus start)."""
    started = scraped[1].service.started_at
    return time.monotonic() - (time.time() - started)


def test_step_fails_for_an_alert_that_does_not_fire(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    ctx = _context(scraped[0].url, _since_fixture(scraped))
    with pytest.raises(StepFailed, match=r"EasyUploadQueueBacklog \(inactive now, never pending since the "
                                         r"scenario began\)"):
        steps_alerts.alerts(ctx, {"fire": ["EasyUploadQueueBacklog"], "within_s": 1}, {}, None)


def test_step_passes_for_the_alert_that_fires(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    ctx = _context(scraped[0].url, _since_fixture(scraped))
    seen = steps_alerts.alerts(ctx, {"fire": ["EasyUploadApiHighErrorRate"], "within_s": 30}, {}, None)
    assert "EasyUploadApiHighErrorRate" in seen["fired"] and seen["prometheus"] == "Prometheus 2.42.0"


def test_step_none_fails_when_an_alert_fired(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    ctx = _context(scraped[0].url, _since_fixture(scraped))
    _wait_for(scraped[0], 'ALERTS{alertstate="firing"}', timeout=30)
    with pytest.raises(StepFailed, match=r"EasyUploadApiHighErrorRate \(pending from \+\d+s\)"):
        steps_alerts.alerts(ctx, {"none": True, "settle_s": 0}, {}, None)


def test_step_none_ignores_an_alert_active_before_the_scenario(
    scraped: tuple[PrometheusApi, LocalPrometheus],
) -> None:
    _wait_for(scraped[0], "ALERTS_FOR_STATE", timeout=30)
    time.sleep(1.1)  # activeAt is in whole seconds
    assert steps_alerts.alerts(_context(scraped[0].url, time.monotonic()), {"none": True, "settle_s": 0},
                               {}, None)["fired"] == {}


def test_load_alert_results(scraped: tuple[PrometheusApi, LocalPrometheus]) -> None:
    since = scraped[1].service.started_at
    spec = {"fire": ["EasyUploadApiHighErrorRate", "EasyUploadQueueBacklog"], "within_s": 1, "none": True,
            "cannot_fire": {"EasyUploadWorkerFailures": "no worker in this test"}}
    _wait_for(scraped[0], 'ALERTS{alertstate="firing"}', timeout=30)
    results = {r.id: r for r in alert_results("t", spec, scraped[0].url, since)}
    assert results["LOAD-t-alert-EasyUploadApiHighErrorRate"].status is Status.PASSED
    backlog, pages = results["LOAD-t-alert-EasyUploadQueueBacklog"], results["LOAD-t-no-alerts"]
    assert backlog.status is Status.FAILED
    assert backlog.message.endswith("(inactive now, never pending since the load began)"), backlog.message
    assert pages.status is Status.FAILED and "EasyUploadApiHighErrorRate (pending from +" in pages.message
    skipped = results["LOAD-t-alert-EasyUploadWorkerFailures"]
    assert skipped.status is Status.SKIPPED and "no worker in this test" in skipped.message
    assert all(r.proven_on for r in results.values())
