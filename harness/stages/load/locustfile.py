"""The load stage's Locust user flows. Runs only inside ``python -m locust`` (gevent), never imported
by the harness process.

Configuration comes from the JSON file named by ``HARNESS_LOAD_CONFIG`` (written by
:mod:`harness.stages.load.runner`): tokens, the shape's stages, the task mix, upload sizes, the
app's routes and auth (``scenarios/app.yaml``) and the scenario's own ``requests``.

Flows (Locust request names, which the SLOs refer to), weighted by the mix:
``upload`` POST ``routes.uploads`` (CSV payload, size from a log-normal distribution), then the SSE
stream (``routes.events``) is followed to the end: ``sse-first-event`` (stream opened -> first event)
and ``upload-to-completed`` (upload sent -> ``completed`` event) are recorded as their own entries;
``list`` GET ``routes.uploads``; ``download`` GET ``routes.download`` of a completed upload; and each
of the scenario's ``requests`` (method, path, json, status) under its own name.
At the end each process that ran users has a summary (accepted upload ids, responses per
``X-App-Version``): written beside the run when it runs alone; sent to the master by a worker, which
may run in a pod; the master writes them, and ``workers.json``, what each worker's stats reports
carried.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.runners import MasterRunner, WorkerRunner

_spec = importlib.util.spec_from_file_location("_load_shapes", Path(__file__).with_name("shapes.py"))
assert _spec is not None and _spec.loader is not None
shapes: Any = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = shapes  # dataclasses look their module up
_spec.loader.exec_module(shapes)

CONFIG: dict[str, Any] = json.loads(Path(os.environ["HARNESS_LOAD_CONFIG"]).read_text())
STAGES = [shapes.ShapeStage(**s) for s in CONFIG["stages"]]
SSE_TIMEOUT_S = float(CONFIG.get("sse_timeout_s", 120))
APP: dict[str, Any] = CONFIG.get("app") or {}
ROUTES: dict[str, str] = APP.get("routes") or {}
REQUESTS: dict[str, dict[str, Any]] = CONFIG.get("requests") or {}
MIX: dict[str, int] = {name: int(w) for name, w in (CONFIG.get("mix") or shapes.DEFAULT_MIX).items()}
SUMMARY: dict[str, Any] = shapes.empty_summary()


def _count(response: Any) -> None:
    headers = getattr(response, "headers", None) or {}
    version = headers.get("X-App-Version") or "unknown"
    SUMMARY["versions"][version] = SUMMARY["versions"].get(version, 0) + 1
    track = headers.get("X-Routed-Track")
    if track:
        SUMMARY["tracks"][track] = SUMMARY["tracks"].get(track, 0) + 1


def _fire(env: Any, name: str, started: float, error: Exception | None = None) -> None:
    env.events.request.fire(
        request_type="FLOW",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=error,
        context={},
    )


class AppUser(FastHttpUser):
    """One person using the app: uploads and watches, lists, downloads."""

    wait_time = between(*CONFIG.get("wait_s", [0.5, 1.5]))
    network_timeout = float(CONFIG.get("timeout_s", 30))
    connection_timeout = 5.0

    def on_start(self) -> None:
        tokens = CONFIG["tokens"]
        self.rng = random.Random()
        self.token_index = self.rng.randrange(len(tokens))
        token, scheme = tokens[self.token_index], APP.get("auth_scheme", "Bearer")
        self.auth = {APP.get("auth_header", "Authorization"): f"{scheme} {token}" if scheme else token}
        self.completed: list[str] = []

    @task(MIX.get("upload", 0))
    def upload(self) -> None:
        size = shapes.upload_size(self.rng, CONFIG.get("sizes", {}))
        payload = shapes.csv_payload(size, self.rng.randrange(1 << 30))
        boundary = f"harness{self.rng.randrange(1 << 60):x}"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="load.csv"\r\n'
                f"Content-Type: text/csv\r\n\r\n"
            ).encode()
            + payload
            + f"\r\n--{boundary}--\r\n".encode()
        )
        started = time.perf_counter()
        headers = {**self.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        with self.client.post(
            ROUTES["uploads"], data=body, headers=headers, name="upload", catch_response=True
        ) as response:
            _count(response)
            if response.status_code != 201:
                SUMMARY["rejected"] += 1
                response.failure(f"upload: HTTP {response.status_code}")
                return
            upload_id = response.json()["id"]
            SUMMARY["accepted"].append([upload_id, self.token_index])
        self._follow(upload_id, started)

    def _follow(self, upload_id: str, upload_started: float) -> None:
        opened = time.perf_counter()
        first = True
        outcome: str | None = None
        try:
            response = self.client.request(
                "GET",
                ROUTES["events"].format(id=upload_id),
                stream=True,
                headers={**self.auth, "Accept": "text/event-stream"},
                name="sse-stream",
            )
            _count(response)
            raw = getattr(response, "_response", None)
            if response.status_code != 200 or raw is None:
                raise RuntimeError(f"events: HTTP {response.status_code}")
            while chunk := raw.readline(b"\n"):  # to the end of the stream: frees the connection
                line = chunk.decode("utf-8", "replace").strip()
                if time.perf_counter() - opened > SSE_TIMEOUT_S:
                    raise TimeoutError(f"no end of stream within {SSE_TIMEOUT_S} s")
                if line.startswith("event:") and outcome is None:
                    event = line[6:].strip()
                    if first:
                        _fire(self.environment, "sse-first-event", opened)
                        first = False
                    if event in ("completed", "failed"):
                        outcome = event
        except Exception as exc:  # recorded as a failed flow, the user carries on
            _fire(self.environment, "upload-to-completed", upload_started, exc)
            return
        if outcome == "completed":
            SUMMARY["completed"] += 1
            self.completed.append(upload_id)
            _fire(self.environment, "upload-to-completed", upload_started)
        else:
            SUMMARY["failed"] += 1
            _fire(
                self.environment,
                "upload-to-completed",
                upload_started,
                RuntimeError(f"stream ended with {outcome or 'no final event'}"),
            )

    @task(MIX.get("list", 0))
    def list_uploads(self) -> None:
        route = ROUTES["uploads"]
        with self.client.get(route, headers=self.auth, name="list", catch_response=True) as response:
            _count(response)

    @task(sum(MIX.get(name, 0) for name in REQUESTS))
    def request(self) -> None:
        """One of the scenario's own requests, by its weight in the mix."""
        names = [name for name in REQUESTS if MIX.get(name, 0) > 0]
        name = self.rng.choices(names, weights=[MIX[n] for n in names])[0]
        spec = REQUESTS[name]
        with self.client.request(spec["method"], spec["path"], json=spec.get("json"), headers=self.auth,
                                 name=name, catch_response=True) as response:
            _count(response)
            if response.status_code != int(spec.get("status", 200)):
                response.failure(f"{name}: HTTP {response.status_code}")

    @task(MIX.get("download", 0))
    def download(self) -> None:
        if not self.completed:
            return
        upload_id = self.rng.choice(self.completed)
        with self.client.get(
            ROUTES["download"].format(id=upload_id), headers=self.auth, name="download", catch_response=True
        ) as response:
            _count(response)


class ConfiguredShape(LoadTestShape):
    """The scenario's stages; returning None ends the run."""

    def tick(self) -> tuple[int, float] | None:
        stage = shapes.stage_at(STAGES, self.get_run_time())  # type: ignore[no-untyped-call]
        return None if stage is None else (stage.users, stage.spawn_rate)


def _save(name: str, body: dict[str, Any]) -> None:
    path = CONFIG.get("summary_dir")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        (Path(path) / f"{name}.json").write_text(json.dumps(body))


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Any, **_: Any) -> None:
    """On the master: a worker's summary arrives as a message (a worker may run in a pod, with no
    way to our files); its figures come with each stats report (Locust's ``worker_report``)."""
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(
            "harness-summary", lambda msg, **_: _save(f"summary-{msg.node_id}", msg.data)
        )
        environment.events.worker_report.add_listener(
            lambda client_id, data, **_: _count_worker(environment.runner, client_id, data)
        )
        # after the master's own quitting listener, which waits for the workers' final reports
        environment.events.quitting.add_listener(lambda **_: _save("workers", WORKERS))


def _count_worker(runner: Any, client_id: str, data: dict[str, Any]) -> None:
    """Per worker, the HTTP requests its stats reports carried (each report is the delta since the
    last; the synthetic FLOW timings left out, as in the stage's ``http`` figure), and
    the CPU percent its heartbeats report (a worker in a pod is not in our process table; a worker
    measures it every 10 s, Locust's ``CPU_MONITOR_INTERVAL``, the first time as 0: 0 in a run
    shorter than 20 s)."""
    http = [e for e in data.get("stats") or [] if e.get("method") != "FLOW"]  # as the stage's "http"
    seen = WORKERS.setdefault(client_id, {"requests": 0, "failures": 0, "peak_users": 0, "peak_cpu_pct": 0})
    seen["requests"] += sum(int(e.get("num_requests", 0)) for e in http)
    seen["failures"] += sum(int(e.get("num_failures", 0)) for e in http)
    seen["peak_users"] = max(seen["peak_users"], int(data.get("user_count", 0)))
    try:
        cpu = runner.clients[client_id].cpu_usage
    except KeyError:  # the worker's last report, after it left
        cpu = 0
    seen["peak_cpu_pct"] = max(seen["peak_cpu_pct"], round(cpu))


WORKERS: dict[str, dict[str, int]] = {}


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _write_summary(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message("harness-summary", SUMMARY)  # before "client_stopped": the master has it
    elif not isinstance(runner, MasterRunner):
        _save(f"summary-{os.getpid()}", SUMMARY)
