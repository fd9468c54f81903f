"""A realistic run for reporter tests and screenshots: all four stages, a control catalog, waivers.

``write_sample_run(root)`` lays out ``root/reports/<run-id>/`` the way ``harness verify`` does
(results.json, evidence/, logs/) plus ``root/policies/controls.yaml`` and ``waivers.yaml``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from harness.catalog import Catalog, assess, parse_catalog
from harness.results import Provenance, Result, RunRecord, Severity, StageSummary, Status
from harness.waivers import parse_waivers, waiver_records

RUN_ID = "20261126T044000Z-3f9c2ab"
STARTED = "2026-11-26T04:40:00+00:00"
S, F, W, K, E = Status.PASSED, Status.FAILED, Status.WAIVED, Status.SKIPPED, Status.ERROR
TF = "terraform/modules/uploads-storage/main.tf"
API = "http://127.0.0.1:38211"


@dataclass(frozen=True, slots=True)
class SampleRun:
    run_dir: Path
    controls: Path
    waivers: Path
    record: RunRecord


def provenance(started: str = STARTED) -> Provenance:
    return Provenance(
        git_sha="3f9c2ab7d41e08c5a6b2e9f0d3c4b5a6e7f8091a",
        target="local",
        profile="full",
        harness_version="0.1.0",
        tool_versions={
            "python": "3.11.2",
            "checkov": "3.3.30",
            "schemathesis": "4.1.0",
            "zap": "2.15.0",
            "locust": "2.40.1",
            "postgresql": "16.4",
            "redis": "7.2.5",
            "chromium": "131.0.6778.85",
        },
        started_at=started,
        finished_at="2026-11-26T04:58:41+00:00",
        host="ci-runner-07",
        user="reviewer-bot",
        root="/work/main",
    )


def _r(
    rid: str, stage: str, title: str, status: Status, sev: Severity = Severity.MEDIUM, **kw: Any
) -> Result:
    return Result(id=rid, stage=stage, title=title, status=status, severity=sev, **kw)


def policy_results() -> list[Result]:
    return [
        _r(
            "CKV_AWS_18",
            "policy",
            "S3 bucket has access logging enabled",
            F,
            Severity.HIGH,
            location=f"{TF}:12",
            message="aws_s3_bucket.raw_uploads has no logging configuration",
            remediation="Add an aws_s3_bucket_logging resource targeting the access-logs bucket.",
            evidence=["evidence/policy/checkov.json"],
            controls=["LOG-01"],
        ),
        _r(
            "CKV_AWS_145",
            "policy",
            "S3 bucket is encrypted with KMS by default",
            S,
            Severity.HIGH,
            location=f"{TF}:31",
            evidence=["evidence/policy/checkov.json"],
        ),
        _r(
            "CKV_AWS_144",
            "policy",
            "S3 bucket has cross-region replication enabled",
            W,
            Severity.LOW,
            location=f"{TF}:12",
            message="single-region by design for the pilot",
            waiver={"id": "CKV_AWS_144", "resource": "terraform/modules/uploads-storage/*",
                    "reason": "Single-region pilot; replication planned with the EU launch.",
                    "owner": "storage-team", "approved_by": "ciso@example.com", "expires": "2026-12-16"},
            evidence=["evidence/policy/checkov.json"],
        ),
        _r(
            "EU-K8S-007",
            "policy",
            "Every multi-replica Deployment has a PodDisruptionBudget",
            F,
            location="manifests/base/worker/deployment.yaml:1",
            message="Deployment worker (replicas 2) has no PodDisruptionBudget selecting app=worker",
            remediation="Add manifests/base/worker/pdb.yaml with minAvailable: 1.",
            evidence=["evidence/policy/custom.json"],
        ),
        _r(
            "CKV_K8S_40",
            "policy",
            "Containers run as a high UID (non-root)",
            S,
            Severity.HIGH,
            location="manifests/base/api/deployment.yaml:24",
            evidence=["evidence/policy/checkov.json"],
        ),
        _r(
            "CKV_K8S_8",
            "policy",
            "Liveness probe configured",
            S,
            Severity.LOW,
            location="manifests/base/api/deployment.yaml:40",
        ),
        _r(
            "EU-TAG-001",
            "policy",
            "Every taggable resource carries cost-centre tags",
            S,
            Severity.LOW,
            location="terraform/envs/local/main.tf:1",
            evidence=["evidence/policy/custom.json"],
        ),
        _r(
            "CKV_DOCKER_3",
            "policy",
            "A non-root USER is set in the Dockerfile",
            K,
            message="no Dockerfile under reference_app/ in this checkout",
        ),
    ]


def functional_results() -> list[Result]:
    return [
        _r(
            "SCN-upload-png",
            "functional",
            "PNG upload is processed and downloadable",
            S,
            location=f"{API}/api/uploads",
            measured={"end_to_end_ms": 842.5, "sse_events": 7},
            evidence=["evidence/functional/upload-png.json"],
        ),
        _r(
            "SCN-upload-too-large",
            "functional",
            "Oversized upload is refused with 413 while streaming",
            S,
            location=f"{API}/api/uploads",
            measured={"bytes_read_before_413": 10485760},
        ),
        _r(
            "SCN-upload-wrong-type",
            "functional",
            "Disallowed type is refused with 415 by magic bytes",
            S,
            location=f"{API}/api/uploads",
        ),
        _r(
            "SCN-other-user-404",
            "functional",
            "Another user's upload is 404",
            S,
            Severity.HIGH,
            location=f"{API}/api/uploads/{{id}}",
            controls=["AC-01"],
        ),
        _r(
            "SCN-worker-crash",
            "functional",
            "A worker crash mid-job loses nothing",
            S,
            Severity.HIGH,
            measured={"recovered_jobs": 3, "lost_jobs": 0},
            evidence=["logs/worker-1.log"],
        ),
        _r(
            "SCN-page-upload",
            "functional",
            "The static page uploads and shows progress",
            K,
            message="Chromium not found at /usr/bin/chromium; browser scenarios skipped",
        ),
    ]


def dast_results() -> list[Result]:
    return [
        _r(
            "ZAP-10038",
            "dast",
            "Content Security Policy header not set",
            F,
            location=f"{API}/",
            message="GET / has no Content-Security-Policy header",
            remediation="Send `Content-Security-Policy: default-src 'self'` from the static page handler.",
            evidence=["evidence/dast/zap-baseline.json"],
        ),
        _r(
            "SCHEMATHESIS-not_a_server_error",
            "dast",
            "API never answers 5xx",
            F,
            Severity.HIGH,
            location="POST /api/uploads",
            message="500 Internal Server Error for a filename containing NUL",
            remediation="Reject control characters in filenames with 422 before touching storage.",
            evidence=["evidence/dast/schemathesis-junit.xml"],
        ),
        _r(
            "ZAP-10021",
            "dast",
            "X-Content-Type-Options header missing",
            W,
            Severity.LOW,
            location=f"{API}/metrics",
            message="/metrics is scraped internally only",
            waiver={"id": "ZAP-10021", "resource": "*/metrics",
                    "reason": "/metrics is only reachable from the cluster network.",
                    "owner": "platform-team", "approved_by": "security-review", "expires": "2027-02-24"},
        ),
        _r(
            "ZAP-10096",
            "dast",
            "Timestamp disclosure",
            F,
            Severity.INFO,
            location=f"{API}/api/uploads",
            message="Unix timestamp in response body (created_at)",
        ),
        _r("ZAP-40012", "dast", "Cross-site scripting (reflected)", S, Severity.HIGH, location=f"{API}/"),
        _r("ZAP-40018", "dast", "SQL injection", S, Severity.HIGH, location=f"{API}/api/uploads"),
        _r(
            "SCHEMATHESIS-response_schema_conformance",
            "dast",
            "Responses match the OpenAPI schema",
            S,
            location="GET /api/uploads",
            measured={"cases": 412},
        ),
    ]


def load_results() -> list[Result]:
    return [
        _r(
            "SLO-upload-p95",
            "load",
            "Upload p95 latency under 500 ms at 200 users",
            S,
            Severity.HIGH,
            measured={"p95_ms": 412.0, "threshold_ms": 500},
            evidence=["evidence/load/timeline.json"],
        ),
        _r(
            "SLO-list-p99",
            "load",
            "List p99 latency under 1000 ms",
            S,
            measured={"p99_ms": 780.0, "threshold_ms": 1000},
        ),
        _r(
            "SLO-error-rate",
            "load",
            "Error rate under 0.5 %",
            S,
            Severity.HIGH,
            measured={"error_rate": 0.0021, "requests": 96211},
        ),
        _r(
            "HPA-api-scale-up",
            "load",
            "API scales out as the HPA algorithm predicts",
            S,
            measured={"max_replicas": 6, "reaction_s": 45},
            evidence=["evidence/load/timeline.json"],
        ),
        _r(
            "CANARY-bad-rollback",
            "load",
            "A bad canary is aborted and rolled back",
            S,
            Severity.HIGH,
            measured={"aborted_at_weight": 40, "time_to_abort_s": 95},
            evidence=["evidence/load/timeline.json"],
        ),
        _r(
            "CANARY-good-promote",
            "load",
            "A good canary is promoted",
            K,
            message="profile 'full' runs one canary per run; the good canary ran in the nightly",
        ),
    ]


def sample_record(*, with_error: bool = False, run_id: str = RUN_ID) -> RunRecord:
    results = policy_results() + functional_results() + dast_results() + load_results()
    if with_error:
        results.append(
            _r(
                "KV-rollout-crd",
                "policy",
                "Manifests validate against CRD schemas",
                E,
                location="manifests/base/api/rollout.yaml:1",
                controls=["REL-01"],
                message="kubernetes-validate has no offline schema for argoproj.io/v1alpha1 Rollout",
            )
        )
    stages = [
        StageSummary("policy", E if with_error else F,
                     "checkov 3.3.30 over terraform/, manifests/ and 4 custom policies", 7.9),
        StageSummary("functional", S, "6 scenarios against the local target", 48.3),
        StageSummary("dast", F, "ZAP baseline + API scan and Schemathesis (412 cases)", 212.4),
        StageSummary("load", S, "ramp to 200 users, hold, bad canary at t=360 s", 600.8),
    ]
    return assembled(RunRecord(run_id=run_id, provenance=provenance(), stages=stages, results=results))


def assembled(record: RunRecord, *, catalog: bool = True) -> RunRecord:
    """``record`` as the engine finishes it: controls assessed against the sample catalog, the
    sample waivers recorded and the verdict decided afresh (use after every ``replace``)."""
    controls, waivers = Catalog(), []
    if catalog:
        controls = parse_catalog(yaml.safe_load(CONTROLS_YAML), "controls.yaml")
        waivers = parse_waivers(yaml.safe_load(WAIVERS_YAML), Path("waivers.yaml"))
    today = record.provenance.run_date()
    return record.revised(controls=assess(controls, record.results), frameworks=dict(controls.frameworks),
                          catalog="policies/controls.yaml" if catalog else None,
                          waivers=waiver_records(waivers, record.results, today))


def timeline() -> dict[str, Any]:
    samples = []
    replicas = {"api": 2, "worker": 2}
    for t in range(0, 601, 10):
        users = min(200, t * 200 // 240) if t <= 480 else max(20, 200 - (t - 480) * 2)
        pressure = users / (replicas["api"] * 40)
        p50 = 38 + 25 * pressure + 4 * math.sin(t / 23)
        weight = 0 if t < 360 else 20 if t < 400 else 40 if t < 440 else 0
        bad = 1.6 if 360 <= t < 440 else 1.0
        samples.append(
            {
                "t": t,
                "scenario": "autoscaling-api" if t < 350 else "canary-bad" if t < 460 else "cooldown",
                "users": users,
                "rps": round(users * 1.55, 1),
                "p50_ms": round(p50, 1),
                "p95_ms": round(p50 * 3.9 * bad, 1),
                "p99_ms": round(p50 * 6.4 * bad, 1),
                "replicas": dict(replicas),
                "canary_weight": weight,
            }
        )
        if pressure > 1.05 and replicas["api"] < 6 and t % 30 == 0:
            replicas["api"] += 1
        if users > 120 and replicas["worker"] < 4 and t % 60 == 0:
            replicas["worker"] += 1
        if t > 500 and replicas["api"] > 3 and t % 60 == 0:
            replicas["api"] -= 1
    analysis = []
    for t in range(370, 441, 10):
        rate = 0.004 if t < 400 else 0.031 + (t - 400) / 4000
        analysis.append(
            {
                "t": t,
                "metric": "error-rate",
                "value": round(rate, 4),
                "phase": "Successful" if rate < 0.01 else "Failed",
            }
        )
        analysis.append(
            {
                "t": t,
                "metric": "p95-latency-ms",
                "value": round(300 + (t - 360) * 4.1, 1),
                "phase": "Successful" if t < 420 else "Failed",
            }
        )
    return {"samples": samples, "analysis": analysis, "thresholds": {"p95_ms": 500, "p99_ms": 1000}}


CONTROLS_YAML = """\
version: 1
frameworks:
  "CIS AWS Foundations": CIS AWS Foundations Benchmark v3.0.0
  "CIS EKS": CIS Amazon EKS Benchmark v1.5.0
  "NIST 800-53": NIST SP 800-53 Rev. 5
  "OWASP ASVS": OWASP ASVS 4.0.3
  "SOC 2": AICPA SOC 2 (2017)
policies: []
controls:
  - id: LOG-01
    title: Object storage access is logged
    rationale: Access to uploaded files must be attributable during an incident.
    severity: high
    frameworks: {"CIS AWS Foundations": ["3.6"], "NIST 800-53": ["AU-2", "AU-12"]}
    evidence: ["CKV_AWS_18"]
  - id: ENC-01
    title: Data at rest is encrypted with KMS
    rationale: Uploaded files may contain personal data.
    severity: high
    frameworks: {"CIS AWS Foundations": ["2.1.1"], "NIST 800-53": ["SC-28"], "SOC 2": ["CC6.1"]}
    evidence: ["CKV_AWS_145"]
  - id: DR-01
    title: Uploads are replicated to a second region
    rationale: A regional outage must not lose accepted uploads.
    severity: medium
    frameworks: {"NIST 800-53": ["CP-9"], "SOC 2": ["A1.2"]}
    evidence: ["CKV_AWS_144"]
  - id: HA-02
    title: Workloads survive voluntary disruption
    rationale: Node drains during upgrades must not take the service down.
    severity: medium
    frameworks: {"CIS EKS": ["5.6.1"], "SOC 2": ["A1.1"]}
    evidence: ["EU-K8S-007"]
  - id: K8S-01
    title: Containers run as non-root
    rationale: A compromised process must not own the node.
    severity: high
    frameworks: {"CIS EKS": ["4.2.6"], "NIST 800-53": ["AC-6"]}
    evidence: ["CKV_K8S_40", "CKV_DOCKER_3"]
  - id: AC-01
    title: Users see only their own uploads
    rationale: Broken object-level authorisation is the top API risk.
    severity: critical
    frameworks: {"OWASP ASVS": ["V4.2.1"], "NIST 800-53": ["AC-3"]}
    evidence: ["AUTHZ-*"]  # matches nothing: evidenced only by results naming it
  - id: WEB-01
    title: Security headers protect browsers
    rationale: Headers are the cheapest defence against XSS and MIME sniffing.
    severity: medium
    frameworks: {"OWASP ASVS": ["V14.4.3", "V14.4.4"]}
    evidence: ["ZAP-100*", "ZAP-40012"]
  - id: API-01
    title: The API honours its contract and never fails with 5xx
    rationale: Clients and fuzzers alike must get well-formed answers.
    severity: high
    frameworks: {"OWASP ASVS": ["V13.2.1"], "NIST 800-53": ["SI-10"]}
    evidence: ["SCHEMATHESIS-*", "ZAP-40018"]
  - id: PERF-01
    title: Latency and error SLOs hold under load
    rationale: Reviewers sign off on capacity for the expected peak.
    severity: medium
    frameworks: {"SOC 2": ["A1.1"]}
    evidence: ["SLO-*", "HPA-*"]
  - id: REL-01
    title: Bad releases are rolled back automatically
    rationale: A canary failing its analysis must never reach all users.
    severity: high
    frameworks: {"NIST 800-53": ["CM-3"], "SOC 2": ["CC8.1"]}
    evidence: ["CANARY-*"]
  - id: UI-01
    title: The upload page works end to end in a browser
    rationale: Users reach the service through the page.
    severity: low
    frameworks: {"SOC 2": ["PI1.1"]}
    evidence: ["SCN-page-*"]
  - id: SUP-01
    title: CI workflows pin third-party actions by digest
    rationale: Supply-chain attacks through mutable tags.
    severity: high
    frameworks: {"NIST 800-53": ["SR-3"], "SOC 2": ["CC8.1"]}
    evidence: ["CKV_GHA_*"]
"""

WAIVERS_YAML = """\
version: 1
waivers:
  - id: CKV_AWS_144
    resource: "terraform/modules/uploads-storage/*"
    reason: Single-region pilot; replication planned with the EU launch.
    owner: storage-team
    approved_by: ciso@example.com
    expires: 2026-12-16
  - id: ZAP-10021
    resource: "*/metrics"
    reason: /metrics is only reachable from the cluster network.
    owner: platform-team
    approved_by: security-review
    expires: 2027-02-24
  - id: EU-TAG-002
    resource: "terraform/envs/sandbox/*"
    reason: Sandbox resources are short-lived.
    owner: finops
    approved_by: finops-lead
    expires: 2026-11-20
"""


def write_sample_run(root: Path, record: RunRecord | None = None, *, with_timeline: bool = True) -> SampleRun:
    """Lay out a run directory and policy files under ``root``; returns their paths."""
    record = record or sample_record()
    run_dir = root / "reports" / record.run_id
    files = {
        "evidence/policy/checkov.json": json.dumps({"check_type": "terraform", "failed": 1}),
        "evidence/policy/custom.json": json.dumps({"policies": 4}),
        "evidence/functional/upload-png.json": json.dumps({"events": 7}),
        "evidence/dast/zap-baseline.json": json.dumps({"site": []}),
        "evidence/dast/schemathesis-junit.xml": "<testsuites/>\n",
        "logs/worker-1.log": '{"level": "info", "msg": "recovered stalled job"}\n',
        "logs/api-1.log": '{"level": "info", "msg": "started"}\n',
    }
    if with_timeline:
        files["evidence/load/timeline.json"] = json.dumps(timeline())
    for rel, text in files.items():
        (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / rel).write_text(text, encoding="utf-8")
    (run_dir / "results.json").write_text(json.dumps(record.to_dict(), indent=2), encoding="utf-8")
    policies = root / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    (policies / "controls.yaml").write_text(CONTROLS_YAML, encoding="utf-8")
    (policies / "waivers.yaml").write_text(WAIVERS_YAML, encoding="utf-8")
    return SampleRun(run_dir, policies / "controls.yaml", policies / "waivers.yaml", record)


def regressed(record: RunRecord, run_id: str) -> RunRecord:
    """A later run with a planted regression: one new failure, one fix, one worse figure."""
    results = []
    for result in record.results:
        if result.id == "SCN-other-user-404":
            result = replace(result, status=Status.FAILED, message="GET returned 200 for another user")
        elif result.id == "ZAP-10038":
            result = replace(result, status=Status.PASSED, message="", remediation=None)
        elif result.id == "SLO-upload-p95":
            result = replace(result, measured={"p95_ms": 655.0, "threshold_ms": 500})
        results.append(result)
    return assembled(replace(record, run_id=run_id, results=results))
