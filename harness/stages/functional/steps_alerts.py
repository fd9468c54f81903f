"""The ``alerts`` step: what the environment's Prometheus made of the scenario, by its alert rules.

The observation is Prometheus' own: it scraped the replicas' ``/metrics`` and evaluated the
manifests' PrometheusRules; the step reads the ``ALERTS`` / ``ALERTS_FOR_STATE`` series it wrote
(:class:`~harness.services.prometheus_api.PrometheusApi`). It never looks at the app or the model.

* ``fire: [names]``: each alert was firing at some evaluation since the scenario began, waiting up
  to ``within_s`` (default 90) for it; fails naming the ones that did not, their state now and
  whether they were ever pending since (a condition that held too briefly for ``for``, or never).
* ``none: true``: after ``settle_s`` (default 3: a scrape and an evaluation), no alert fired since
  the scenario began; one already pending or firing before it began (a previous drill's) does not
  count, and a pending one is not a page. Fails naming each, with when it became pending.
* ``cannot_fire: {name: reason}``: alerts this scenario would raise in a cluster but that cannot fire
  here, for the reason given; the stage reports each as skipped with it (nothing is checked).
"""

from __future__ import annotations

import time
from typing import Any

from harness.services.prometheus_api import PrometheusApi, PrometheusApiError, describe_fired
from harness.stages.functional.context import Context, StepFailed, StepSkipped
from harness.stages.functional.scenario import NESTING

DEFAULT_WITHIN_S = 90.0
DEFAULT_SETTLE_S = 3.0


def alerts(ctx: Context, spec: dict[str, Any], expect: dict[str, Any], scope: dict[str, Any] | None) -> Any:
    """Check the alerts the scenario names (see the module docstring)."""
    if not ctx.env.prometheus_url:
        raise StepSkipped(f"target {ctx.env.target!r} offers no Prometheus (Environment.prometheus_url)")
    api = PrometheusApi(ctx.env.prometheus_url)
    since = time.time() - (time.monotonic() - ctx.started)
    detail: dict[str, Any] = {"prometheus": api.name}
    try:
        if spec.get("fire"):
            within = float(spec.get("within_s", DEFAULT_WITHIN_S))
            detail["fired"] = _fired(api, list(spec["fire"]), since, within)
        if spec.get("none"):
            time.sleep(float(spec.get("settle_s", DEFAULT_SETTLE_S)))
            detail["fired"] = _none(api, since)
    except PrometheusApiError as exc:
        raise StepFailed(f"cannot read the alerts: {exc}") from None
    if spec.get("cannot_fire"):
        detail["not_checked"] = dict(spec["cannot_fire"])
    return detail


def _fired(api: PrometheusApi, names: list[str], since: float, within_s: float) -> dict[str, float]:
    """name -> seconds after the scenario began at which the step saw it fired."""
    seen = api.wait_fired(names, since, within_s)
    missing = [n for n in names if n not in seen]
    if missing:
        why = api.why_not_fired(missing, since, "the scenario began")
        states = ", ".join(f"{n} ({reason})" for n, reason in why.items())
        failed = StepFailed(f"did not fire within {within_s:g}s: {states}; {api.name} fired: "
                            f"{', '.join(seen) or 'nothing'}")
        failed.detail = {"fired": seen}
        raise failed
    return seen


def _none(api: PrometheusApi, since: float) -> dict[str, float]:
    fired = api.fired_anew_since(since)
    if fired:
        failed = StepFailed(f"alerts fired during a healthy run: {describe_fired(fired, since)} ({api.name})")
        failed.detail = {"fired": fired}
        raise failed
    return {}


def unreachable_alerts(steps: Any) -> dict[str, str]:
    """Every ``cannot_fire`` entry of ``steps`` (nested steps included): name -> reason."""
    found: dict[str, str] = {}
    for step in steps:
        if "alerts" in step:
            found.update(step["alerts"].get("cannot_fire") or {})
        for action, nested in NESTING.items():  # repeat's steps, hold's and slow's during
            if isinstance(step.get(action), dict):
                found.update(unreachable_alerts(step[action].get(nested) or []))
    return found


__all__ = ["alerts", "unreachable_alerts"]
