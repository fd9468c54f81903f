"""Scale events of a HorizontalPodAutoscaler, from the Events its controller records.

The HPA controller (kubernetes ``pkg/controller/podautoscaler/horizontal.go``, ``reconcileAutoscaler``)
records ``SuccessfulRescale`` with the message ``New size: %d; reason: %s``. The event names only the
new size: the previous one is the preceding event's new size, and for the first event in the list
it is the HPA's ``minReplicas`` only if that is where the workload started; we cannot know, so it
is reported as ``-1`` (unknown) rather than guessed.
"""

from __future__ import annotations

import re
from typing import Any

from harness.targets.base import ScaleEvent
from harness.targets.cluster.kube import KubeApis, get

_NEW_SIZE = re.compile(r"New size: (\d+); reason: (.*)")
UNKNOWN = -1


def _when(event: Any) -> float:
    """When it last happened (``lastTimestamp``; ``eventTime`` for events.k8s.io-style records)."""
    stamp = (get(event, "last_timestamp") or get(event, "event_time")
             or get(event, "metadata", "creation_timestamp"))
    return float(stamp.timestamp()) if stamp is not None and hasattr(stamp, "timestamp") else 0.0


def scale_events(apis: KubeApis, hpa: str) -> tuple[ScaleEvent, ...]:
    """The HPA's rescales, oldest first."""
    selector = f"involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name={hpa}"
    items = apis.core.list_namespaced_event(apis.namespace, field_selector=selector).items or []
    events: list[ScaleEvent] = []
    for item in sorted(items, key=_when):
        found = _NEW_SIZE.match(str(get(item, "message") or ""))
        if get(item, "reason") != "SuccessfulRescale" or found is None:
            continue
        before = events[-1].to_replicas if events else UNKNOWN
        events.append(ScaleEvent(_when(item), hpa, before, int(found.group(1)), found.group(2)))
    return tuple(events)


__all__ = ["UNKNOWN", "scale_events"]
