"""Canary verdicts: the replicas' own request counters judged against the Rollout's declared steps.

Inputs are the stage's observations (:mod:`.observe`): per scrape interval, the user requests and
5xx each version's replicas counted themselves (never the router's figures), the versions left in
the process table at the end, and the declared schedule (:mod:`.schedule`). What the platform
reports about its rollout is quoted in the messages, never used for the verdict.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.results import Result, Severity
from harness.stages.load.checks import error_result, result
from harness.stages.load.schedule import WeightWindow, allowed_weight, final_step_at

MIN_REQUESTS = 20  # fewer requests in a window say nothing about a share
ALPHA = 1e-5  # a window's canary count less likely than this under the allowed weight is a breach
OBSERVABLE_S = 3.0  # a weight held shorter than this (wall) falls between two scrapes
SETTLED_S = 2.0  # after the last canary request, stable must serve this long (wall) to count as rolled back
Interval = tuple[float, int, int, int, int]  # end t, canary requests, canary 5xx, other requests, other 5xx


@dataclass(frozen=True, slots=True)
class CanaryObserved:
    """One canary under load, as the stage saw it."""

    t0: float  # wall t of the deploy call (before the rollout began: bounds are lenient)
    canary: str  # the version the stage deployed
    traffic: Sequence[tuple[float, Mapping[str, tuple[int, int]]]]  # per interval: version -> (n, 5xx)
    versions_at_end: Mapping[str, Mapping[str, int]]  # component -> version -> replicas, at the end
    time_scale: float = 1.0
    reported: str = ""  # the platform's own account, quoted in messages
    source: str = "replicas' /metrics (http_requests_total), process table"

    def intervals(self) -> list[Interval]:
        out = []
        for t, by_version in self.traffic:
            cn, ce = by_version.get(self.canary, (0, 0))
            others = [v for k, v in by_version.items() if k != self.canary]
            out.append((t, cn, ce, sum(n for n, _ in others), sum(e for _, e in others)))
        return out

    def manifest_s(self, t: float) -> float:
        return (t - self.t0) * self.time_scale


def exposure_result(
    rid: str, seen: CanaryObserved, schedule: Sequence[WeightWindow], evidence: Sequence[str] = ()
) -> Result:
    """The canary's share of user requests never exceeds the weight the declared steps allow then.

    In consecutive windows of at least 20 user requests, the canary's count (its replicas' own
    counters against all replicas' counters) must be a plausible draw at the weight the schedule
    allows by the window's end: a binomial tail probability below 1e-5 is a breach. Fails for a
    router that ignores the weights (e.g. 50/50 from the start), a rollout that skips steps, or a
    canary that served no request at all.
    """
    rows = seen.intervals()
    canary, total = sum(r[1] for r in rows), sum(r[1] + r[3] for r in rows)
    breaches = []
    for end, n, c in _windows(rows):
        weight = allowed_weight(schedule, seen.manifest_s(end))
        if _improbable(c, n, weight / 100):
            breaches.append(
                f"{c}/{n} ({c / n:.0%}) at +{end - seen.t0:.1f}s while at most {weight}% was allowed"
            )
    ok = canary > 0 and not breaches
    why = "; ".join(breaches) or ("the canary served no user request" if canary == 0 else "within the steps")
    return result(
        rid,
        "Canary exposure follows the declared step weights",
        ok,
        f"{canary} of {total} user requests ({canary / max(total, 1):.1%}) hit {seen.canary}: {why}",
        {
            "canary_requests": canary,
            "total_requests": total,
            "exposure_share": round(canary / max(total, 1), 4),
            "breaches": len(breaches),
            "observed_by": seen.source,
        },
        evidence,
    )


def rollback_result(rid: str, seen: CanaryObserved, evidence: Sequence[str] = ()) -> Result:
    """A canary the stage saw failing is rolled back before it takes all traffic, and is gone.

    The stage first confirms the canary is bad from its own counters (a higher 5xx share than the
    stable's), else the planted fault did not show and nothing is shown (error). Passed when, after
    the canary's last request, the stable version served on (>= 20 requests, >= 2 s), no canary
    replica is left in the process table, and no window ever sent ~all requests to the canary.
    Fails for a rollout controller that ignores its analysis (promotes the bad canary) or an abort
    that leaves the canary serving.
    """
    rows, title = seen.intervals(), "A bad canary is rolled back before 100%"
    cn, ce, on, oe = (sum(r[i] for r in rows) for i in (1, 2, 3, 4))
    measured = {
        "canary_requests": cn,
        "canary_5xx_ratio": round(ce / max(cn, 1), 4),
        "stable_5xx_ratio": round(oe / max(on, 1), 4),
        "observed_by": seen.source,
    }
    if ce == 0 or ce / cn <= oe / max(on, 1):
        message = (
            f"the canary's own counters show no fault ({ce}/{cn} 5xx): the planted fault "
            f"did not show, nothing to roll back; platform: {seen.reported}"
        )
        return error_result(rid, title, message, evidence, measured, Severity.CRITICAL)
    last = max(r[0] for r in rows if r[1])
    after = sum(r[3] for r in rows if r[0] > last)
    settled = after >= MIN_REQUESTS and rows[-1][0] - last >= SETTLED_S
    left = {c: n for c, v in seen.versions_at_end.items() if (n := v.get(seen.canary, 0))}
    full = _reached_all(rows)
    ok = settled and not left and not full
    why = [] if settled else [f"the canary served until {rows[-1][0] - last:.1f}s before the end"]
    why += [f"canary replicas left: {left}"] if left else []
    why += ["a window sent ~all requests to the canary"] if full else []
    measured.update(stable_requests_after=after, canary_replicas_left=sum(left.values()))
    return result(
        rid,
        title,
        ok,
        f"{'; '.join(why) or 'rolled back: stable served on, canary gone'} "
        f"(canary 5xx {ce}/{cn}); platform: {seen.reported}",
        measured,
        evidence,
        Severity.CRITICAL,
    )


def promotion_result(
    rid: str, seen: CanaryObserved, schedule: Sequence[WeightWindow], evidence: Sequence[str] = ()
) -> Result:
    """A healthy canary ends up serving every request, not before the declared steps allow it.

    Passed when, from some moment to the end, only the new version served (>= 20 requests), no
    replica of another version is left (API and workers), that moment is no earlier than the
    declared steps' pauses and analyses allow, and the canary served requests at each
    intermediate weight held long enough to be seen (3 s wall). Fails for a rollout that never
    promotes, skips its steps, or leaves old replicas behind.
    """
    rows, title = seen.intervals(), "A healthy canary is promoted through every step"
    since = _all_new_since(rows)
    earliest = final_step_at(schedule)
    left = {
        c: {v: n for v, n in vs.items() if v != seen.canary and n} for c, vs in seen.versions_at_end.items()
    }
    left = {c: v for c, v in left.items() if v}
    skipped = [w for w in _observable(schedule, seen.time_scale) if not _served_at(rows, seen, schedule, w)]
    problems = [] if since is not None else ["the new version never served every request"]
    if since is not None and seen.manifest_s(since) < earliest - SETTLED_S * seen.time_scale:
        problems.append(
            f"all traffic after {seen.manifest_s(since):.0f}s (manifest); the steps need {earliest:.0f}s"
        )
    problems += [f"replicas of other versions left: {left}"] if left else []
    problems += [f"no canary request at weight {w}%" for w in skipped]
    return result(
        rid,
        title,
        not problems,
        "; ".join(problems)
        or f"promoted after "
        f"{seen.manifest_s(since or 0):.0f}s (manifest; steps need {earliest:.0f}s); platform: "
        f"{seen.reported}",
        {
            "promoted_after_s": round(seen.manifest_s(since), 1) if since else -1,
            "steps_need_s": earliest,
            "observed_by": seen.source,
        },
        evidence,
    )


def _windows(rows: Sequence[Interval]) -> list[tuple[float, int, int]]:
    """(end t, requests, canary requests) of consecutive intervals grouped to >= MIN_REQUESTS."""
    out, n, c = [], 0, 0
    for t, cn, _, on, _ in rows:
        n, c = n + cn + on, c + cn
        if n >= MIN_REQUESTS:
            out.append((t, n, c))
            n = c = 0
    return out


def _improbable(canary: int, n: int, p: float) -> bool:
    """Whether ``canary`` or more of ``n`` requests at weight ``p`` has a probability below ALPHA."""
    if canary == 0 or p >= 1:
        return False
    if p <= 0:
        return True
    tail = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(canary, n + 1))
    return tail < ALPHA


def _reached_all(rows: Sequence[Interval]) -> bool:
    """Whether some window of >= MIN_REQUESTS requests went ~all to the canary."""
    return any(c / n >= 0.95 for _, n, c in _windows(rows))


def _all_new_since(rows: Sequence[Interval]) -> float | None:
    """The start of the final stretch in which only the new version served (>= MIN_REQUESTS)."""
    n, start = 0, None
    for t, cn, _, on, _ in reversed(rows):
        if on:
            break
        n, start = n + cn, t
    return start if n >= MIN_REQUESTS else None


def _observable(schedule: Sequence[WeightWindow], time_scale: float) -> list[int]:
    """Intermediate weights whose stretch lasts long enough (>= 3 s wall) to be seen in the counters."""
    spans = [(w, (n.from_s - w.from_s) / time_scale) for w, n in itertools.pairwise(schedule)]
    return [w.weight for w, span in spans if 0 < w.weight < 100 and span >= OBSERVABLE_S]


def _served_at(
    rows: Sequence[Interval], seen: CanaryObserved, schedule: Sequence[WeightWindow], weight: int
) -> bool:
    return any(cn for t, cn, _, _, _ in rows if allowed_weight(schedule, seen.manifest_s(t)) == weight)


__all__ = ["CanaryObserved", "exposure_result", "promotion_result", "rollback_result"]
