"""PromQL for AnalysisTemplates: a small local evaluator, or a real Prometheus when there is one.

:class:`SampleStore` keeps a history of scraped ``/metrics`` texts (parsed with prometheus_client's
text parser), each sample labelled with its scrape target (``job``, ``instance`` and any extra labels
such as ``track="canary"``). :class:`LocalPromQL` evaluates the subset our templates use over it:

* selectors ``name{a="x", b!="y", c=~"re", d!~"re"}`` and range selectors ``[30s]``;
* ``rate``, ``irate``, ``increase`` (no edge extrapolation: ``(last - first) / (t_last - t_first)``
  with counter resets handled; Prometheus extrapolates to the window edges, so values can differ by
  a little on short windows), ``histogram_quantile``, ``vector``, ``scalar``, ``abs``, ``clamp_min``,
  ``clamp_max``;
* aggregations ``sum avg min max count`` with ``by (..)`` / ``without (..)`` before or after;
* ``+ - * /`` between scalars and vectors (vector/vector match on identical label sets), comparison
  filters ``> < >= <= == !=``, and ``or``.

:class:`PrometheusEvaluator` sends the same query to ``/api/v1/query``. Both return a
:class:`QueryResult` naming the evaluator used; ``QueryResult.argo_value`` is what Argo's Prometheus
provider binds to ``result`` (a list of floats for a vector, a float for a scalar).
"""

from __future__ import annotations

import math
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.targets.local.cluster.promql_parser import Node, PromQLError, parse

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class QueryResult:
    query: str
    evaluator: str  # "local-promql" | "prometheus <url>"
    vector: tuple[tuple[Labels, float], ...] | None = None
    scalar: float | None = None

    @property
    def argo_value(self) -> list[float] | float:
        if self.scalar is not None:
            return self.scalar
        return [v for _, v in self.vector or ()]


class Evaluator(Protocol):
    name: str

    def query(self, promql: str, now: float) -> QueryResult: ...


class SampleStore:
    """Scrape history: ``(t, {(metric name, labels): value})`` per scrape target, bounded in time."""

    def __init__(self, retention_s: float = 900.0) -> None:
        self.retention_s = retention_s
        self._scrapes: dict[str, list[tuple[float, dict[tuple[str, Labels], float]]]] = {}
        self._lock = threading.Lock()

    def ingest_text(self, text: str, t: float, target_labels: Mapping[str, str]) -> int:
        """Parse one ``/metrics`` body scraped at ``t``; returns the number of samples kept."""
        from prometheus_client.parser import text_string_to_metric_families

        samples: dict[tuple[str, Labels], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = {**sample.labels, **target_labels}
                samples[(sample.name, frozenset(labels.items()))] = float(sample.value)
        self.ingest(samples, t, target_labels)
        return len(samples)

    def ingest(
        self, samples: dict[tuple[str, Labels], float], t: float, target_labels: Mapping[str, str]
    ) -> None:
        key = "|".join(f"{k}={v}" for k, v in sorted(target_labels.items()))
        with self._lock:
            history = self._scrapes.setdefault(key, [])
            history.append((t, samples))
            while history and history[0][0] < t - self.retention_s:
                history.pop(0)

    def series(self, name: str, start: float, end: float) -> dict[Labels, list[tuple[float, float]]]:
        """Every series named ``name`` with its samples in ``(start, end]``."""
        out: dict[Labels, list[tuple[float, float]]] = {}
        with self._lock:
            for history in self._scrapes.values():
                for t, samples in history:
                    if not start < t <= end:
                        continue
                    for (metric, labels), value in samples.items():
                        if metric == name:
                            out.setdefault(labels, []).append((t, value))
        return out

    def latest(self, name: str, now: float, lookback_s: float = 300.0) -> dict[Labels, float]:
        """Instant-vector semantics: the newest sample within the lookback (5 min, as Prometheus)."""
        return {labels: points[-1][1] for labels, points in self.series(name, now - lookback_s, now).items()}


# ------------------------------------------------------------------------------------------ evaluation
Vector = dict[Labels, float]
Value = Vector | float


class LocalPromQL:
    """Evaluates the supported subset over a :class:`SampleStore`."""

    name = "local-promql"

    def __init__(self, store: SampleStore) -> None:
        self.store = store

    def query(self, promql: str, now: float) -> QueryResult:
        value = self._eval(parse(promql), now)
        if isinstance(value, dict):
            ordered = tuple(sorted(value.items(), key=lambda item: sorted(item[0])))
            return QueryResult(promql, self.name, vector=ordered)
        return QueryResult(promql, self.name, scalar=value)

    def _eval(self, node: Node, now: float) -> Value:
        kind = node[0]
        if kind == "num":
            return float(node[1])
        if kind == "sel":
            if node[2] is not None:
                raise PromQLError("a range selector needs rate(), irate() or increase()")
            return self._select(node[1], now)
        if kind == "agg":
            return _aggregate(node[1], node[2], self._vector(node[3], now))
        if kind == "call":
            return self._call(node[1], node[2], now)
        if kind == "or":
            left, right = self._vector(node[1], now), self._vector(node[2], now)
            return {**{k: v for k, v in right.items() if k not in left}, **left}
        if kind == "cmp":
            return _compare(node[1], self._eval(node[2], now), self._eval(node[3], now))
        return _arith(node[1], self._eval(node[2], now), self._eval(node[3], now))

    def _vector(self, node: Node, now: float) -> Vector:
        value = self._eval(node, now)
        if not isinstance(value, dict):
            raise PromQLError("expected an instant vector, got a scalar")
        return value

    def _select(self, matchers: tuple[tuple[str, str, str], ...], now: float) -> Vector:
        name = _metric_name(matchers)
        return {_drop_name(k): v for k, v in self.store.latest(name, now).items() if _matches(k, matchers)}

    def _range(self, node: Node, now: float) -> dict[Labels, list[tuple[float, float]]]:
        if node[0] != "sel" or node[2] is None:
            raise PromQLError("expected a range selector such as x[1m]")
        series = self.store.series(_metric_name(node[1]), now - node[2], now)
        return {_drop_name(k): v for k, v in series.items() if _matches(k, node[1])}

    def _call(self, fn: str, args: list[Node], now: float) -> Value:
        if fn in _RANGE_FUNCTIONS:
            return {
                k: r
                for k, pts in self._range(args[0], now).items()
                if (r := _RANGE_FUNCTIONS[fn](pts)) is not None
            }
        if fn == "histogram_quantile":
            q = self._eval(args[0], now)
            if isinstance(q, dict):
                raise PromQLError("histogram_quantile needs a scalar quantile")
            return histogram_quantile(q, self._vector(args[1], now))
        if fn == "vector":
            value = self._eval(args[0], now)
            return {frozenset(): value} if isinstance(value, float) else value
        if fn == "scalar":
            vec = self._vector(args[0], now)
            return next(iter(vec.values())) if len(vec) == 1 else math.nan
        if fn in _ELEMENTWISE:
            vec = self._vector(args[0], now)
            extra = [self._eval(a, now) for a in args[1:]]
            return {k: _ELEMENTWISE[fn](v, *extra) for k, v in vec.items()}
        raise PromQLError(f"function {fn}() is outside the supported subset")


def _metric_name(matchers: tuple[tuple[str, str, str], ...]) -> str:
    for label, op, value in matchers:
        if label == "__name__" and op == "=":
            return value
    raise PromQLError("a selector needs a metric name")


def _matches(labels: Labels, matchers: tuple[tuple[str, str, str], ...]) -> bool:
    present = dict(labels)
    for label, op, value in matchers:
        if label == "__name__":
            continue
        actual = present.get(label, "")
        ok = {"=": actual == value, "!=": actual != value}.get(op)
        if ok is None:
            ok = bool(re.fullmatch(value, actual)) == (op == "=~")
        if not ok:
            return False
    return True


def _drop_name(labels: Labels) -> Labels:
    return frozenset((k, v) for k, v in labels if k != "__name__")


def _increase(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    total, previous = 0.0, points[0][1]
    for _, value in points[1:]:
        total += value - previous if value >= previous else value  # counter reset
        previous = value
    return total


def _rate(points: list[tuple[float, float]]) -> float | None:
    increase = _increase(points)
    if increase is None or points[-1][0] == points[0][0]:
        return None
    return increase / (points[-1][0] - points[0][0])


_RANGE_FUNCTIONS: dict[str, Callable[[list[tuple[float, float]]], float | None]] = {
    "rate": _rate,
    "increase": _increase,
    "irate": lambda pts: _rate(pts[-2:]),
}
_ELEMENTWISE: dict[str, Callable[..., float]] = {
    "abs": lambda v: abs(v),
    "clamp_min": lambda v, lo: max(v, lo),
    "clamp_max": lambda v, hi: min(v, hi),
}


def _aggregate(op: str, grouping: tuple[str, tuple[str, ...]] | None, vector: Vector) -> Vector:
    groups: dict[Labels, list[float]] = {}
    for labels, value in vector.items():
        if grouping is None:
            key: Labels = frozenset()
        elif grouping[0] == "by":
            key = frozenset((k, v) for k, v in labels if k in grouping[1])
        else:
            key = frozenset((k, v) for k, v in labels if k not in grouping[1])
        groups.setdefault(key, []).append(value)
    combine: dict[str, Callable[[list[float]], float]] = {
        "sum": math.fsum,
        "avg": lambda v: math.fsum(v) / len(v),
        "min": min,
        "max": max,
        "count": lambda v: float(len(v)),
    }
    return {k: combine[op](v) for k, v in groups.items()}


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


_OPS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
}


def _arith(op: str, left: Value, right: Value) -> Value:
    fn = _OPS[op]
    if isinstance(left, dict) and isinstance(right, dict):
        return {k: fn(v, right[k]) for k, v in left.items() if k in right}
    if isinstance(left, dict):
        return {k: fn(v, float(right)) for k, v in left.items()}  # type: ignore[arg-type]
    if isinstance(right, dict):
        return {k: fn(left, v) for k, v in right.items()}
    return fn(left, right)


_CMP: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _compare(op: str, left: Value, right: Value) -> Value:
    fn = _CMP[op]
    if isinstance(left, dict) and isinstance(right, dict):
        return {k: v for k, v in left.items() if k in right and fn(v, right[k])}
    if isinstance(left, dict):
        return {k: v for k, v in left.items() if fn(v, float(right))}  # type: ignore[arg-type]
    if isinstance(right, dict):
        return {k: v for k, v in right.items() if fn(left, v)}
    return float(fn(left, right))


def histogram_quantile(q: float, buckets: Vector) -> Vector:
    """Prometheus' ``bucketQuantile``: linear interpolation inside the bucket holding the rank."""
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, count in buckets.items():
        le = dict(labels).get("le")
        if le is None:
            continue
        key = frozenset((k, v) for k, v in labels if k != "le")
        groups.setdefault(key, []).append((float(le), count))
    return {key: _bucket_quantile(q, sorted(points)) for key, points in groups.items()}


def _bucket_quantile(q: float, points: list[tuple[float, float]]) -> float:
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(points) < 2 or not math.isinf(points[-1][0]):
        return math.nan
    monotonic, highest = [], 0.0
    for upper, count in points:  # ensureMonotonic: scrapes of buckets are not atomic
        highest = max(highest, count)
        monotonic.append((upper, highest))
    observations = monotonic[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, (_, count) in enumerate(monotonic) if count >= rank)
    if b == len(monotonic) - 1:
        return monotonic[-2][0]
    if b == 0 and monotonic[0][0] <= 0:
        return monotonic[0][0]
    start, end, count = 0.0, monotonic[b][0], monotonic[b][1]
    if b > 0:
        start = monotonic[b - 1][0]
        count -= monotonic[b - 1][1]
        rank -= monotonic[b - 1][1]
    return start + (end - start) * (rank / count)


class PrometheusEvaluator:
    """Sends the query to a real Prometheus' HTTP API (``/api/v1/query``)."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.name = f"prometheus {self.url}"
        self.timeout_s = timeout_s

    def query(self, promql: str, now: float) -> QueryResult:
        import httpx

        response = httpx.get(
            f"{self.url}/api/v1/query", params={"query": promql, "time": f"{now:.3f}"}, timeout=self.timeout_s
        )
        response.raise_for_status()
        return parse_api_response(promql, self.name, response.json())


def parse_api_response(promql: str, evaluator: str, body: Mapping[str, Any]) -> QueryResult:
    """Turn a ``/api/v1/query`` JSON body into a :class:`QueryResult`."""
    if body.get("status") != "success":
        raise PromQLError(f"prometheus: {body.get('errorType')}: {body.get('error')}")
    data = body["data"]
    if data["resultType"] == "scalar":
        return QueryResult(promql, evaluator, scalar=float(data["result"][1]))
    if data["resultType"] != "vector":
        raise PromQLError(f"prometheus returned a {data['resultType']}, expected a vector or scalar")
    vector = tuple((frozenset(item["metric"].items()), float(item["value"][1])) for item in data["result"])
    return QueryResult(promql, evaluator, vector=vector)


def analysis_evaluator(store: SampleStore, prometheus_url: str | None = None) -> Evaluator:
    """The one seam where the AnalysisTemplates' PromQL is evaluated.

    Today: the PromQL subset over the model's own scrapes, unless a Prometheus URL is given. When
    the local target runs a real Prometheus (``env.prometheus_url``), this returns a
    :class:`PrometheusEvaluator` and the subset can go; note that the model's ``now`` is manifest
    time, so that change also maps it (and range windows) to wall-clock time by the time scale.
    """
    return PrometheusEvaluator(prometheus_url) if prometheus_url else LocalPromQL(store)


def prometheus_binary() -> str | None:
    """The ``prometheus`` executable on PATH, if any (``apt-get install prometheus``)."""
    return shutil.which("prometheus")


__all__ = [
    "Evaluator",
    "LocalPromQL",
    "PromQLError",
    "PrometheusEvaluator",
    "QueryResult",
    "SampleStore",
    "analysis_evaluator",
    "histogram_quantile",
    "parse",
    "parse_api_response",
    "prometheus_binary",
]
