"""Which of the manifests' alerts a load scenario raised, by the environment's Prometheus.

A scenario's ``alerts`` (``scenarios/load/*.yaml``)::

    alerts:
      fire: [EasyUploadApiHighErrorRate]   # each fired since the load began (waits up to within_s)
      within_s: 60
      none: true                           # no alert fired meanwhile (pending is no page)
      cannot_fire: {Name: why}             # reported skipped with that reason

The observation is Prometheus' own: its scrapes of every replica and its evaluation of the
PrometheusRules, read back from the ``ALERTS`` / ``ALERTS_FOR_STATE`` series it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import ConfigError
from harness.results import Result, Severity, Status
from harness.services.prometheus_api import ALERT_NAME, PrometheusApi, PrometheusApiError, describe_fired
from harness.stages.load.checks import load_result

CONTROLS = ["EU-C-OBS-02"]
DEFAULT_WITHIN_S = 60.0
KEYS = {"fire", "within_s", "none", "cannot_fire"}


def validate_alerts(spec: Any, source: str) -> dict[str, Any]:
    """The ``alerts`` mapping of a scenario, checked (a one-line ConfigError naming the key)."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping) or not set(spec) <= KEYS:
        raise ConfigError.at(source, "alerts", f"expected a mapping with keys of {', '.join(sorted(KEYS))}")
    names = [*(spec.get("fire") or []), *(spec.get("cannot_fire") or {})]
    bad = [n for n in names if not isinstance(n, str) or not ALERT_NAME.fullmatch(n)]
    if bad:
        raise ConfigError.at(source, "alerts", f"not an alert name: {bad[0]!r}")
    if spec.get("none") not in (None, True):
        raise ConfigError.at(source, "alerts.none", "expected true (or leave it out)")
    return dict(spec)


def alert_results(
    scenario_id: str, spec: Mapping[str, Any], prometheus_url: str | None, since: float,
    evidence: Sequence[str] = (),
) -> list[Result]:
    """``LOAD-<id>-alert-<name>`` per alert to fire, ``LOAD-<id>-no-alerts`` for ``none``, and a
    skipped ``LOAD-<id>-alert-<name>`` per ``cannot_fire`` entry."""
    rid = f"LOAD-{scenario_id}"
    out = [_result(f"{rid}-alert-{n}", f"{n} fires", Status.SKIPPED, f"not checked here: {why}",
                   "nothing (not checked on this target)", evidence)
           for n, why in (spec.get("cannot_fire") or {}).items()]
    wanted = [str(n) for n in spec.get("fire") or []]
    if not wanted and not spec.get("none"):
        return out
    if not prometheus_url:
        why = "the environment offers no Prometheus (prometheus_url)"
        return [*out, _result(f"{rid}-alerts", "alerts", Status.SKIPPED, why, "nothing", evidence)]
    api = PrometheusApi(prometheus_url)
    try:
        out += _fired(rid, api, wanted, since, float(spec.get("within_s", DEFAULT_WITHIN_S)), evidence)
        if spec.get("none"):
            out.append(_none(rid, api, since, evidence))
    except PrometheusApiError as exc:
        out.append(_result(f"{rid}-alerts", "alerts", Status.ERROR, f"cannot read the alerts: {exc}",
                           api.name, evidence))
    return out


def _fired(rid: str, api: PrometheusApi, names: list[str], since: float, within_s: float,
           evidence: Sequence[str]) -> list[Result]:
    """Each alert fires since the load began: fails for a rule that never fires on the failure
    the scenario plants (or a Prometheus that never scraped the replicas)."""
    seen = api.wait_fired(names, since, within_s) if names else {}
    now = api.why_not_fired([n for n in names if n not in seen], since, "the load began")
    return [
        _result(f"{rid}-alert-{n}", f"{n} fires", Status.PASSED if n in seen else Status.FAILED,
                f"fired {seen[n]:.0f}s after the load began" if n in seen
                else f"did not fire within {within_s:g}s after the load ({now[n]})", api.name, evidence,
                {"fired_after_s": seen.get(n, -1.0)})
        for n in names
    ]


def _none(rid: str, api: PrometheusApi, since: float, evidence: Sequence[str]) -> Result:
    """No alert fired since the load began (one pending or firing from before does not count):
    fails for a healthy run that pages (a rule too tight, or the system degraded under the load)."""
    fired = api.fired_anew_since(since)
    message = f"alerts fired: {describe_fired(fired, since)}" if fired else "none fired since the load began"
    return _result(f"{rid}-no-alerts", "No alert fires during a healthy run",
                   Status.FAILED if fired else Status.PASSED, message, api.name, evidence,
                   {"alerts_fired": len(fired)})


def _result(rid: str, title: str, status: Status, message: str, proven_on: str, evidence: Sequence[str],
            measured: dict[str, Any] | None = None) -> Result:
    return load_result(rid, title, status, message, evidence, measured=measured, severity=Severity.MEDIUM,
                       proven_on=proven_on, controls=CONTROLS)


__all__ = ["alert_results", "validate_alerts"]
