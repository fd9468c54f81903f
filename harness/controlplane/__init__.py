"""The local control plane: pure HPA v2 and Argo Rollouts canary algorithms, PromQL, the router.

Layers (imports point down only)::

    expr                 safe evaluator of Argo's expr-lang conditions
    analysis             AnalysisTemplate / AnalysisRun semantics (measurement and run phases)
    hpa                  HPA v2: replicas per metric, behaviour policies, stabilisation
    rollout              canary step machine (setWeight / pause / analysis, background analysis, abort)
    promql_parser/promql PromQL subset over scraped /metrics; a real Prometheus when given
    router               per-request weighted HTTP proxy (stable / canary), streaming
    plane                LocalControlPlane: the I/O loop tying them to local processes
    k8s                  the same questions asked of a real cluster (kubernetes client)

Only ``plane``, ``router``, ``promql`` and ``k8s`` do I/O.
"""

from __future__ import annotations

from harness.controlplane.analysis import AnalysisRun, AnalysisTemplate, MetricSpec, Phase
from harness.controlplane.hpa import HpaAutoscaler, HpaPolicy
from harness.controlplane.k8s import ClusterObserver
from harness.controlplane.plane import (
    ClusterHandle,
    ControlPlaneSpec,
    LocalControlPlane,
    ReplicaInfo,
    local_cluster,
)
from harness.controlplane.promql import LocalPromQL, PrometheusEvaluator, QueryResult, SampleStore
from harness.controlplane.rollout import CanaryRollout, CanaryStrategy
from harness.controlplane.router import Router

__all__ = [
    "AnalysisRun",
    "AnalysisTemplate",
    "CanaryRollout",
    "CanaryStrategy",
    "ClusterHandle",
    "ClusterObserver",
    "ControlPlaneSpec",
    "HpaAutoscaler",
    "HpaPolicy",
    "LocalControlPlane",
    "LocalPromQL",
    "MetricSpec",
    "Phase",
    "PrometheusEvaluator",
    "QueryResult",
    "ReplicaInfo",
    "Router",
    "SampleStore",
    "local_cluster",
]
