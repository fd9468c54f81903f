"""Scrape targets labelled from the repository's monitors, and its rules on the model's time."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.targets.local.alert_rules import scale_duration, scale_ranges, write_rule_file
from harness.targets.local.cluster.inputs import ReplicaInfo
from harness.targets.local.manifests import load_app_manifests
from harness.targets.local.monitoring import ScrapeSpec

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def documents() -> list[dict[str, object]]:
    return load_app_manifests(ROOT / "manifests" / "overlays" / "local").documents


def _replica(component: str, track: str, version: str, port: int) -> ReplicaInfo:
    return ReplicaInfo(component, track, version, None, f"http://127.0.0.1:{port}/metrics")


def test_stable_pods_sit_behind_both_services_until_a_canary_runs(documents: list[dict[str, object]]) -> None:
    spec = ScrapeSpec.from_documents(documents)
    alone = spec.targets([_replica("api", "stable", "v1", 1001)])
    assert sorted(labels["service"] for _, labels in alone) == ["api-canary", "api-stable"]
    with_canary = spec.targets([_replica("api", "stable", "v1", 1001), _replica("api", "canary", "v2", 1002)])
    services = {(address, labels["service"]) for address, labels in with_canary}
    assert services == {("127.0.0.1:1001", "api-stable"), ("127.0.0.1:1002", "api-canary")}


def test_labels_are_the_operators_and_the_pods(documents: list[dict[str, object]]) -> None:
    spec = ScrapeSpec.from_documents(documents)
    (_, api), = [t for t in spec.targets([_replica("api", "canary", "v2", 1002)])]
    assert api == {"__metrics_path__": "/metrics", "namespace": "easy-upload", "pod": "api-v2-1002",
                   "container": "api", "endpoint": "http", "rollouts_pod_template_hash": "v2",
                   "role": "canary", "service": "api-canary", "job": "api-canary"}
    (address, worker), = spec.targets([_replica("worker", "stable", "v1", 1003)])
    assert address == "127.0.0.1:1003"
    assert worker["job"] == "easy-upload/worker" and worker["endpoint"] == "metrics"
    assert "service" not in worker


def test_a_monitor_that_selects_nothing_scrapes_nothing(documents: list[dict[str, object]]) -> None:
    changed = [dict(d, spec={**d["spec"], "selector": {"matchLabels": {"app": "other"}}})  # type: ignore[dict-item]
               if d.get("kind") in ("ServiceMonitor", "PodMonitor") else d for d in documents]
    assert ScrapeSpec.from_documents(changed).targets([_replica("api", "stable", "v1", 1001)]) == []


def test_interval_is_the_monitors() -> None:
    doc = {"kind": "PodMonitor", "metadata": {"name": "w"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "podMetricsEndpoints": [{"interval": "5s"}]}}
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "w"}]}}
    workload = {"kind": "Deployment", "metadata": {"name": "worker"}, "spec": {"template": template}}
    assert ScrapeSpec.from_documents([doc, workload]).interval_s == 5.0


@pytest.mark.parametrize(("expr", "scaled"), [
    ("rate(x[5m])", "rate(x[15000ms])"),
    ("max_over_time(rate(x[1h30m])[10m:1m])", "max_over_time(rate(x[270000ms])[30000ms:3000ms])"),
    ("max_over_time(x[10m:])", "max_over_time(x[30000ms:])"),
    ('x{status=~"5[0-9]"} > 0.02', 'x{status=~"5[0-9]"} > 0.02'),
])
def test_range_windows_are_scaled(expr: str, scaled: str) -> None:
    assert scale_ranges(expr, 20.0) == scaled


def test_durations_are_scaled() -> None:
    assert scale_duration("5m", 20.0) == "15000ms" and scale_duration("10m", 1.0) == "600000ms"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="no promtool (apt-get install prometheus)")
def test_prometheus_loads_the_scaled_rules(tmp_path: Path, documents: list[dict[str, object]]) -> None:
    path = tmp_path / "rules.yaml"
    alerts = write_rule_file(path, documents, 20.0)
    assert "EasyUploadApiHighErrorRate" in alerts
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    rules = {r.get("alert"): r for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]}
    assert rules["EasyUploadApiHighErrorRate"]["for"] == "15000ms"
    assert rules["EasyUploadApiHighErrorRate"]["annotations"]["runbook_url"].startswith("https://")
