"""Verdicts on what the control plane did under load: pure functions over timelines and counts.

The HPA checks read the control plane's replica timeline (manifest time) and the policy parsed from
the manifests; the canary checks read the rollout's outcome and the requests each track served.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from harness.controlplane.hpa import HpaPolicy, ScaleEvent, scale_up_limit
from harness.results import Result, Severity, Status


def _result(
    rid: str,
    title: str,
    ok: bool,
    message: str,
    measured: Mapping[str, Any],
    evidence: Sequence[str],
    severity: Severity = Severity.HIGH,
) -> Result:
    return Result(
        id=rid,
        stage="load",
        title=title,
        status=Status.PASSED if ok else Status.FAILED,
        severity=severity,
        message=message,
        measured=dict(measured),
        evidence=list(evidence),
    )


def _series(timeline: Sequence[Mapping[str, Any]], component: str) -> list[tuple[float, int]]:
    return [
        (float(s["t"]), int(s["replicas"][component])) for s in timeline if component in s.get("replicas", {})
    ]


SATURATED_HOST_PCT = 90.0


def hpa_results(
    policy: HpaPolicy | None,
    component: str,
    timeline: Sequence[Mapping[str, Any]],
    load_end_t: float,
    evidence: Sequence[str] = (),
    host_cpu_pct: float = 0.0,
) -> list[Result]:
    """``LOAD-hpa-<component>-{scale-up,max,policy,scale-down}`` from the replica timeline.

    A missing scale-up is ``failed``, unless the whole machine was saturated (``host_cpu_pct``):
    then the replicas could not use the CPU the load asked for, and the result is ``error``.
    """
    prefix = f"LOAD-hpa-{component}"
    if policy is None:
        return [
            _result(
                f"{prefix}-{name}",
                f"HPA of {component}: {name}",
                False,
                f"no HorizontalPodAutoscaler targets {component!r} in the manifests",
                {},
                evidence,
            )
            for name in ("scale-up", "max", "policy", "scale-down")
        ]
    series = _series(timeline, component)
    scale_up = _scale_up(prefix, policy, series, timeline, component, load_end_t, evidence)
    if scale_up.status is Status.FAILED and host_cpu_pct >= SATURATED_HOST_PCT:
        # the replicas could not burn more CPU than the machine gave them: nothing was proven either way
        scale_up.status = Status.ERROR
        scale_up.message += (
            f"; the host's CPU was {host_cpu_pct:.0f}% busy during the load, so the replicas "
            "could not reach the target: rerun on a quieter machine"
        )
    scale_up.measured["host_cpu_pct"] = round(host_cpu_pct, 1)
    scale_down = _scale_down(prefix, policy, series, load_end_t, evidence)
    if scale_up.status is Status.ERROR and scale_down.status is Status.FAILED:
        scale_down.status = Status.ERROR  # it depends on a scale-up the machine could not produce
        scale_down.message += "; see the scale-up result: the host was saturated"
    return [
        scale_up,
        _max(prefix, policy, series, evidence),
        _policy(prefix, policy, series, evidence),
        scale_down,
    ]


def _scale_up(
    prefix: str,
    policy: HpaPolicy,
    series: list[tuple[float, int]],
    timeline: Sequence[Mapping[str, Any]],
    component: str,
    load_end_t: float,
    evidence: Sequence[str],
) -> Result:
    during = [n for t, n in series if t <= load_end_t]
    peak = max(during, default=0)
    utilisation = [s["utilisation"].get(component) for s in timeline if s["t"] <= load_end_t]
    peak_util = max((u for u in utilisation if u is not None), default=None)
    target = policy.metrics[0].average_utilization if policy.metrics else None
    ok = peak > policy.min_replicas
    return _result(
        f"{prefix}-scale-up",
        f"HPA of {component} scales up under load",
        ok,
        f"peak {peak} replicas (min {policy.min_replicas}); peak CPU {_pct(peak_util)} of request "
        f"vs target {target}%",
        {
            "peak_replicas": peak,
            "min_replicas": policy.min_replicas,
            "peak_utilisation_pct": round(peak_util or 0.0, 1),
            "target_utilisation_pct": target or 0,
        },
        evidence,
    )


def _max(prefix: str, policy: HpaPolicy, series: list[tuple[float, int]], evidence: Sequence[str]) -> Result:
    peak = max((n for _, n in series), default=0)
    return _result(
        f"{prefix}-max",
        f"HPA of {policy.target_name} never exceeds maxReplicas",
        peak <= policy.max_replicas,
        f"peak {peak} replicas, maxReplicas {policy.max_replicas}",
        {"peak_replicas": peak, "max_replicas": policy.max_replicas},
        evidence,
        Severity.CRITICAL,
    )


def _policy(
    prefix: str, policy: HpaPolicy, series: list[tuple[float, int]], evidence: Sequence[str]
) -> Result:
    """Every observed increase stays within the scale-up policies given the increases before it."""
    ups: list[ScaleEvent] = []
    breaches = []
    for (_, before), (t, after) in itertools.pairwise(series):
        if after > before:
            limit = min(scale_up_limit(before, policy.scale_up, ups, [], t), policy.max_replicas)
            if after > max(limit, before):
                breaches.append(f"t={t:.0f}s {before}->{after} (limit {limit})")
            ups.append(ScaleEvent(t, after - before))
    return _result(
        f"{prefix}-policy",
        f"HPA of {policy.target_name} scales up within its behaviour policies",
        not breaches,
        "; ".join(breaches) or f"{len(ups)} scale-ups, all within the policies",
        {"scale_ups": len(ups), "breaches": len(breaches)},
        evidence,
    )


def _scale_down(
    prefix: str,
    policy: HpaPolicy,
    series: list[tuple[float, int]],
    load_end_t: float,
    evidence: Sequence[str],
) -> Result:
    window = policy.scale_down.stabilization_window_seconds
    after = [(t, n) for t, n in series if t > load_end_t]
    peak = max((n for t, n in series if t <= load_end_t), default=0)
    first_down = next((t for (_, a), (t, b) in itertools.pairwise(after) if b < a), None)
    if first_down is None and after and after[0][1] < peak:
        first_down = after[0][0]
    final = series[-1][1] if series else 0
    measured = {
        "stabilisation_window_s": window,
        "final_replicas": final,
        "min_replicas": policy.min_replicas,
        "first_scale_down_after_s": round(first_down - load_end_t, 1) if first_down is not None else -1,
    }
    title = f"HPA of {policy.target_name} scales back down after its stabilisation window"
    if peak <= policy.min_replicas:
        return _result(
            f"{prefix}-scale-down",
            title,
            False,
            "never scaled up, so scale-down is not shown",
            measured,
            evidence,
        )
    if first_down is None:
        return _result(
            f"{prefix}-scale-down",
            title,
            False,
            f"still {final} replicas at the end of the run",
            measured,
            evidence,
        )
    early = first_down - load_end_t < window * 0.9  # CPU takes a sample to fall: allow one sync of slack
    ok = not early and final == policy.min_replicas
    why = (
        "scaled down before the window ended"
        if early
        else f"back to {final} replicas"
        + ("" if final == policy.min_replicas else f", not {policy.min_replicas}")
    )
    return _result(
        f"{prefix}-scale-down",
        title,
        ok,
        f"first scale-down {first_down - load_end_t:.0f}s after the load ended (window {window}s); {why}",
        measured,
        evidence,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def canary_exposure_result(
    rid: str,
    canary_requests: int,
    total_requests: int,
    max_weight: int,
    evidence: Sequence[str] = (),
    tolerance: float = 0.05,
) -> Result:
    """The share of user requests served by the canary is bounded by the highest step weight reached."""
    share = canary_requests / total_requests if total_requests else 0.0
    bound = max_weight / 100 + tolerance
    return _result(
        rid,
        "Canary exposure is bounded by the step weights",
        total_requests > 0 and share <= bound,
        f"{canary_requests} of {total_requests} requests ({share:.1%}) hit the canary; highest weight "
        f"{max_weight}% (bound {bound:.0%})",
        {
            "canary_requests": canary_requests,
            "total_requests": total_requests,
            "exposure_share": round(share, 4),
            "max_weight_pct": max_weight,
            "bound": round(bound, 4),
        },
        evidence,
    )


def rollback_result(
    rid: str, status: Mapping[str, Any], weights: Sequence[int], evidence: Sequence[str]
) -> Result:
    """A bad canary must be aborted (weight 0, stable restored) before it reaches 100 %."""
    aborted = status.get("phase") == "Degraded"
    reached = max(weights, default=0)
    ok = aborted and reached < 100 and status.get("canary_weight", 0) == 0
    message = (
        f"aborted at weight {reached}% ({status.get('message', '')})"
        if aborted
        else f"not aborted: phase {status.get('phase')}, weights {list(weights)}"
    )
    return _result(
        rid,
        "A bad canary is rolled back before 100%",
        ok,
        message,
        {"max_weight_pct": reached, "phase": str(status.get("phase"))},
        evidence,
        Severity.CRITICAL,
    )


def promotion_result(
    rid: str,
    status: Mapping[str, Any],
    weights: Sequence[int],
    step_weights: Sequence[int],
    evidence: Sequence[str],
) -> Result:
    """A healthy canary goes through every setWeight step to 100 %."""
    ok = (
        status.get("phase") == "Healthy"
        and list(weights) == list(step_weights)
        and status.get("canary_weight") in (100, 0)
    )
    return _result(
        rid,
        "A healthy canary is promoted through every step",
        ok,
        f"phase {status.get('phase')}; weights {list(weights)} (steps {list(step_weights)}) "
        f"{status.get('message', '')}".strip(),
        {"steps_passed": len(weights), "steps": len(step_weights), "phase": str(status.get("phase"))},
        evidence,
        Severity.HIGH,
    )


def data_loss_result(
    rid: str, accepted: int, processed: int, rows: int, how: str, evidence: Sequence[str] = ()
) -> Result:
    ok = accepted == processed == rows and accepted > 0
    return _result(
        rid,
        "No data loss under load: accepted == processed == stored",
        ok,
        f"accepted {accepted}, processed {processed}, rows {rows} ({how})",
        {"accepted": accepted, "processed": processed, "rows": rows},
        evidence,
        Severity.CRITICAL,
    )


__all__ = [
    "canary_exposure_result",
    "data_loss_result",
    "hpa_results",
    "promotion_result",
    "rollback_result",
]
