"""A cluster's :class:`~harness.targets.base.LoadWorkers`: Locust workers as a Job in the cluster.

``start(n, master_port, files)``, in order (each through the ``kubernetes`` client's typed APIs):

1. the namespace ``harness-load`` (created when absent, and then deleted by ``release``);
2. the ConfigMap ``locust-files``: the files the load stage hands over plus ``tunnel.py``;
   the Secret ``locust-config``: the run's config (it holds bearer tokens);
3. the relay Pod and the Service ``locust-master`` (``assets/locust-relay.yaml``), awaited Ready;
4. ``kubectl port-forward --address 127.0.0.1`` to the relay's back port and a
   :class:`~harness.targets.cluster.tunnel.Dialer` carrying the workers' connections to the master;
5. the Job (:func:`~harness.targets.cluster.loadjob.worker_job`): ``parallelism = completions = n``,
   the image ``locustio/locust`` at the harness's own Locust version (master and workers must agree).

The workers reach the API in-cluster (``api_url``: the ingress controller's Service), which the
master hands them as Locust's host. ``failures()`` reads the Job's pods (and the relay's): a pod that
ended ``Failed``, or waits on a reason it will not get past (image pull, crash loop, bad config),
is one line naming the pod. ``release()`` stops the Dialer and the port-forward and deletes the Job
(with its pods), the ConfigMap, the Secret, the relay and the Service, each attempted even when
another fails, and the namespace when it made it. Verified in the nightly workflow only; tested here
against the client's own models.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast

import yaml

from harness.errors import TargetError
from harness.targets.base import LoadFiles
from harness.targets.cluster import tunnel
from harness.targets.cluster.kube import KubeApis, get
from harness.targets.cluster.loadjob import MASTER_SERVICE, worker_job

NAMESPACE = "harness-load"
RELAY = Path(__file__).with_name("assets") / "locust-relay.yaml"
RELAY_POD, FRONT, BACK = "locust-relay", 5557, 5600
STUCK = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
         "CreateContainerConfigError", "CreateContainerError")
INGRESS_URL = "http://ingress-nginx-controller.ingress-nginx.svc.cluster.local"


class Stoppable(Protocol):
    def stop(self) -> None: ...


Forward = Callable[[str, str, int], tuple[Stoppable, int]]  # (namespace, resource, remote) -> (process, port)


def locust_image() -> str:
    """``locustio/locust:<the harness's Locust version>``: a worker and its master must agree."""
    from importlib.metadata import version

    return f"locustio/locust:{version('locust')}"


def relay_documents(namespace: str = NAMESPACE, image: str | None = None) -> list[dict[str, Any]]:
    """The relay Pod and the Service ``locust-master`` in ``namespace``."""
    docs = [copy.deepcopy(d) for d in yaml.safe_load_all(RELAY.read_text(encoding="utf-8")) if d]
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
        if doc["kind"] == "Pod" and image is not None:
            doc["spec"]["containers"][0]["image"] = image
    return docs


class ClusterWorkers:
    """Locust workers as a Job in ``namespace`` of the cluster behind ``apis``."""

    def __init__(self, apis: KubeApis, forward: Forward, *, platform: Callable[[], str],
                 api_url: str = INGRESS_URL, namespace: str = NAMESPACE, image: str | None = None,
                 ready_s: float = 180.0) -> None:
        from kubernetes import client

        # bodies are sent as dicts: the client serialises a dict as it is (no model needed)
        self.apis, self.forward, self.platform = apis, forward, platform
        self.api_url, self.namespace, self.ready_s = api_url, namespace, ready_s
        self.image = image or locust_image()
        self.batch = client.BatchV1Api(apis.core.api_client)
        self._made: list[tuple[str, str]] = []  # (kind, name) in creation order
        self._tunnel: list[Stoppable] = []

    @property
    def where(self) -> str:
        return f"Job {self.namespace}/locust-workers on {self.platform()}"

    def start(self, count: int, master_port: int, files: LoadFiles) -> str:
        core, ns = self.apis.core, self.namespace
        self._namespace()
        shipped = {**files.files, "tunnel.py": Path(tunnel.__file__).read_text(encoding="utf-8")}
        self._create("ConfigMap", "locust-files", lambda: core.create_namespaced_config_map(ns, {
            "metadata": {"name": "locust-files"}, "data": shipped}))
        secret = {"metadata": {"name": "locust-config"}, "type": "Opaque",
                  "stringData": {"config.json": files.config}}
        self._create("Secret", "locust-config", lambda: core.create_namespaced_secret(ns, secret))
        pod, service = relay_documents(ns, self.image)
        self._create("Pod", RELAY_POD, lambda: core.create_namespaced_pod(ns, pod))
        self._create("Service", MASTER_SERVICE, lambda: core.create_namespaced_service(ns, service))
        self._await_relay()
        process, port = self.forward(ns, f"pod/{RELAY_POD}", BACK)
        self._tunnel.append(process)
        self._tunnel.append(tunnel.Dialer(port, master_port, idle=count + 2).start())
        job = worker_job(count, namespace=ns, master_host=MASTER_SERVICE, master_port=FRONT, image=self.image)
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        args[args.index("-f") + 1] = f"/load/{files.locustfile}"
        self._create("Job", "locust-workers", lambda: self.batch.create_namespaced_job(ns, cast(Any, job)))
        return self.api_url

    def failures(self) -> list[str]:
        selector = f"app.kubernetes.io/name in (locust-worker,{RELAY_POD})"
        pods = self.apis.core.list_namespaced_pod(self.namespace, label_selector=selector).items or []
        return [line for pod in pods if (line := pod_failure(pod))]

    def release(self) -> None:
        for part in reversed(self._tunnel):
            part.stop()
        self._tunnel.clear()
        problems = []
        for kind, name in reversed(self._made):
            try:
                self._delete(kind, name)
            except Exception as exc:  # every other object is still deleted
                problems.append(f"{kind} {name}: {exc}")
        self._made.clear()
        if problems:
            raise TargetError(f"load workers in {self.namespace}: could not delete " + "; ".join(problems))

    # -- helpers ---------------------------------------------------------------------------------
    def _namespace(self) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self.apis.core.read_namespace(self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self._create("Namespace", self.namespace, lambda: self.apis.core.create_namespace(
                {"metadata": {"name": self.namespace,
                              "labels": {"app.kubernetes.io/part-of": "cloud-verify-harness"}}}))

    def _create(self, kind: str, name: str, create: Callable[[], object]) -> None:
        create()
        self._made.append((kind, name))

    def _delete(self, kind: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        core, ns = self.apis.core, self.namespace
        calls: dict[str, Callable[[], object]] = {
            "Job": lambda: self.batch.delete_namespaced_job(name, ns, propagation_policy="Background"),
            "ConfigMap": lambda: core.delete_namespaced_config_map(name, ns),
            "Secret": lambda: core.delete_namespaced_secret(name, ns),
            "Pod": lambda: core.delete_namespaced_pod(name, ns, grace_period_seconds=0),
            "Service": lambda: core.delete_namespaced_service(name, ns),
            "Namespace": lambda: core.delete_namespace(name),
        }
        try:
            calls[kind]()
        except ApiException as exc:
            if exc.status != 404:  # already gone is what we wanted
                raise

    def _await_relay(self) -> None:
        deadline = time.monotonic() + self.ready_s
        while True:
            pod = self.apis.core.read_namespaced_pod(RELAY_POD, self.namespace)
            failed = pod_failure(pod)
            if failed:
                raise TargetError(f"load workers: the relay did not start: {failed}")
            if any(get(c, "type") == "Ready" and get(c, "status") == "True"
                   for c in get(pod, "status", "conditions") or []):
                return
            if time.monotonic() > deadline:
                raise TargetError(f"load workers: pod {RELAY_POD} not Ready after {self.ready_s:.0f}s "
                                  f"(phase {get(pod, 'status', 'phase')})")
            time.sleep(1.0)


def pod_failure(pod: Any) -> str:
    """``"pod NAME: ..."`` when the pod failed or is stuck on a reason it will not get past; else ``""``."""
    name = get(pod, "metadata", "name")
    for status in get(pod, "status", "container_statuses") or []:
        waiting, ended = get(status, "state", "waiting"), get(status, "state", "terminated")
        if waiting is not None and get(waiting, "reason") in STUCK:
            return f"pod {name}: {get(waiting, 'reason')} ({get(waiting, 'message') or 'no message'})"
        if ended is not None and get(ended, "exit_code") not in (0, None):
            return (f"pod {name}: exited {get(ended, 'exit_code')} ({get(ended, 'reason') or 'Error'}"
                    f"{': ' + str(get(ended, 'message')) if get(ended, 'message') else ''})")
    if get(pod, "status", "phase") == "Failed":
        return f"pod {name}: Failed ({get(pod, 'status', 'reason') or 'no reason'}: " \
               f"{get(pod, 'status', 'message') or 'no message'})"
    return ""


__all__ = ["INGRESS_URL", "NAMESPACE", "ClusterWorkers", "locust_image", "pod_failure", "relay_documents"]
