"""Autoscaling verdicts: the observed replica series judged against the manifest's HPA spec.

Inputs are the stage's own observations (:mod:`.observe`): replica counts from the process table
(or the platform's replica list) and CPU utilisation per replica measured by the stage, never the
autoscaler's bookkeeping. Times are wall-clock seconds; the spec's windows and periods are manifest
seconds, converted with the platform's ``time_scale``. CPU is kept as *demand*: the replicas'
utilisation summed (percent of one replica's request), which the load sets whatever the number of
replicas it is spread over. The HPA's recommendation for an observed sample follows the Kubernetes
documentation ("Algorithm details"): ``ceil(replicas * mean utilisation / target)`` =
``ceil(demand / target)``, unchanged within the tolerance (0.1).

Slack: the stage's CPU windows (about 1 s, longer on a busy machine: the median spacing of its
samples) are not aligned with the controller's, so a verdict on timing allows two CPU windows plus
one controller sync period (15 s manifest,
``--horizontal-pod-autoscaler-sync-period``); it is small against the windows it judges (300 s).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from harness.k8s.specs import HpaPolicy
from harness.results import Result, Severity, Status
from harness.stages.load.checks import error_result as _error
from harness.stages.load.checks import load_result, result
from harness.stages.load.hpa_rules import (
    SATURATED_HOST_PCT,
    Observed,
    count_at,
    early_decreases,
    recommendation,
    scale_limit,
    target_of,
)


def hpa_results(
    policy: HpaPolicy | None,
    component: str,
    seen: Observed,
    *,
    evidence: Sequence[str] = (),
    proven_on: str | None = None,
) -> list[Result]:
    """``LOAD-hpa-<component>-{scale-up,max,policy,direction,scale-down}``."""
    prefix = f"LOAD-hpa-{component}"
    names = ("scale-up", "max", "policy", "direction", "scale-down")
    if policy is None:
        out = [
            result(
                f"{prefix}-{n}",
                f"HPA of {component}: {n}",
                False,
                f"no HorizontalPodAutoscaler targets {component!r} in the manifests",
                {},
                evidence,
            )
            for n in names
        ]
    elif not seen.counts:
        out = [
            _error(f"{prefix}-{n}", f"HPA of {component}: {n}", "no replica was observed", evidence)
            for n in names
        ]
    else:
        up = scale_up(prefix, policy, seen, evidence)
        out = [
            up,
            bounds(prefix, policy, seen, evidence),
            rate(prefix, policy, seen, evidence),
            direction(prefix, policy, seen, evidence),
            scale_down(prefix, policy, seen, up, evidence),
        ]
    for r in out:
        r.proven_on = proven_on
        r.measured.setdefault("observed_by", seen.source)
    return out


def scale_up(prefix: str, policy: HpaPolicy, seen: Observed, evidence: Sequence[str]) -> Result:
    """The replicas rise above where they started once the stage measured CPU above the target.

    Fails when the observed CPU exceeded target x (1 + tolerance) and the process table never showed
    more replicas (an autoscaler that does not act, or replicas that never start). Error when the
    load never drove CPU that high: nothing was shown either way.
    """
    target, title = target_of(policy), f"HPA of {policy.target_name} scales up under load"
    during = [n for t, n in seen.counts if t <= seen.load_end]
    start, peak = seen.counts[0][1], max(during, default=0)
    demand = max((d for t, d in seen.cpu if t <= seen.load_end), default=0.0)
    measured = {
        "start_replicas": start,
        "peak_replicas": peak,
        "min_replicas": policy.min_replicas,
        "peak_demand_pct": round(demand, 1),
        "target_utilisation_pct": target,
        "host_cpu_pct": round(seen.host_cpu_pct, 1),
    }
    if demand <= start * target * (1 + policy.tolerance):
        busy = seen.host_cpu_pct >= SATURATED_HOST_PCT
        why = (
            f"the host was {seen.host_cpu_pct:.0f}% busy, so the replicas could not burn more: rerun on "
            "a quieter machine"
            if busy
            else "the load was too light for this machine"
        )
        return _error(
            f"{prefix}-scale-up",
            title,
            f"observed CPU peaked at {demand:.0f}% of one request, "
            f"never above {start} x target {target}% (+{policy.tolerance:.0%}); nothing shown: {why}",
            evidence,
            measured,
        )
    return result(
        f"{prefix}-scale-up",
        title,
        peak > start,
        f"{start} -> peak {peak} replicas while observed CPU reached {demand:.0f}% of one request "
        f"(~{math.ceil(demand / target)} replicas' worth at target {target}%)",
        measured,
        evidence,
    )


def bounds(prefix: str, policy: HpaPolicy, seen: Observed, evidence: Sequence[str]) -> Result:
    """The observed replicas stay within ``minReplicas..maxReplicas`` (once at least min ran).

    Fails on any process-table sample above ``maxReplicas`` (an autoscaler that does not clamp, a
    launcher that over-spawns) or below ``minReplicas`` after min was first reached.
    """
    counts = [n for _, n in seen.counts]
    reached = next((i for i, n in enumerate(counts) if n >= policy.min_replicas), len(counts))
    peak, low = max(counts), min(counts[reached:], default=policy.min_replicas)
    ok = peak <= policy.max_replicas and low >= policy.min_replicas
    return result(
        f"{prefix}-max",
        f"HPA of {policy.target_name} stays within minReplicas..maxReplicas",
        ok,
        f"observed {low}..{peak} replicas; spec {policy.min_replicas}..{policy.max_replicas}",
        {
            "peak_replicas": peak,
            "lowest_replicas": low,
            "max_replicas": policy.max_replicas,
            "min_replicas": policy.min_replicas,
        },
        evidence,
        Severity.CRITICAL,
    )


def rate(prefix: str, policy: HpaPolicy, seen: Observed, evidence: Sequence[str]) -> Result:
    """Every observed change stays within the spec's scaling policies for its period.

    For each observed increase (decrease) the stage computes, from the spec alone, the most the
    ``behavior.scaleUp`` (``scaleDown``) policies allow over each policy's ``periodSeconds`` from the
    replicas observed at the start of that period (Kubernetes docs, "Scaling policies";
    ``selectPolicy`` Max/Min/Disabled). Fails on a jump beyond that (e.g. 2 -> 10 where 4 pods or
    100 % per 15 s are allowed): an autoscaler that ignores its behaviour.
    """
    breaches, changes = [], 0
    for i in range(1, len(seen.counts)):
        (_, before), (t, after) = seen.counts[i - 1], seen.counts[i]
        if after == before:
            continue
        changes += 1
        up = after > before
        rules = policy.scale_up if up else policy.scale_down
        limit = scale_limit(rules, seen.counts, i, seen.time_scale, up)
        if (up and after > max(limit, before)) or (not up and after < min(limit, before)):
            breaches.append(f"{before}->{after} at +{t - seen.counts[0][0]:.1f}s (limit {limit})")
    return result(
        f"{prefix}-policy",
        f"HPA of {policy.target_name} scales within its behaviour policies",
        not breaches,
        "; ".join(breaches) or f"{changes} observed changes, all within the policies",
        {"changes": changes, "breaches": len(breaches)},
        evidence,
    )


def direction(prefix: str, policy: HpaPolicy, seen: Observed, evidence: Sequence[str]) -> Result:
    """Each observed change goes the way the stage's own CPU samples ask.

    An increase is against the CPU when every sample around it (the preceding sync period plus the
    slack) recommends fewer replicas than there were; a decrease, when every one recommends more.
    A recommendation within the tolerance keeps the count, so a controller acting on a 1 s peak the
    stage's 2 s average smoothed out is not blamed. Moves to restore ``minReplicas``/``maxReplicas``
    are exempt. Fails for an autoscaler that scales on anything but the CPU it is told to follow
    (e.g. up with idle replicas, down under load).
    """
    target, lookback = target_of(policy), seen.slack_s
    wrong = []
    for (_, before), (t, after) in itertools.pairwise(seen.counts):
        if (
            after == before
            or (after > before and after <= policy.min_replicas)
            or (after < before and after >= policy.max_replicas)
        ):
            continue
        recs = [
            recommendation(count_at(seen.counts, tc), d, target, policy.tolerance)
            for tc, d in seen.cpu
            if t - lookback <= tc <= t + seen.cpu_window_s
        ]
        ok = (
            any(r >= before for r in recs) if after > before else (not recs or any(r <= before for r in recs))
        )
        if not ok:
            wrong.append(
                f"{before}->{after} at +{t - seen.counts[0][0]:.1f}s while observed CPU called for "
                f"{', '.join(map(str, recs)) or 'nothing'}"
            )
    return result(
        f"{prefix}-direction",
        f"HPA of {policy.target_name} scales the way observed CPU asks",
        not wrong,
        "; ".join(wrong) or f"every change agrees with CPU observed around it (target {target}%)",
        {"against_cpu": len(wrong), "target_utilisation_pct": target},
        evidence,
    )


def scale_down(prefix: str, policy: HpaPolicy, seen: Observed, up: Result, evidence: Sequence[str]) -> Result:
    """After the load, the replicas come back to ``minReplicas``, never before the stabilisation window.

    Each observed decrease from n replicas must come at least ``scaleDown.stabilizationWindowSeconds``
    (minus the slack) after the last moment a recommendation of n or more was due: when the
    replicas reached n, or when the stage's CPU samples called for n (see the module docstring).
    Fails for an autoscaler without stabilisation (it drops as soon as the load does), or one that
    never scales back down within the run.
    """
    title = f"HPA of {policy.target_name} scales back down after its stabilisation window"
    window = policy.scale_down.stabilization_window_seconds
    final = seen.counts[-1][1]
    early = early_decreases(policy, seen)
    after = [t for (_, a), (t, b) in itertools.pairwise(seen.counts) if b < a and t > seen.load_end]
    measured = {
        "stabilisation_window_s": window,
        "final_replicas": final,
        "min_replicas": policy.min_replicas,
        "first_scale_down_after_load_s": round((after[0] - seen.load_end) * seen.time_scale, 1)
        if after
        else -1,
    }
    if up.status is not Status.PASSED:  # nothing to come back down from: as shown (error) or failed
        unshown = up.status is Status.ERROR
        why = (f"no scale-up was shown, so scale-down cannot be: see {up.id}" if unshown
               else f"never scaled up (see {up.id}): scale-down not shown")
        return load_result(f"{prefix}-scale-down", title, Status.ERROR if unshown else Status.FAILED, why,
                           evidence, measured=measured)
    ok = not early and bool(after) and final == policy.min_replicas
    why = "; ".join(early) or (f"back to {final} replicas" if after else f"still {final} replicas at the end")
    return result(
        f"{prefix}-scale-down",
        title,
        ok,
        f"{why} (window {window}s manifest = {window / seen.time_scale:.1f}s here; min "
        f"{policy.min_replicas})",
        measured,
        evidence,
    )


__all__ = ["Observed", "bounds", "direction", "hpa_results", "rate", "scale_down", "scale_up"]
