from __future__ import annotations

import base64
import re
from typing import Any

from harness.reporters.charts import canary_chart, latency_chart, replicas_chart, severity_chart
from tests.harness.reporters.sample import timeline


def svg(uri: str) -> str:
    return base64.b64decode(uri.removeprefix("data:image/svg+xml;base64,")).decode("utf-8")


def test_nothing_to_draw_gives_no_chart() -> None:
    assert latency_chart([], {}) is None
    assert replicas_chart([{"t": 1, "users": 3}]) is None
    assert replicas_chart([{"t": 1, "replicas": 3}, {"t": 2, "replicas": {"api": "two"}}]) is None
    assert canary_chart([{"t": 1}], []) is None
    assert severity_chart({}) is None
    assert severity_chart({"high": {"failed": 0}}) is None


def test_charts_are_svg_with_real_text_and_deterministic() -> None:
    data = timeline()
    first = latency_chart(data["samples"], data["thresholds"])
    second = latency_chart(data["samples"], data["thresholds"])
    assert first is not None and second is not None
    assert first.uri == second.uri
    text = svg(first.uri)
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "SLO p95 500 ms" in text  # svg.fonttype=none keeps labels as text
    assert not re.findall(r'href="(?!#)', text)  # no external references of any kind
    assert "<metadata" not in text


def test_odd_values_are_skipped_not_guessed() -> None:
    samples: list[dict[str, Any]] = [
        {"t": 0, "canary_weight": 0},
        {"t": "x", "canary_weight": 20},
        {"t": 20, "canary_weight": None},
        {"t": 30, "canary_weight": True},
        {"t": 40, "canary_weight": 50},
    ]
    analysis: list[dict[str, Any]] = [
        {"t": 10, "metric": "error-rate", "value": 0.01, "phase": "Inconclusive"},
        {"t": 20, "metric": "error-rate", "value": "n/a", "phase": "Failed"},
        {"t": 30, "metric": "error-rate", "value": 0.2, "phase": "Failed"},
    ]
    chart = canary_chart(samples, analysis)
    assert chart is not None
    text = svg(chart.uri)
    assert "Inconclusive" in text and "Failed" in text
