"""The local target's model of a cluster: HPA v2 and Argo Rollouts as written, the router, the loop.

Owned by the local target (stages never import it; they read its decisions through
:class:`~harness.targets.base.Control`). Layers (imports point down only)::

    analysis             AnalysisTemplate / AnalysisRun semantics (measurement and run phases;
                         conditions by harness.k8s.expr, Argo's expr-lang)
    hpa                  HPA v2: replicas per metric, behaviour policies, stabilisation
    rollout              canary step machine (setWeight / pause / analysis, background analysis, abort)
    status               the model's AnalysisRuns as the protocol's snapshots
    inputs               what the controllers act on and read: cluster handle, spec, clock, CPU
    router               per-request weighted HTTP proxy (stable / canary), streaming
    plane                LocalControlPlane: the controllers' loop over the local processes; the
                         analysis queries go to a real Prometheus (harness.services.prometheus_api)

Only ``plane`` and ``router`` do I/O.
"""

from __future__ import annotations

from harness.targets.local.cluster.analysis import AnalysisRun, AnalysisTemplate, MetricSpec, Phase
from harness.targets.local.cluster.hpa import HpaAutoscaler, HpaPolicy
from harness.targets.local.cluster.plane import (
    ClusterHandle,
    ControlPlaneSpec,
    Evaluator,
    LocalControlPlane,
    ReplicaInfo,
)
from harness.targets.local.cluster.rollout import CanaryRollout, CanaryStrategy
from harness.targets.local.cluster.router import Router

__all__ = ["AnalysisRun", "AnalysisTemplate", "CanaryRollout", "CanaryStrategy", "ClusterHandle",
           "ControlPlaneSpec", "Evaluator", "HpaAutoscaler", "HpaPolicy", "LocalControlPlane", "MetricSpec",
           "Phase", "ReplicaInfo", "Router"]
