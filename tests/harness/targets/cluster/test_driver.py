"""The cluster driver against the kubernetes client's own APIs and models, over recorded JSON:
each Control method sends the request kubectl / the Argo Rollouts plugin sends, and the read side
turns what the API server reports into the protocol's snapshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from harness.errors import TargetError
from harness.targets.base import ContainerSecurity, Control
from harness.targets.cluster.driver import ClusterControl, Workload
from harness.targets.cluster.kube import KubeApis
from tests.harness.targets.cluster.recorded import Recorded, api_client

NS = "/namespaces/easy-upload"
ROLLOUT = f"/apis/argoproj.io/v1alpha1{NS}/rollouts/api"
PODS = f"/api/v1{NS}/pods"
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "5864a46",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T20:28:14Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
ABOVE = "cpu resource utilization (percentage of request) above target"
STEPS = [{"setWeight": 5}, {"pause": {"duration": "2m"}}, {"setWeight": 25}, {"pause": {}}]


def _pod(
    name: str,
    *,
    hash_: str = "6d4f",
    role: str = "stable",
    version: str = "v1",
    ready: str = "True",
    phase: str = "Running",
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "uid": f"uid-{name}",
            "labels": {"app.kubernetes.io/name": "api", "role": role, "rollouts-pod-template-hash": hash_},
        },
        "spec": {
            "nodeName": "kind-worker",
            "containers": [
                {
                    "name": "api",
                    "image": "easy-upload-api:local",
                    "env": [{"name": "APP_VERSION", "value": version}],
                    "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "256Mi"},
                        "limits": {"cpu": "1", "memory": "512Mi"},
                    },
                }
            ],
        },
        "status": {
            "phase": phase,
            "podIP": f"10.244.1.{len(name)}",
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def _rollout(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "api"},
        "spec": {
            "strategy": {"canary": {"steps": STEPS}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "api",
                            "image": "easy-upload-api:local",
                            "env": [
                                {"name": "LOG_LEVEL", "value": "info"},
                                {"name": "APP_VERSION", "value": "v1"},
                            ],
                        }
                    ]
                }
            },
        },
        "status": {"stableRS": "6d4f", "currentPodHash": "6d4f", **status},
    }


def _routes(**extra: Any) -> dict[tuple[str, str], Any]:
    routes: dict[tuple[str, str], Any] = {
        ("GET", "/version"): VERSION,
        ("GET", ROLLOUT): _rollout(),
        ("GET", PODS): {
            "items": [
                _pod("api-6d4f-b"),
                _pod("api-6d4f-a"),
                _pod("api-7c9b-x", hash_="7c9b", role="canary", version="v2-bad"),
            ]
        },
        ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/easy-upload/pods"): {
            "items": [
                {
                    "metadata": {"name": "api-6d4f-a"},
                    "containers": [{"name": "api", "usage": {"cpu": "120m", "memory": "81920Ki"}}],
                }
            ]
        },
        ("GET", "/api/v1/nodes/kind-worker/proxy/metrics/resource"): (
            "# TYPE container_cpu_usage_seconds_total counter\n"
            'container_cpu_usage_seconds_total{container="api",namespace="easy-upload",'
            'pod="api-6d4f-a"} 42.5 1\n'
            'container_cpu_usage_seconds_total{container="api",namespace="other",pod="api-6d4f-b"} 9 1\n'
        ),
    }
    for path, answer in extra.items():
        routes[tuple(path.split(" ", 1))] = answer  # type: ignore[index]
    return routes


def _control(recorded: Recorded, **kwargs: Any) -> ClusterControl:
    apis = KubeApis.from_client("easy-upload", api_client(recorded))
    deps = {
        "postgres": Workload("StatefulSet", "postgres", "harness-deps"),
        "redis": Workload("Deployment", "redis", "harness-deps"),
    }
    return ClusterControl(apis, distribution="kind v0.25.0", dependencies=deps, wait_s=2, **kwargs)


def test_it_is_a_control_and_names_its_platform_from_the_api_server() -> None:
    control = _control(Recorded(_routes()))
    assert isinstance(control, Control)
    assert control.platform == "kind v0.25.0 / Kubernetes v1.31.2"
    assert control.time_scale == 1.0


def test_scale_patches_the_scale_subresource_of_each_kind() -> None:
    recorded = Recorded({})
    control = _control(recorded)
    # the recorder answers 404 to anything unrouted: we look at what was sent
    calls: list[Callable[[], None]] = [
        lambda: control.scale("api", 4),
        lambda: control.scale("worker", 2),
        lambda: control.stop("postgres"),
    ]
    for call in calls:
        with pytest.raises(ApiException):
            call()
    patches = recorded.sent("PATCH")
    assert [(c.path, c.content_type, c.body) for c in patches] == [
        (f"{ROLLOUT}/scale", "application/merge-patch+json", {"spec": {"replicas": 4}}),
        (
            f"/apis/apps/v1{NS}/deployments/worker/scale",
            "application/merge-patch+json",
            {"spec": {"replicas": 2}},
        ),
    ]  # stop(postgres) read its scale first (404 here) and sent nothing


def test_stop_and_start_a_dependency_scale_it_to_zero_and_back() -> None:
    scale = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "postgres"},
        "spec": {"replicas": 1},
    }
    sts = "/apis/apps/v1/namespaces/harness-deps/statefulsets/postgres/scale"
    recorded = Recorded(_routes(**{f"GET {sts}": scale, f"PATCH {sts}": scale}))
    control = _control(recorded)
    control.stop("postgres")
    control.start("postgres")
    assert [c.body for c in recorded.sent("PATCH")] == [{"spec": {"replicas": 0}}, {"spec": {"replicas": 1}}]
    with pytest.raises(TargetError, match="cannot stop/start dependency 's3'"):
        control.stop("s3")


def test_kill_deletes_one_pod_by_name_with_no_grace() -> None:
    deleted = f"/api/v1{NS}/pods/api-6d4f-b"
    recorded = Recorded(_routes(**{f"DELETE {deleted}": _pod("api-6d4f-b")}))  # the API answers the Pod
    control = _control(recorded)
    control.kill("api", 1)  # pods sorted by name: a, b, x
    (call,) = recorded.sent("DELETE")
    assert (call.path, call.query) == (deleted, {"gracePeriodSeconds": "0"})
    with pytest.raises(TargetError, match=r"kill\('api', 3\): 3 pod\(s\) running"):
        control.kill("api", 3)
    with pytest.raises(TargetError, match="unknown component 'db'"):
        control.kill("db", 0)


def test_promote_abort_and_set_weight_patch_the_rollout_status() -> None:
    paused = _rollout(
        currentStepIndex=3, currentPodHash="7c9b", pauseConditions=[{"reason": "CanaryPauseStep"}]
    )
    recorded = Recorded(_routes(**{f"GET {ROLLOUT}": paused, f"PATCH {ROLLOUT}/status": paused}))
    control = _control(recorded)
    control.promote()
    control.promote(full=True)
    control.abort()
    control.set_weight(25)
    assert [(c.path, c.body) for c in recorded.sent("PATCH")] == [
        (f"{ROLLOUT}/status", {"status": {"pauseConditions": None}}),
        (f"{ROLLOUT}/status", {"status": {"promoteFull": True}}),
        (f"{ROLLOUT}/status", {"status": {"abort": True}}),
        (f"{ROLLOUT}/status", {"status": {"currentStepIndex": 2}}),
    ]
    with pytest.raises(TargetError, match="set_weight\\(60\\): no step of the Rollout sets weight 60"):
        control.set_weight(60)


def test_deploy_as_canary_patches_the_pod_template_only() -> None:
    recorded = Recorded(_routes(**{f"PATCH {ROLLOUT}": _rollout()}))
    _control(recorded).deploy("v2-bad", settings={"FAULT_ERROR_RATE": "0.3"})
    (call,) = recorded.sent("PATCH")
    template = call.body["spec"]["template"]
    assert call.path == ROLLOUT and call.content_type == "application/merge-patch+json"
    assert template["metadata"]["labels"] == {"app.kubernetes.io/version": "v2-bad"}
    assert template["spec"]["containers"][0]["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "APP_VERSION", "value": "v2-bad"},
        {"name": "FAULT_ERROR_RATE", "value": "0.3"},
    ]


def test_restart_rolls_a_component_and_deletes_a_dependency_pod() -> None:
    deps_pods = "/api/v1/namespaces/harness-deps/pods"
    redis = {"items": [{"metadata": {"name": "redis-0"}}]}
    recorded = Recorded(
        _routes(
            **{
                f"PATCH {ROLLOUT}": _rollout(),
                f"GET {deps_pods}": redis,
                f"DELETE {deps_pods}/redis-0": redis["items"][0],
            }
        )
    )
    control = _control(recorded)
    control.restart("api")
    control.restart("redis")
    (patch,) = recorded.sent("PATCH")
    assert set(patch.body["spec"]) == {"restartAt"}
    assert [c.path for c in recorded.sent("DELETE")] == [f"{deps_pods}/redis-0"]
    assert recorded.calls[-2].query == {"labelSelector": "app.kubernetes.io/name=redis"}


def test_replicas_are_what_the_platform_observes() -> None:
    seen: list[str] = []

    def probe(pod: str, namespace: str) -> ContainerSecurity:
        seen.append(pod)
        return ContainerSecurity(uid=10001, read_only_root=True, effective_capabilities="0000000000000000")

    control = _control(Recorded(_routes()), security=probe)
    first = {r.name: r for r in control.replicas("api")}
    control.replicas("api")
    a, canary = first["api-6d4f-a"], first["api-7c9b-x"]
    assert (a.version, a.track, a.ready, a.listening) == ("v1", "stable", True, ("10.244.1.10:8000",))
    assert (a.memory_bytes, a.cpu_seconds) == (81920 * 1024, 42.5)
    assert a.limits == {"cpu": 1.0, "memory": 512 * 2**20} and a.requests == {
        "cpu": 0.25,
        "memory": 256 * 2**20,
    }
    assert a.security is not None and a.security.uid == 10001
    assert (canary.version, canary.track, canary.memory_bytes, canary.cpu_seconds) == (
        "v2-bad",
        "canary",
        None,
        None,
    )
    assert sorted(seen) == [
        "api-6d4f-a",
        "api-6d4f-b",
        "api-7c9b-x",
    ]  # once per pod: posture is fixed for its life


def test_a_pod_not_ready_or_not_running_is_reported_as_such() -> None:
    pods = {"items": [_pod("api-1", ready="False"), _pod("api-2", phase="Pending")]}
    control = _control(Recorded(_routes(**{f"GET {PODS}": pods})))
    assert [(r.name, r.ready) for r in control.replicas("api")] == [("api-1", False)]


def test_autoscaler_reads_the_hpa_and_its_rescale_events() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "api"},
        "spec": {"minReplicas": 2, "maxReplicas": 10, "scaleTargetRef": {"kind": "Rollout", "name": "api"}},
        "status": {
            "currentReplicas": 4,
            "desiredReplicas": 6,
            "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 91}}}
            ],
            "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"}],
        },
    }
    events = {
        "items": [
            {
                "metadata": {"name": "e2"},
                "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "api"},
                "reason": "SuccessfulRescale",
                "lastTimestamp": "2026-01-01T00:02:00Z",
                "message": f"New size: 6; reason: {ABOVE}",
            },
            {
                "metadata": {"name": "e1"},
                "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "api"},
                "reason": "SuccessfulRescale",
                "lastTimestamp": "2026-01-01T00:01:00Z",
                "message": f"New size: 4; reason: {ABOVE}",
            },
            {
                "metadata": {"name": "e0"},
                "involvedObject": {"kind": "HorizontalPodAutoscaler", "name": "api"},
                "reason": "FailedGetResourceMetric",
                "lastTimestamp": "2026-01-01T00:00:30Z",
                "message": "no metrics",
            },
        ]
    }
    recorded = Recorded(
        _routes(
            **{
                "GET /apis/autoscaling/v2/namespaces/easy-upload/horizontalpodautoscalers/api/status": hpa,
                "GET /api/v1/namespaces/easy-upload/events": events,
            }
        )
    )
    status = _control(recorded).autoscaler("api")
    assert status is not None
    assert (status.current_replicas, status.desired_replicas, status.metrics) == (
        4,
        6,
        {"cpu_utilization_pct": 91.0},
    )
    assert [(e.from_replicas, e.to_replicas) for e in status.events] == [(-1, 4), (4, 6)]
    assert (
        recorded.calls[-1].query["fieldSelector"]
        == "involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=api"
    )
    assert _control(Recorded(_routes())).autoscaler("worker") is None  # no HPA: 404


def test_rollout_names_versions_not_replicaset_hashes() -> None:
    canary = _rollout(
        phase="Paused",
        currentStepIndex=1,
        currentPodHash="7c9b",
        canary={"weights": {"canary": {"weight": 5}}},
    )
    recorded = Recorded(
        _routes(
            **{
                f"GET {ROLLOUT}/status": canary,
                "GET /apis/argoproj.io/v1alpha1/namespaces/easy-upload/analysisruns": {"items": []},
            }
        )
    )
    status = _control(recorded).rollout()
    assert (status.phase, status.stable_version, status.canary_version, status.weight, status.step_index) == (
        "Paused",
        "v1",
        "v2-bad",
        5,
        1,
    )
