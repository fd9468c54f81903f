"""The in-cluster Locust workers' Job: rendered per run, valid against the Kubernetes 1.31 schema."""

from __future__ import annotations

import pytest

from harness.k8s.validate import validate_documents
from harness.targets.cluster.loadjob import worker_job


def test_the_job_runs_n_workers_dialling_the_master() -> None:
    job = worker_job(4, master_host="relay.harness-load.svc", master_port=6000, image="locust:x")
    assert (job["spec"]["parallelism"], job["spec"]["completions"]) == (4, 4)
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:5] == ["--worker", "--master-host", "relay.harness-load.svc", "--master-port", "6000"]
    assert validate_documents([job]) == []


def test_the_job_is_bounded_and_unprivileged() -> None:
    job = worker_job(1)
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["backoffLimit"] == 0 and spec["activeDeadlineSeconds"] > 0
    security = pod["containers"][0]["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]} and not pod["automountServiceAccountToken"]
    assert worker_job(2)["spec"]["parallelism"] == 2 and worker_job(1)["spec"]["parallelism"] == 1  # a copy


def test_a_broken_render_is_caught_by_the_schema() -> None:
    job = worker_job(1)
    job["spec"]["parallelism"] = "two"
    assert validate_documents([job])
    with pytest.raises(ValueError, match="workers: expected >= 1"):
        worker_job(0)
