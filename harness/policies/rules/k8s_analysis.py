"""Argo Rollouts analysis that can actually stop a rollout: every metric of every AnalysisTemplate,
ClusterAnalysisTemplate and AnalysisRun in the manifests, referenced or not.

A measurement's phase follows Argo Rollouts' ``EvaluateResult`` (utils/evaluate/evaluate.go): no
condition at all is always Successful; with only a successCondition a measurement fails when it is
false; otherwise it fails only when the failureCondition is true. The run fails when a metric's
failures exceed its ``failureLimit`` (default 0; a negative limit never fails), which cannot happen
when ``failureLimit >= count``; a dry-run metric never fails the run (analysis/analysis.go).
Job metrics fail when their Job fails and need no condition.

"Real data" is what analysis queries return for a bad release: non-negative numbers (rates, ratios,
latencies, counts, up to +Inf) as a Prometheus vector (``result[0]``) or a scalar. NaN does not
count: a query yields it when there is no traffic, and a gate that only fails without data cannot
stop a bad release. A condition no such value makes fail (``result[0] >= 0`` on an error rate) is
reported: that metric cannot fail.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from harness.k8s.expr import ExprError, parse
from harness.stages.policy.rules import Inputs, K8sDoc, Verdict, rule

KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun")
SAMPLES: tuple[float, ...] = (0.0, 1e-9, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
                              1.0, 1.5, 2.0, 5.0, 10.0, 100.0, 1e3, 1e6, 1e12, math.inf)


def _outcomes(condition: str) -> list[bool] | None:
    """The condition's value for every sample it can be evaluated on; None when it never evaluates."""
    try:
        expression = parse(condition)
    except ExprError:
        return None
    found: list[bool] = []
    for sample in SAMPLES:
        for result in ([sample], sample):
            try:
                found.append(expression.condition(result=result))
                break
            except (ExprError, TypeError, ValueError, ZeroDivisionError):
                continue
    return found or None


def _condition_problem(metric: dict[str, Any]) -> tuple[str, str] | tuple[None, None]:
    """``(field, problem)`` when no real value can make a measurement fail, or ``(field, skip:...)``."""
    success, failure = metric.get("successCondition"), metric.get("failureCondition")
    if "job" in (metric.get("provider") or {}):
        return None, None  # a failed Job is a failed measurement
    if not success and not failure:
        return "", "has neither successCondition nor failureCondition: every measurement is Successful"
    field, condition, fails_when = (
        ("failureCondition", failure, True) if failure else ("successCondition", success, False)
    )
    outcomes = _outcomes(str(condition))
    if outcomes is None:
        return field, f"skip:cannot evaluate {field} {condition!r}"
    if fails_when not in outcomes:
        return field, (
            f"{field} {condition!r} is {not fails_when} for every real value "
            "(non-negative numbers up to Inf): no measurement can fail"
        )
    return None, None


def _limit_problem(metric: dict[str, Any]) -> str | None:
    limit = _int(metric.get("failureLimit", 0))
    count = metric.get("count")
    if limit is None:
        return None  # "{{args.x}}": decided at run time; the condition check still applies
    if limit < 0:
        return f"failureLimit {limit} is negative: failures never fail the analysis"
    if count is not None and _int(count) is not None and limit >= int(str(count)):
        return f"failureLimit {limit} >= count {count}: the analysis cannot fail"
    if count is None and not metric.get("interval") and limit > 0:
        return f"failureLimit {limit} with a single measurement (no count, no interval): it cannot fail"
    return None


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _metric_verdicts(doc: K8sDoc) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` of every metric that cannot stop the rollout (``skip:`` prefix: cannot tell)."""
    dry = {str(d.get("metricName")) for d in doc.spec.get("dryRun") or [] if isinstance(d, dict)}
    for index, metric in enumerate(doc.spec.get("metrics") or []):
        if not isinstance(metric, dict):
            continue
        name, where = metric.get("name", index), f"spec/metrics/{index}"
        if name in dry or "*" in dry:
            yield where, f"metric {name} is dry-run: its failures never stop the rollout"
            continue
        field, problem = _condition_problem(metric)
        if problem:
            yield (
                f"{where}/{field}".rstrip("/"),
                problem if problem.startswith("skip:") else f"metric {name} {problem}",
            )
        limit = _limit_problem(metric)
        if limit:
            yield f"{where}/failureLimit", f"metric {name}: {limit}"


@rule("EU-K8S-023", "Every analysis metric can fail and stop the rollout")
def analysis_can_fail(inputs: Inputs) -> Iterator[Verdict]:
    for doc in inputs.docs(*KINDS):
        if not doc.api_version.startswith("argoproj.io/"):
            continue
        found = list(_metric_verdicts(doc))
        problems = [(p, m) for p, m in found if not m.startswith("skip:")]
        skips = [(p, m.removeprefix("skip:")) for p, m in found if m.startswith("skip:")]
        if not doc.spec.get("metrics"):
            yield Verdict(doc, f"{doc.kind} has no metrics", path="spec")
        elif problems:
            yield Verdict(doc, "; ".join(m for _, m in problems), path=problems[0][0])
        elif skips:
            yield Verdict(doc, path=skips[0][0], skip="; ".join(m for _, m in skips))
        else:
            yield Verdict(doc)
