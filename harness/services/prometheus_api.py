"""A client of Prometheus' HTTP API (``/api/v1/query``, ``/api/v1/alerts``, build info).

One reading of the API for everyone who asks Prometheus something: the local model's canary
analysis (Argo Rollouts' Prometheus provider sends the template's query to ``/api/v1/query`` and
binds the result to ``result``) and the stages that assert which alerts fire. The response format is
Prometheus' documented one (https://prometheus.io/docs/prometheus/latest/querying/api/).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import TargetError

Labels = frozenset[tuple[str, str]]


class PrometheusApiError(TargetError):
    """The environment's Prometheus could not be reached, or refused the query (its ``errorType: error``)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """An instant query's answer, with the server that gave it (``evaluator``: ``Prometheus 2.42.0``)."""

    query: str
    evaluator: str
    vector: tuple[tuple[Labels, float], ...] | None = None
    scalar: float | None = None

    @property
    def argo_value(self) -> list[float] | float:
        """What Argo's Prometheus provider binds to ``result``: a list for a vector, a float for a scalar."""
        if self.scalar is not None:
            return self.scalar
        return [v for _, v in self.vector or ()]


@dataclass(frozen=True, slots=True)
class Alert:
    """One entry of ``/api/v1/alerts``: ``state`` is ``pending`` or ``firing``; ``active_at`` epoch s."""

    name: str
    state: str
    active_at: float
    labels: Mapping[str, str]
    value: str = ""


class PrometheusApi:
    """Instant queries, alerts and the server's version, over HTTP."""

    def __init__(self, url: str, timeout_s: float = 5.0, *, version: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._version = version

    @property
    def name(self) -> str:
        """``Prometheus <version>`` (``version``, else ``/api/v1/status/buildinfo``): what proved a
        measurement."""
        if self._version is None:
            try:
                self._version = self.version()
            except PrometheusApiError:
                return f"Prometheus at {self.url} (version unreadable)"
        return f"Prometheus {self._version}"

    def version(self) -> str:
        data = self._get("/api/v1/status/buildinfo", {})
        return str(data.get("version", "?")).split("+")[0]

    def query(self, promql: str) -> QueryResult:
        """Evaluate ``promql`` now (the server's clock)."""
        return parse_query_data(promql, self.name, self._get("/api/v1/query", {"query": promql}))

    def alerts(self) -> list[Alert]:
        """Every alert that is pending or firing now."""
        data = self._get("/api/v1/alerts", {})
        return [parse_alert(a) for a in data.get("alerts", [])]

    def states_now(self, names: Sequence[str]) -> dict[str, str]:
        """name -> ``pending``, ``firing`` or ``inactive`` now."""
        now = {a.name: a.state for a in self.alerts()} if names else {}
        return {n: now.get(n, "inactive") for n in names}

    def pending_evaluations(self, name: str, since: float) -> int:
        """At how many rule evaluations since ``since`` alert ``name`` was pending (its condition held,
        its ``for`` not yet), from the ``ALERTS`` series Prometheus writes at each of them."""
        selector = f'ALERTS{{alertname="{_checked(name)}",alertstate="pending"}}'
        counts = self.query(f"count_over_time({selector}[{_window(since)}])").vector or ()
        return int(max((value for _, value in counts), default=0))

    def why_not_fired(self, names: Sequence[str], since: float, began: str) -> dict[str, str]:
        """name -> why it did not fire: its state now and whether its condition ever held since
        ``since`` (``began``: "the scenario began"). ``inactive now, never pending since …`` is a rule
        that never matched; ``pending at 6 rule evaluations since …`` one whose condition did not hold
        for its ``for`` (e.g. a fault drill too short for it)."""
        now = self.states_now(names)
        out = {}
        for name in names:
            pending = self.pending_evaluations(name, since)
            held = f"pending at {pending} rule evaluations since {began}" if pending \
                else f"never pending since {began}"
            out[name] = f"{now[name]} now, {held}"
        return out

    def fired_since(self, name: str, since: float) -> bool:
        """Whether alert ``name`` was firing at some evaluation since ``since`` (epoch s), from the
        ``ALERTS`` series Prometheus writes at every rule evaluation."""
        selector = f'ALERTS{{alertname="{_checked(name)}",alertstate="firing"}}'
        return bool(self.query(f"max_over_time({selector}[{_window(since)}])").vector)

    def wait_fired(
        self, names: list[str], since: float, within_s: float, poll_s: float = 0.5
    ) -> dict[str, float]:
        """Wait up to ``within_s`` until each of ``names`` fired since ``since``: name -> seconds after
        ``since`` at which it was seen fired (the ones missing did not fire in time)."""
        seen: dict[str, float] = {}
        deadline = time.monotonic() + within_s
        while True:
            for name in names:
                if name not in seen and self.fired_since(name, since):
                    seen[name] = round(time.time() - since, 1)
            if len(seen) == len(names) or time.monotonic() >= deadline:
                return seen
            time.sleep(poll_s)

    def fired_anew_since(self, since: float) -> dict[str, float]:
        """Alerts that fired since ``since`` and had become active (pending) at ``since`` or later:
        name -> activeAt (epoch s).

        ``ALERTS_FOR_STATE`` holds each active alert's activeAt (whole seconds) for rules with a
        ``for``: an alert already active before ``since`` (a previous drill's) is not counted. A rule
        without ``for`` has no such series: any firing sample of it in the window counts."""
        window = _window(since)
        states = self.query(f"max_over_time(ALERTS_FOR_STATE[{window}])").vector or ()
        active_at = {dict(labels).get("alertname", "?"): value for labels, value in states}
        firing = self.query(f'max_over_time(ALERTS{{alertstate="firing"}}[{window}])').vector or ()
        found: dict[str, float] = {}
        for labels, _ in firing:
            name = dict(labels).get("alertname", "?")
            at = active_at.get(name, since)
            if at >= math.floor(since):
                found[name] = at
        return found

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        import httpx

        try:
            response = httpx.get(f"{self.url}{path}", params=dict(params), timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise PrometheusApiError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise PrometheusApiError(f"{self.url}{path}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body if not isinstance(body, dict) else f"{body.get('errorType')}: {body.get('error')}"
            raise PrometheusApiError(f"prometheus {path}: {error}")
        data = body.get("data", {})
        return data if isinstance(data, dict) else {"result": data}


def describe_fired(fired: Mapping[str, float], since: float) -> str:
    """``Name (pending from +12s), ...`` for :meth:`PrometheusApi.fired_anew_since`'s answer: the
    wording every check that no alert fired reports its failure in."""
    return ", ".join(f"{n} (pending from +{at - since:.0f}s)" for n, at in sorted(fired.items()))


def _window(since: float) -> str:
    """A range covering ``since`` until now (whole seconds, at least one)."""
    return f"{max(1, math.ceil(time.time() - since) + 1)}s"


ALERT_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
"""What Prometheus accepts as an alert (metric) name."""


def _checked(name: str) -> str:
    if not ALERT_NAME.fullmatch(name):
        raise PrometheusApiError(f"not an alert name: {name!r}")
    return name


def parse_query_data(promql: str, evaluator: str, data: Mapping[str, Any]) -> QueryResult:
    """The ``data`` of an ``/api/v1/query`` answer as a :class:`QueryResult`."""
    kind = data.get("resultType")
    if kind == "scalar":
        return QueryResult(promql, evaluator, scalar=float(data["result"][1]))
    if kind != "vector":
        raise PrometheusApiError(f"prometheus returned a {kind}, expected a vector or a scalar")
    # Prometheus writes values as strings ("0.97", "NaN", "+Inf"): float() reads all of them.
    vector = tuple((frozenset(item["metric"].items()), float(item["value"][1])) for item in data["result"])
    return QueryResult(promql, evaluator, vector=vector)


def parse_alert(item: Mapping[str, Any]) -> Alert:
    from datetime import datetime

    labels = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
    active = str(item.get("activeAt") or "")
    at = datetime.fromisoformat(active).timestamp() if active else math.nan
    state, value = str(item.get("state", "")), str(item.get("value", ""))
    return Alert(labels.get("alertname", "?"), state, at, labels, value)


__all__ = ["ALERT_NAME", "Alert", "Labels", "PrometheusApi", "PrometheusApiError", "QueryResult",
           "describe_fired", "parse_alert", "parse_query_data"]
