"""Load shapes, SLO evaluation and scenario files: pure functions."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.results import Status
from harness.stages.load.scenario import LoadScenario, deep_merge, load_scenarios
from harness.stages.load.shapes import (
    ShapeStage,
    build_stages,
    csv_payload,
    duration,
    stage_at,
    stretch,
    upload_size,
)
from harness.stages.load.slo import HTTP, parse_history_csv, parse_stats_csv, slo_result

ROOT = Path(__file__).resolve().parents[4]

STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,list,78,0,2,2.5,1,9,120,15.6,0.0,2,3,3,3,4,5,8,9,9,9,9
POST,upload,116,2,3,3.1,1,20,80,23.2,0.4,3,3,4,4,5,6,8,16,16,16,16
FLOW,upload-to-completed,116,0,68,66,60,90,0,23.2,0.0,68,68,69,73,74,77,79,87,87,87,87
GET,download,0,0,0,0,0,0,0,0.0,0.0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
,Aggregated,310,2,4,20,1,90,60,62.0,0.4,4,5,60,66,68,73,74,87,87,87,87
"""


def test_shapes() -> None:
    assert build_stages({"type": "ramp", "users": 10, "ramp_s": 5, "hold_s": 20}) == [ShapeStage(25, 10, 2.0)]
    step = build_stages(
        {
            "type": "step",
            "start_users": 2,
            "step_users": 4,
            "steps": 3,
            "step_s": 10,
            "tail": {"users": 0, "duration_s": 30},
        }
    )
    assert [(s.until_s, s.users) for s in step] == [(10, 6), (20, 10), (30, 14), (60, 0)]
    spike = build_stages(
        {"type": "spike", "base_users": 2, "spike_users": 20, "base_s": 5, "spike_s": 5, "after_s": 5}
    )
    assert [s.users for s in spike] == [2, 20, 2] and duration(spike) == 15
    assert build_stages({"type": "soak", "users": 3, "duration_s": 60})[0].users == 3
    assert stage_at(step, 0).users == 6 and stage_at(step, 59.9).users == 0 and stage_at(step, 60) is None  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown load shape"):
        build_stages({"type": "sine"})


def test_upload_sizes_follow_the_distribution_within_bounds() -> None:
    rng = random.Random(1)
    sizes = [
        upload_size(rng, {"median_kb": 32, "sigma": 1.0, "min_kb": 1, "max_kb": 512}) for _ in range(2000)
    ]
    assert min(sizes) >= 1024 and max(sizes) <= 512 * 1024
    median = sorted(sizes)[len(sizes) // 2]
    assert 24 * 1024 < median < 42 * 1024
    payload = csv_payload(10_000, 7)
    rows = list(csv.reader(io.StringIO(payload.decode())))
    assert rows[0] == ["id", "kind", "payload"] and 9_000 < len(payload) <= 10_000


def test_stats_csv_and_http_aggregate() -> None:
    flows = parse_stats_csv(STATS)
    assert flows["upload"].percentile(95) == 6.0 and flows["upload"].failures == 2
    assert flows["download"].percentile(95) is None
    http = flows[HTTP]  # list + upload + download, not the FLOW timings
    assert (http.requests, http.failures) == (194, 2) and http.rps == pytest.approx(38.8)


@pytest.mark.parametrize(
    ("slo", "status", "measured_key"),
    [
        ({"id": "SLO-upload-p95", "flow": "upload", "p95_ms": 10}, Status.PASSED, "p95_ms"),
        ({"id": "SLO-upload-p95", "flow": "upload", "p95_ms": 5}, Status.FAILED, "p95_ms"),
        ({"id": "SLO-flow", "flow": "upload-to-completed", "p99_ms": 80}, Status.FAILED, "p99_ms"),
        ({"id": "SLO-error-ratio", "error_ratio": 0.02}, Status.PASSED, "error_ratio"),
        ({"id": "SLO-error-ratio", "error_ratio": 0.005}, Status.FAILED, "error_ratio"),
        ({"id": "SLO-throughput", "min_rps": 30}, Status.PASSED, "min_rps"),
        ({"id": "SLO-throughput", "min_rps": 50}, Status.FAILED, "min_rps"),
        ({"id": "SLO-download-p95", "flow": "download", "p95_ms": 800}, Status.FAILED, "requests"),
    ],
)
def test_slo_verdicts(slo: dict[str, object], status: Status, measured_key: str) -> None:
    result = slo_result(slo, parse_stats_csv(STATS), scenario="baseline", evidence=["evidence/load/x.csv"])
    assert result.status is status and measured_key in result.measured
    assert result.id == slo["id"] and result.stage == "load" and result.evidence == ["evidence/load/x.csv"]


def test_slo_without_a_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="names none"):
        slo_result({"id": "SLO-x", "flow": "upload"}, parse_stats_csv(STATS), scenario="s")


def test_history_csv() -> None:
    text = (
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,"
        "100%,Total Request Count\n"
        "1700000000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0\n"
        "1700000001,5,GET,list,3,0,2,2,2,2,2,2,2,2,2,2,2,3\n"
        "1700000001,5,,Aggregated,12.5,0.5,3,4,5,6,7,40,50,60,70,70,70,12\n"
    )
    rows = parse_history_csv(text)
    assert rows[1] == {
        "ts": 1700000001.0,
        "users": 5,
        "rps": 12.5,
        "fps": 0.5,
        "p50_ms": 3.0,
        "p95_ms": 40.0,
        "p99_ms": 60.0,
    }
    assert rows[0]["p95_ms"] is None


def test_repository_scenarios_parse_for_every_profile() -> None:
    for profile in ("pr", "nightly"):
        scenarios = load_scenarios(ROOT / "scenarios" / "load", profile)
        assert {s.kind for s in scenarios} >= {"slo", "autoscaling", "canary-rollback", "canary-promotion"}
    pr = {s.id: s for s in load_scenarios(ROOT / "scenarios" / "load", "pr")}
    assert all(duration(list(s.stages)) <= 120 for s in pr.values())  # a PR run stays short


def test_scenario_overrides_and_errors(tmp_path: Path) -> None:
    data = {
        "id": "x",
        "kind": "slo",
        "shape": {"type": "soak", "users": 1, "duration_s": 5},
        "overrides": {"nightly": {"shape": {"users": 9}}},
    }
    assert LoadScenario.from_dict(data, profile="nightly", source="x.yaml").stages[0].users == 9
    assert LoadScenario.from_dict(data, profile="pr", source="x.yaml").stages[0].users == 1
    with pytest.raises(ConfigError, match="kind"):
        LoadScenario.from_dict({**data, "kind": "chaos"}, profile="pr", source="x.yaml")
    with pytest.raises(ConfigError, match="shape"):
        LoadScenario.from_dict({**data, "shape": {"type": "soak"}}, profile="pr", source="x.yaml")
    (tmp_path / "a.yaml").write_text(
        "id: a\nkind: slo\nprofiles: [nightly]\nshape: {type: soak, users: 1, duration_s: 1}\n"
    )
    assert load_scenarios(tmp_path, "pr") == []
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_a_scenario_file_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: [\n")
    with pytest.raises(ConfigError, match=r"a\.yaml: invalid YAML"):
        load_scenarios(tmp_path, "pr")
    (tmp_path / "a.yaml").unlink()
    (tmp_path / "b.yaml").mkdir()  # read_text fails: an OSError, once a traceback
    with pytest.raises(ConfigError, match=r"b\.yaml: cannot read: Is a directory"):
        load_scenarios(tmp_path, "pr")


def test_a_shape_written_for_one_time_scale_is_stretched_to_another() -> None:
    shape = {"type": "soak", "users": 2, "duration_s": 45}
    data = {"id": "c", "kind": "canary-rollback", "speedup": 20, "shape": shape}
    scenario = LoadScenario.from_dict(data, profile="pr", source="x.yaml")
    assert scenario.stretch_for(20.0) == 1.0 and scenario.stretch_for(1.0) == 20.0
    assert stretch(list(scenario.stages), 20.0)[-1].until_s == 900.0  # a cluster walks the steps in real time
    plain = LoadScenario.from_dict({**data, "speedup": None}, profile="pr", source="x.yaml")
    assert plain.stretch_for(1.0) == 1.0  # no declared time scale: the shape runs as written


@pytest.mark.parametrize(("extra", "message"), [
    ({"mix": {"uplod": 1}}, "x.yaml: mix.uplod: not a flow (expected one of upload, list, download)"),
    ({"requests": {"r": {"method": "GET", "path": "notes"}}}, "x.yaml: requests.r.path: expected a path"),
    ({"requests": {"r": {"method": "FETCH", "path": "/n"}}}, "x.yaml: requests.r.method: not an HTTP method"),
])
def test_load_flows_name_file_and_key(extra: dict[str, object], message: str) -> None:
    data = {"id": "x", "kind": "slo", "shape": {"type": "soak", "users": 1, "duration_s": 1}, **extra}
    with pytest.raises(ConfigError) as caught:
        LoadScenario.from_dict(data, profile="pr", source="x.yaml")
    assert str(caught.value).startswith(message)


def test_a_scenario_of_its_own_requests_weighs_them_and_no_upload_flow() -> None:
    data = {"id": "x", "kind": "slo", "shape": {"type": "soak", "users": 1, "duration_s": 1},
            "mix": {"read": 2}, "requests": {"read": {"method": "GET", "path": "/v1/notes"}}}
    scenario = LoadScenario.from_dict(data, profile="pr", source="x.yaml")
    assert dict(scenario.mix) == {"read": 2} and scenario.requests["read"]["path"] == "/v1/notes"
