"""What every cluster driver (kind, aws/EKS) shares: :class:`ClusterControl`, the
:class:`~harness.targets.base.Control` of a real cluster through the ``kubernetes`` client (write side
as kubectl and the Argo Rollouts plugin do it; read side from Pods, metrics.k8s.io, the kubelet, HPA
status and events, Rollout and AnalysisRun objects).

Verified in the nightly workflow only (no Kubernetes API server on a laptop); here it is tested
against the kubernetes client's own APIs and models over recorded JSON.
"""

from __future__ import annotations

from harness.targets.cluster.driver import COMPONENTS, ClusterControl, Workload
from harness.targets.cluster.kube import KubeApis
from harness.targets.cluster.observer import ClusterObserver

__all__ = ["COMPONENTS", "ClusterControl", "ClusterObserver", "KubeApis", "Workload"]
