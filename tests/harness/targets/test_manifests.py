from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.targets.local.manifests import config_settings, load_app_manifests, replica_counts

ROOT = Path(__file__).resolve().parents[3]


def _workload(kind: str, name: str, replicas: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


def _hpa(kind: str, name: str, minimum: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"kind": kind, "name": name}, "maxReplicas": 9}
    if minimum is not None:
        spec["minReplicas"] = minimum
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name}, "spec": spec}


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        ([_workload("Deployment", "worker", 3)], {"worker": 3}),
        ([_workload("Deployment", "worker")], {"worker": 1}),
        ([_workload("Rollout", "api"), _hpa("Rollout", "api", 2)], {"api": 2}),
        ([_workload("Rollout", "api", 5), _hpa("Rollout", "api", 2)], {"api": 2}),  # the HPA owns it
        ([_workload("Rollout", "api"), _hpa("Rollout", "api", None)], {"api": 1}),  # k8s default min 1
        ([_workload("Deployment", "api", 4), _hpa("Rollout", "api", 2)], {"api": 4}),  # HPA targets a kind
        ([_workload("Deployment", "w", 2), _hpa("Deployment", "other", 6)], {"w": 2}),
        ([{"kind": "Service", "metadata": {"name": "api"}}], {}),
    ],
)
def test_replica_counts(docs: list[dict[str, Any]], expected: dict[str, int]) -> None:
    assert replica_counts(docs) == expected


def test_config_settings_reads_the_app_config_map() -> None:
    docs = [{"kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"WORKER_CONCURRENCY": 4}}]
    assert config_settings(docs) == {"WORKER_CONCURRENCY": "4"}
    assert config_settings([]) == {}


def test_the_local_overlay() -> None:
    manifests = load_app_manifests(ROOT / "manifests" / "overlays" / "local")
    assert set(manifests.replicas) >= {"api", "worker"}
    assert all(n >= 1 for n in manifests.replicas.values())
    assert [d["metadata"]["name"] for d in manifests.documents if d["kind"] == "Rollout"] == ["api"]
