"""The local PromQL subset over scraped /metrics text, and the Prometheus API response parser."""

from __future__ import annotations

import math

import pytest

from harness.targets.local.cluster.promql import (
    LocalPromQL,
    PromQLError,
    SampleStore,
    histogram_quantile,
    parse_api_response,
)


def _metrics(ok: int, err: int, fast: int, slow: int) -> str:
    total = fast + slow
    return f"""# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{{route="/api/uploads",method="POST",status="201",version="v2"}} {ok}
http_requests_total{{route="/api/uploads",method="POST",status="500",version="v2"}} {err}
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{route="/api/uploads",le="0.1"}} {fast}
http_request_duration_seconds_bucket{{route="/api/uploads",le="0.5"}} {total}
http_request_duration_seconds_bucket{{route="/api/uploads",le="+Inf"}} {total}
http_request_duration_seconds_count{{route="/api/uploads"}} {total}
http_request_duration_seconds_sum{{route="/api/uploads"}} 1.0
"""


@pytest.fixture
def store() -> SampleStore:
    store = SampleStore()
    for instance, track in (("a:1", "stable"), ("b:1", "canary")):
        labels = {"job": "api", "instance": instance, "track": track}
        store.ingest_text(_metrics(0, 0, 0, 0), 0.0, labels)
        store.ingest_text(_metrics(90, 10, 50, 50), 10.0, labels)
        store.ingest_text(_metrics(180, 20, 100, 100), 20.0, labels)
    return store


def test_error_ratio_as_in_an_analysis_template(store: SampleStore) -> None:
    q = (
        'sum(rate(http_requests_total{status=~"5..",track="canary"}[30s])) / '
        'sum(rate(http_requests_total{track="canary"}[30s]))'
    )
    result = LocalPromQL(store).query(q, 20.0)
    assert result.evaluator == "local-promql"
    assert result.argo_value == pytest.approx([0.1])


def test_rate_per_series_and_by(store: SampleStore) -> None:
    result = LocalPromQL(store).query('sum by (track) (rate(http_requests_total{status="201"}[1m]))', 20.0)
    assert dict((dict(k)["track"], v) for k, v in result.vector or ()) == pytest.approx(
        {"stable": 9.0, "canary": 9.0}
    )
    result = LocalPromQL(store).query(
        "sum(irate(http_requests_total[1m])) without (instance, track, status)", 20.0
    )
    assert result.argo_value == pytest.approx([20.0])


def test_histogram_quantile_p95(store: SampleStore) -> None:
    q = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))"
    [p95] = LocalPromQL(store).query(q, 20.0).argo_value  # type: ignore[misc]
    # half the observations <= 0.1, all <= 0.5: rank 0.95 lands at 0.1 + 0.4 * 0.9 = 0.46
    assert p95 == pytest.approx(0.46)


def test_empty_selection_gives_empty_vector_and_nan_on_zero(store: SampleStore) -> None:
    engine = LocalPromQL(store)
    assert engine.query('sum(rate(http_requests_total{track="none"}[1m]))', 20.0).argo_value == []
    zero = engine.query('sum(rate(http_requests_total{status="500"}[1m])) * 0 / 0', 20.0).argo_value
    assert isinstance(zero, list) and math.isnan(zero[0])
    assert engine.query("vector(0) or sum(rate(nothing[1m]))", 20.0).argo_value == [0.0]
    assert engine.query("2 * 3 - 1", 20.0).argo_value == 5.0
    assert engine.query("sum(rate(http_requests_total[1m])) > 100", 20.0).argo_value == []


def test_counter_reset_is_handled() -> None:
    store = SampleStore()
    for t, value in ((0.0, 100.0), (10.0, 150.0), (20.0, 30.0)):  # the replica restarted
        store.ingest({("c_total", frozenset()): value}, t, {"instance": "x"})
    assert LocalPromQL(store).query("increase(c_total[1m])", 20.0).argo_value == [80.0]


def test_bucket_quantile_edges() -> None:
    inf = float("inf")
    # as Prometheus: the highest bucket returns the upper bound of the second highest
    buckets = {frozenset({("le", "0.1")}): 0.0, frozenset({("le", "+Inf")}): 10.0}
    assert histogram_quantile(0.5, {k: v for k, v in buckets.items()}) == {frozenset(): 0.1}
    assert math.isnan(histogram_quantile(0.5, {frozenset({("le", "0.1")}): 1.0})[frozenset()])
    assert histogram_quantile(1.5, buckets) == {frozenset(): inf}


@pytest.mark.parametrize("query", ["rate(x)", "topk(3, x)", "x[1m]", "sum(x", "x @ 5"])
def test_outside_the_subset_is_an_error(query: str) -> None:
    with pytest.raises(PromQLError):
        LocalPromQL(SampleStore()).query(query, 0.0)


def test_parse_api_response() -> None:
    body = {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"job": "api"}, "value": [1.0, "0.25"]}]},
    }
    assert parse_api_response("q", "prometheus http://p", body).argo_value == [0.25]
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "NaN"]}}
    value = parse_api_response("q", "prometheus http://p", scalar).argo_value
    assert isinstance(value, float) and math.isnan(value)
    with pytest.raises(PromQLError, match="bad_data"):
        parse_api_response("q", "p", {"status": "error", "errorType": "bad_data", "error": "x"})
