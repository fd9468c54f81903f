"""What every cluster driver (kind, aws/EKS) shares: reading HPA, Rollout and AnalysisRun status
through the ``kubernetes`` client as the typed read side of :class:`~harness.targets.base.Control`.

Verified in the nightly workflow only (no Kubernetes API server on a laptop); here it is tested
against the kubernetes client's own models.
"""

from __future__ import annotations

from harness.targets.cluster.observer import ClusterObserver

__all__ = ["ClusterObserver"]
