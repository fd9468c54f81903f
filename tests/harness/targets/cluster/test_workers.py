"""In-cluster Locust workers against the kubernetes client's own APIs and models, over recorded
JSON: what ``start`` creates (and in which namespace, with which files, image and master), which
pods ``failures`` names, and that ``release`` deletes everything ``start`` made, also after a
``start`` that failed half-way."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from harness.errors import TargetError
from harness.k8s.validate import validate_documents
from harness.stages.load.workers import load_files
from harness.targets.base import LoadWorkers
from harness.targets.cluster.kube import KubeApis
from harness.targets.cluster.workers import INGRESS_URL, ClusterWorkers, locust_image, relay_documents
from tests.harness.targets.cluster.recorded import Recorded, api_client

NS = "/api/v1/namespaces/harness-load"
JOBS = "/apis/batch/v1/namespaces/harness-load/jobs"
READY_RELAY = {"metadata": {"name": "locust-relay"},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def echo(call: dict[str, Any]) -> Any:
    return call["body"]


class FakeForward:
    """``kubectl port-forward`` stand-in: records what was forwarded; nothing listens on the port,
    so the Dialer just keeps retrying until released."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, int]] = []
        self.stopped = 0

    def __call__(self, namespace: str, resource: str, remote: int) -> tuple[FakeForward, int]:
        from harness.services.process import free_port

        self.asked.append((namespace, resource, remote))
        return self, free_port()

    def stop(self) -> None:
        self.stopped += 1


def routes() -> dict[tuple[str, str], Any]:
    made = {("POST", "/api/v1/namespaces"): echo, ("POST", f"{NS}/configmaps"): echo,
            ("POST", f"{NS}/secrets"): echo, ("POST", f"{NS}/pods"): echo, ("POST", f"{NS}/services"): echo,
            ("GET", f"{NS}/pods/locust-relay"): READY_RELAY, ("POST", JOBS): echo}
    status = {"kind": "Status", "status": "Success"}
    gone: dict[tuple[str, str], Any] = {("DELETE", path): status for path in (
        f"{JOBS}/locust-workers", f"{NS}/configmaps/locust-files", f"{NS}/secrets/locust-config", NS)}
    # the API server answers a Pod's or a Service's deletion with the object itself
    gone[("DELETE", f"{NS}/pods/locust-relay")] = {"kind": "Pod", "metadata": {"name": "locust-relay"}}
    gone[("DELETE", f"{NS}/services/locust-master")] = {"kind": "Service",
                                                          "metadata": {"name": "locust-master"}}
    return {**made, **gone}


def workers(recorded: Recorded, forward: FakeForward) -> ClusterWorkers:
    apis = KubeApis.from_client("easy-upload", api_client(recorded))
    return ClusterWorkers(apis, forward, platform=lambda: "kind v0.25.0 / Kubernetes v1.31.2", ready_s=5)


def test_start_ships_the_files_and_runs_n_workers_through_the_relay() -> None:
    recorded, forward = Recorded(routes()), FakeForward()
    pool = workers(recorded, forward)
    assert isinstance(pool, LoadWorkers)
    files = load_files('{"tokens": ["t-secret"]}')
    try:
        assert pool.start(3, 45123, files) == INGRESS_URL
    finally:
        pool.release()
    posted = {c.path: c.body for c in recorded.sent("POST")}
    assert posted["/api/v1/namespaces"]["metadata"]["name"] == "harness-load"
    shipped = posted[f"{NS}/configmaps"]["data"]
    assert set(shipped) == {"locustfile.py", "shapes.py", "tunnel.py"}
    assert "t-secret" not in str(shipped)  # the tokens go in the Secret only
    assert posted[f"{NS}/secrets"]["stringData"] == {"config.json": '{"tokens": ["t-secret"]}'}
    job = posted[JOBS]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert job["spec"]["parallelism"] == job["spec"]["completions"] == 3
    assert container["image"] == locust_image() == posted[f"{NS}/pods"]["spec"]["containers"][0]["image"]
    args = container["args"]
    assert args[args.index("--master-host") + 1] == "locust-master" and args[args.index("-f") + 1] == (
        "/load/locustfile.py")
    assert forward.asked == [("harness-load", "pod/locust-relay", 5600)] and forward.stopped == 1
    assert pool.where == "Job harness-load/locust-workers on kind v0.25.0 / Kubernetes v1.31.2"
    assert validate_documents([job, *relay_documents()]) == []


def test_release_deletes_everything_start_made_and_the_job_with_its_pods() -> None:
    recorded, forward = Recorded(routes()), FakeForward()
    pool = workers(recorded, forward)
    pool.start(1, 45123, load_files("{}"))
    pool.release()
    pool.release()  # twice is harmless
    deleted = [c.path for c in recorded.sent("DELETE")]
    assert deleted == [f"{JOBS}/locust-workers", f"{NS}/services/locust-master", f"{NS}/pods/locust-relay",
                       f"{NS}/secrets/locust-config", f"{NS}/configmaps/locust-files", NS]
    job_delete = recorded.sent("DELETE")[0]
    assert "Background" in (job_delete.query.get("propagationPolicy"), str(job_delete.body))


def test_a_start_that_fails_half_way_is_cleaned_up_by_release() -> None:
    recorded = Recorded({k: v for k, v in routes().items() if k != ("POST", JOBS)})  # the Job is refused
    forward = FakeForward()
    pool = workers(recorded, forward)
    with pytest.raises(ApiException):
        pool.start(2, 45123, load_files("{}"))
    pool.release()
    deleted = [c.path for c in recorded.sent("DELETE")]
    assert f"{NS}/configmaps/locust-files" in deleted and NS in deleted
    assert f"{JOBS}/locust-workers" not in deleted and forward.stopped == 1


def test_an_existing_namespace_is_used_and_kept() -> None:
    recorded = Recorded(routes())
    recorded.routes[("GET", NS)] = {"metadata": {"name": "harness-load"}}
    pool = workers(recorded, FakeForward())
    pool.start(1, 45123, load_files("{}"))
    pool.release()
    assert ("POST", "/api/v1/namespaces") not in [(c.method, c.path) for c in recorded.calls]
    assert NS not in [c.path for c in recorded.sent("DELETE")]


def _pod(name: str, state: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    if state is not None:
        status["containerStatuses"] = [{"name": "worker", "image": "x", "imageID": "", "ready": False,
                                        "restartCount": 0, "state": state}]
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/name": "locust-worker"}},
            "status": status}


def test_failures_name_the_pod_and_why() -> None:
    pods = {"items": [
        _pod("locust-workers-ok", {"running": {}}, phase="Running"),
        _pod("locust-workers-done", {"terminated": {"exitCode": 0}}, phase="Succeeded"),
        _pod("locust-workers-oom", {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}, phase="Failed"),
        _pod("locust-workers-pull", phase="Pending",
             state={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}),
        _pod("locust-workers-evicted", phase="Failed", reason="Evicted", message="low on memory"),
    ]}
    recorded = Recorded({("GET", f"{NS}/pods"): pods})
    lines = workers(recorded, FakeForward()).failures()
    assert lines == ["pod locust-workers-oom: exited 137 (OOMKilled)",
                     "pod locust-workers-pull: ImagePullBackOff (Back-off pulling image)",
                     "pod locust-workers-evicted: Failed (Evicted: low on memory)"]
    assert "locust-worker" in recorded.calls[0].query["labelSelector"]


def test_a_relay_that_cannot_start_stops_start_naming_its_pod() -> None:
    stuck = {"metadata": {"name": "locust-relay"}, "status": {"phase": "Pending", "containerStatuses": [
        {"name": "relay", "image": "x", "imageID": "", "ready": False, "restartCount": 0,
         "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]}}
    recorded = Recorded(routes())
    recorded.routes[("GET", f"{NS}/pods/locust-relay")] = stuck
    pool = workers(recorded, FakeForward())
    with pytest.raises(TargetError, match="pod locust-relay: ErrImagePull"):
        pool.start(1, 45123, load_files("{}"))
    pool.release()
    assert f"{NS}/pods/locust-relay" in [c.path for c in recorded.sent("DELETE")]
