"""Cluster status readers against fake APIs returning the kubernetes client's own models."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from harness.targets.cluster.observer import ClusterObserver


class FakeAutoscaling:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def read_namespaced_horizontal_pod_autoscaler_status(self, name: str, namespace: str) -> Any:
        self.calls.append((name, namespace))
        return client.V2HorizontalPodAutoscaler(
            spec=client.V2HorizontalPodAutoscalerSpec(
                min_replicas=2,
                max_replicas=10,
                scale_target_ref=client.V2CrossVersionObjectReference(kind="Rollout", name="api"),
            ),
            status=client.V2HorizontalPodAutoscalerStatus(
                current_replicas=3,
                desired_replicas=5,
                current_metrics=[
                    client.V2MetricStatus(
                        type="Resource",
                        resource=client.V2ResourceMetricStatus(
                            name="cpu", current=client.V2MetricValueStatus(average_utilization=113)
                        ),
                    )
                ],
                conditions=[
                    client.V2HorizontalPodAutoscalerCondition(
                        type="ScalingLimited", status="False", reason="DesiredWithinRange"
                    )
                ],
            ),
        )


class FakeCustom:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def get_namespaced_custom_object_status(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict[str, Any]:
        self.calls.append((group, version, namespace, plural, name))
        return {
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 5}, {"pause": {}}, {"setWeight": 50}]}}},
            "status": {
                "phase": "Degraded",
                "currentStepIndex": 2,
                "abort": True,
                "message": "RolloutAborted: Rollout aborted update to revision 2",
                "stableRS": "6d4f",
                "currentPodHash": "7c9b",
                "canary": {
                    "weights": {
                        "canary": {"weight": 0, "podTemplateHash": "7c9b"},
                        "stable": {"weight": 100, "podTemplateHash": "6d4f"},
                    }
                },
            },
        }

    def list_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str
    ) -> dict[str, Any]:
        self.calls.append((group, version, namespace, plural))
        return {
            "items": [
                {
                    "metadata": {"name": "api-7c9b-2-2", "ownerReferences": [{"name": "api-7c9b"}]},
                    "status": {
                        "phase": "Failed",
                        "metricResults": [
                            {
                                "name": "success-rate",
                                "measurements": [
                                    {
                                        "phase": "Failed",
                                        "value": "[0.81]",
                                        "finishedAt": "2026-01-01T00:00:00Z",
                                    }
                                ],
                            }
                        ],
                    },
                },
                {"metadata": {"name": "other-1", "ownerReferences": [{"name": "other-abc"}]}, "status": {}},
            ]
        }


def test_hpa_status_from_client_models() -> None:
    api = FakeAutoscaling()
    status = ClusterObserver("easy-upload", api, FakeCustom()).autoscaler("api")
    assert api.calls == [("api", "easy-upload")]
    assert (status.current_replicas, status.desired_replicas, status.max_replicas) == (3, 5, 10)
    assert status.component == "api" and status.metrics == {"cpu_utilization_pct": 113.0}
    assert status.conditions == {"ScalingLimited": "False: DesiredWithinRange"}


def test_rollout_status_of_an_aborted_canary() -> None:
    custom = FakeCustom()
    status = ClusterObserver("easy-upload", FakeAutoscaling(), custom).rollout("api")
    assert custom.calls[0] == ("argoproj.io", "v1alpha1", "easy-upload", "rollouts", "api")
    assert (status.phase, status.aborted, status.weight, status.step_index) == ("Degraded", True, 0, 2)
    assert (status.stable_version, status.canary_version) == ("6d4f", "7c9b") and "aborted" in status.message
    assert status.steps == 3


def test_analysis_runs_of_the_rollout() -> None:
    runs = ClusterObserver("easy-upload", FakeAutoscaling(), FakeCustom()).analysis_runs("api")
    assert [(r.name, r.phase) for r in runs] == [("api-7c9b-2-2", "Failed")]
    measurement = runs[0].measurements[0]
    assert (measurement.metric, measurement.phase, measurement.value) == ("success-rate", "Failed", "[0.81]")
    assert measurement.at == 1767225600.0
