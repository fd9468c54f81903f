"""The abuse steps (hostile, hold, slow) against an in-memory API and fake platforms: each check
fails from what it observes (memory growth, a row that never settles, a missing 429, a connection
still read after its bound), and passes when the observation is within bounds."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.stages.functional import RunnerOptions, ScenarioRunner, budget
from harness.stages.functional.hostile import CATALOG, hostile_file
from harness.targets.base import ReplicaStatus
from tests.harness.stages.functional.fake_api import FakeApi
from tests.harness.stages.functional.test_runner import env, scenario

MIB = 1024 * 1024


class GrowingControl:
    """Worker replicas whose RSS grows by ``growth`` once the API has an upload (the job ran)."""

    platform = "fake platform"

    def __init__(self, api: FakeApi, growth: int, limit: int = 1024 * MIB) -> None:
        self.api, self.growth, self.limit = api, growth, limit

    def replicas(self, component: str) -> list[ReplicaStatus]:
        grown = self.growth if self.api.uploads else 0
        return [ReplicaStatus(component, f"{component}-{i}", "v1", limits={"memory": float(self.limit)},
                              memory_bytes=100 * MIB + (grown if i else 0))
                for i in range(2)]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The rendered manifests say WORKER_CONCURRENCY=4 (the render itself is tested with the stage)."""
    monkeypatch.setattr(budget, "_rendered_settings",
                        lambda overlay: (("WORKER_CONCURRENCY", "4", "ConfigMap app-config"),))
    return tmp_path


def run_hostile(api: FakeApi, control: Any, overlay: Path, expect: dict[str, Any]) -> Any:
    environment = env(control)
    environment.extra["manifests"] = str(overlay)
    runner = ScenarioRunner(environment, RunnerOptions(transport=api.transport()))
    step = {"hostile": {"case": "json-deep", "size": 1000, "sample": "worker"}, "expect": expect}
    return runner.run(scenario([step]))


BUDGETED = {"budget": {"divide_by": "WORKER_CONCURRENCY"}, "settle": {"within_s": 0.5, "source": "test"}}


def test_a_replica_grown_past_limit_over_concurrency_fails_naming_the_budget(settings: Path) -> None:
    api = FakeApi()
    outcome = run_hostile(api, GrowingControl(api, 300 * MIB), settings, BUDGETED)
    assert outcome.status == "failed"
    assert "resource budget: json-deep" in outcome.message and "worker-1 by 300 MiB" in outcome.message
    assert "256 MiB per job" in outcome.message and "WORKER_CONCURRENCY=4" in outcome.message
    assert "memory limit 1024 MiB" in outcome.measured["memory_budget"]


def test_growth_within_the_budget_passes_and_is_measured(settings: Path) -> None:
    api = FakeApi()
    outcome = run_hostile(api, GrowingControl(api, 40 * MIB), settings, BUDGETED)
    assert outcome.status == "passed", outcome.message
    assert outcome.measured["json_deep_1000_rise_mib"] == 40.0
    assert outcome.measured["json_deep_1000_settle_bound"] == "0.5 s (test)"


def test_an_upload_that_never_settles_fails_the_settling_bound(settings: Path) -> None:
    api = FakeApi(state="processing")
    outcome = run_hostile(api, GrowingControl(api, 0), settings, BUDGETED)
    assert outcome.status == "failed"
    assert "settling: json-deep" in outcome.message and "still 'processing'" in outcome.message
    assert "bound 0.5 s (test)" in outcome.message


def test_a_reason_with_python_internals_fails(settings: Path) -> None:
    api = FakeApi(state="failed", failure_reason="gave up: RecursionError(<_io.BytesIO object at 0x7f9c>)")
    expect = {**BUDGETED, "reason_not_match": "0x[0-9a-f]{4,}|Error\\b"}
    outcome = run_hostile(api, GrowingControl(api, 0), settings, expect)
    assert outcome.status == "failed" and "leaks internals" in outcome.message


def test_without_a_control_the_budget_check_is_skipped(settings: Path) -> None:
    outcome = run_hostile(FakeApi(), None, settings, BUDGETED)
    assert outcome.status == "skipped" and "control handle" in outcome.message


def test_the_catalog_files_decode_to_what_they_claim() -> None:
    from PIL import Image

    for case in ("png-bomb", "webp-bomb", "gif-bomb", "jpeg-cmyk-bomb", "jpeg-progressive-bomb"):
        kind, data = hostile_file(case, 1500)
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (1500, 1500) and str(image.format).lower() in (kind, "jpeg"), case
    assert len(hostile_file("webp-bomb", 8000)[1]) < 64  # 64 M pixels in a few bytes
    assert json.loads(hostile_file("json-deep", 50)[1]) == json.loads("[" * 50 + "]" * 50)
    assert set(CATALOG) >= {"pdf-pages", "pdf-actions", "json-digits", "csv-long-line"}


def test_the_catalog_pdfs_are_read_as_written() -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(hostile_file("pdf-pages", 300)[1]), strict=True)
    assert len(reader.pages) == 300
    scripted = pypdf.PdfReader(io.BytesIO(hostile_file("pdf-actions", 1)[1]), strict=True)
    page = scripted.pages[0]
    assert "/OpenAction" in scripted.trailer["/Root"] and "/AA" in page
    assert [a.get_object()["/A"]["/S"] for a in page["/Annots"]] == ["/JavaScript", "/Launch"]


# -- hold -----------------------------------------------------------------------------------------

HOLD: list[dict[str, Any]] = [
    {"upload": {"file": {"type": "text"}, "user": "alice"}, "as": "up"},
    {"hold": {"streams": {"of": "up", "user": "alice", "count": 12},
              "during": [{"upload": {"file": {"type": "text"}, "user": "bob"}, "expect": {"status": 201}}]},
     "expect": {"refused": 429, "refusal_headers": {"retry-after": "^[0-9]+$"}}},
]


def run_hold(api: FakeApi) -> Any:
    return ScenarioRunner(env(), RunnerOptions(transport=api.transport())).run(scenario(HOLD))


def test_a_per_user_stream_limit_answering_429_passes() -> None:
    outcome = run_hold(FakeApi(stream_limit=8))
    assert outcome.status == "passed", outcome.message
    assert outcome.measured["streams_held"] == 8 and outcome.measured["streams_first_refusal_at"] == 9


def test_no_per_user_limit_fails_fairness() -> None:
    outcome = run_hold(FakeApi())
    assert outcome.status == "failed"
    assert "fairness: one user opened 12 streams and was never refused with 429" in outcome.message


def test_server_errors_for_the_abuser_fail_fairness() -> None:
    outcome = run_hold(FakeApi({"stream_5xx"}, stream_limit=8))
    assert outcome.status == "failed" and "server errors or closes {503: 4}" in outcome.message


class ApiReplicas:
    """``n`` ready API replicas, as a platform that autoscaled reports them."""

    platform = "fake platform"

    def __init__(self, n: int) -> None:
        self.n = n

    def replicas(self, component: str) -> list[ReplicaStatus]:
        return [ReplicaStatus(component, f"{component}-{i}", "v1", ready=True) for i in range(self.n)]


@pytest.mark.parametrize(("replicas", "status"), [(3, "passed"), (1, "failed")])
def test_a_per_replica_count_grows_with_the_replicas_running(replicas: int, status: str) -> None:
    """4 streams per replica: past the (fake) limit of 8 with 3 replicas, not with 1."""
    steps = [HOLD[0], {**HOLD[1], "hold": {**HOLD[1]["hold"],
                                           "streams": {"of": "up", "count": 4, "per_replica_of": "api"}}}]
    options = RunnerOptions(transport=FakeApi(stream_limit=8).transport())
    runner = ScenarioRunner(env(ApiReplicas(replicas)), options)
    outcome = runner.run(scenario(steps))
    assert outcome.status == status, outcome.message
    assert outcome.measured["api_replicas_at_hold"] == replicas


MANY: list[dict[str, Any]] = [
    {"upload": {"file": {"type": "text"}, "user": "alice"}, "as": "a"},
    {"upload": {"file": {"type": "text"}, "user": "bob"}, "as": "b"},
    {"hold": {"streams": {"of": ["a", "b"], "count": 6},
              "during": [{"upload": {"file": {"type": "text"}, "user": "bob"}, "expect": {"status": 201}}]},
     "expect": {"within_limit": True}},
]


def test_several_holders_within_the_per_user_limit_pass_and_are_counted_together() -> None:
    outcome = ScenarioRunner(env(), RunnerOptions(transport=FakeApi(stream_limit=8).transport())).run(
        scenario(MANY))
    assert outcome.status == "passed", outcome.message
    assert outcome.measured["streams_held"] == 12  # 6 of alice's upload by alice, 6 of bob's by bob


def test_a_holder_refused_within_the_declared_limit_fails_fairness() -> None:
    outcome = ScenarioRunner(env(), RunnerOptions(transport=FakeApi(stream_limit=4).transport())).run(
        scenario(MANY))
    assert outcome.status == "failed"
    assert "fairness: holders each within the per-user limit held 8 of 12 streams" in outcome.message


# -- slow clients ---------------------------------------------------------------------------------


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback server that answers ``status`` (408) after ``answer_after`` s (None: reads for ever)."""
    answer_after, status = request.param if isinstance(request.param, tuple) else (request.param, 408)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            began = time.monotonic()
            with conn:
                conn.settimeout(0.1)
                while not stop.is_set():
                    if answer_after is not None and time.monotonic() - began > answer_after:
                        conn.sendall(b"HTTP/1.1 %d Whatever\r\nConnection: close\r\n\r\n" % status)
                        break
                    try:
                        if conn.recv(4096) == b"":
                            break
                    except OSError:
                        continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def run_slow(url: str, mode: str, bound: float, rate: float = 20) -> Any:
    environment = env()
    environment.api_url = url
    step = {"slow": {"mode": mode, "rate_bps": rate, "user": "alice"},
            "expect": {"status": [408, 413], "closed_within": {"s": bound, "source": "TIMEOUT_S=1"}}}
    return ScenarioRunner(environment, RunnerOptions(transport=FakeApi().transport())).run(scenario([step]))


@pytest.mark.parametrize("server", [0.5], indirect=True)
@pytest.mark.parametrize("mode", ["header", "body", "stall", "epilogue"])
def test_a_408_within_the_bound_passes(server: str, mode: str) -> None:
    outcome = run_slow(server, mode, 3.0)
    assert outcome.status == "passed", outcome.message
    assert outcome.measured[f"slow_{mode}_s"] < 3.0


@pytest.mark.parametrize("server", [None], indirect=True)
def test_a_connection_still_read_after_the_bound_fails(server: str) -> None:
    outcome = run_slow(server, "header", 1.0)
    assert outcome.status == "failed"
    assert "slow and lying clients: a header trickling at 20 B/s was still being read after 1.0 s" \
        in outcome.message
    assert "(TIMEOUT_S=1)" in outcome.message


@pytest.mark.parametrize("server", [(0.3, 201)], indirect=True)
def test_a_body_past_the_limit_that_is_accepted_fails(server: str) -> None:
    outcome = run_slow(server, "epilogue", 3.0, rate=1_000_000)
    assert outcome.status == "failed"
    assert "slow and lying clients: the epilogue request was answered 201, expected [408, 413]" \
        in outcome.message


@pytest.fixture
def upload_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """Reads every upload for ever, except that connections past ``limit`` (None: no limit) are
    answered 429 with Retry-After as soon as they arrive."""
    limit: int | None = request.param
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop, conns = threading.Event(), list[socket.socket]()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conns.append(conn)
            if limit is not None and len(conns) > limit:
                conn.sendall(b"HTTP/1.1 429 Too Many\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in conns:
        conn.close()
    listener.close()


def run_hold_uploads(url: str) -> Any:
    environment = env()
    environment.api_url = url
    step = {"hold": {"uploads": {"user": "alice", "count": 6, "rate_bps": 8192}},
            "expect": {"refused": 429, "refusal_headers": {"retry-after": "^[0-9]+$"}}}
    return ScenarioRunner(environment, RunnerOptions(transport=FakeApi().transport())).run(scenario([step]))


@pytest.mark.parametrize("upload_server", [4], indirect=True)
def test_uploads_held_past_a_per_user_limit_get_429(upload_server: str) -> None:
    outcome = run_hold_uploads(upload_server)
    assert outcome.status == "passed", outcome.message
    assert outcome.measured["uploads_held"] == 4 and outcome.measured["uploads_first_refusal_at"] == 5


@pytest.mark.parametrize("upload_server", [None], indirect=True)
def test_uploads_never_refused_fail_fairness(upload_server: str) -> None:
    outcome = run_hold_uploads(upload_server)
    assert outcome.status == "failed"
    assert "fairness: one user opened 6 uploads and was never refused with 429" in outcome.message
