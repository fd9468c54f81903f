"""``junit.xml``: one ``<testsuite>`` per stage, one ``<testcase>`` per result.

failed -> ``<failure>``, error -> ``<error>``, skipped, waived and warned -> ``<skipped>`` (typed
``waived``/``warned``, with the reason), so CI test views never count them as passed; tool summaries
(not evidence) -> ``<skipped type="summary">``. Every case carries ``status``, ``severity``,
``proven_on`` and its controls as properties; each suite counts warned and summaries apart in its
properties, and the root carries the run's verdict. A stage that produced no results (not built,
crashed, skipped) still appears, as one test case carrying its status.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.reporters import write_atomic
from harness.results import Result, RunRecord, StageSummary, Status

FILENAME = "junit.xml"


def _case_name(result: Result) -> str:
    return f"{result.id} [{result.location}]" if result.location else result.id


def _outcome(case: ET.Element, status: Status, message: str, detail: str, *, summary: bool = False) -> None:
    if summary and status not in (Status.FAILED, Status.ERROR):
        ET.SubElement(case, "skipped", message=f"tool summary, not evidence: {message}", type="summary")
    elif status is Status.FAILED:
        ET.SubElement(case, "failure", message=message, type="failed").text = detail
    elif status is Status.ERROR:
        ET.SubElement(case, "error", message=message, type="error").text = detail
    elif status is Status.SKIPPED:
        ET.SubElement(case, "skipped", message=message)
    elif status in (Status.WAIVED, Status.WARNED):
        ET.SubElement(case, "skipped", message=f"{status.value}: {message}", type=status.value)


def _result_case(suite: ET.Element, result: Result) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"harness.{result.stage}", name=_case_name(result),
                         time=f"{result.duration_s:.3f}")
    detail = "\n".join(filter(None, [result.title, result.message, result.remediation and
                                     f"Remediation: {result.remediation}"]))
    _outcome(case, result.status, result.message or result.title, detail, summary=not result.is_evidence)
    _properties(case, [("status", result.status.value), ("kind", result.kind.value),
                       ("severity", result.severity.value), ("proven_on", result.proven_on or "not recorded"),
                       *(("control", c) for c in result.controls),
                       *(("evidence", e) for e in result.evidence)])


def _properties(element: ET.Element, props: list[tuple[str, str]]) -> None:
    properties = ET.SubElement(element, "properties")
    for name, value in props:
        ET.SubElement(properties, "property", name=name, value=value)


def _stage_case(suite: ET.Element, stage: StageSummary) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"harness.{stage.name}", name=f"stage {stage.name}",
                         time=f"{stage.duration_s:.3f}")
    _outcome(case, stage.status, stage.message or stage.status.value, stage.message)


def _suite(parent: ET.Element, record: RunRecord, stage: StageSummary) -> ET.Element:
    results = [r for r in record.results if r.stage == stage.name]
    suite = ET.SubElement(parent, "testsuite", name=f"harness.{stage.name}",
                          timestamp=record.provenance.started_at, hostname=record.provenance.host,
                          time=f"{stage.duration_s:.3f}")
    _properties(suite, [("warned", str(sum(r.status is Status.WARNED and r.is_evidence for r in results))),
                        ("waived", str(sum(r.status is Status.WAIVED and r.is_evidence for r in results))),
                        ("summaries", str(sum(not r.is_evidence for r in results)))])
    for result in results:
        _result_case(suite, result)
    if not results or (stage.status is Status.ERROR and not any(r.status is Status.ERROR for r in results)):
        _stage_case(suite, stage)
    _count(suite)
    return suite


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(1 for c in cases if c.find(tag) is not None)))


def render(record: RunRecord) -> str:
    root = ET.Element("testsuites", name=f"harness run {record.run_id}: {record.verdict.status.value}")
    for stage in record.stage_summaries():
        _suite(root, record, stage)
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(s.get(attribute, "0")) for s in root.findall("testsuite"))))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


class JunitReporter:
    """Writes ``junit.xml`` for CI test views."""

    NAME = "junit"

    def write(self, record: RunRecord, run_dir: Path) -> list[Path]:
        return [write_atomic(run_dir / FILENAME, render(record))]


__all__ = ["FILENAME", "JunitReporter", "render"]
