"""The reverse tunnel with real Locust: a master on 127.0.0.1 that no worker dials directly, two
worker processes that dial only the relay's front port, the Dialer carrying them to the master."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app_profile import load_app_profile
from harness.services.process import free_port
from harness.stages.load.runner import LOCUSTFILE, run_locust
from harness.stages.load.shapes import build_stages
from harness.targets.cluster.tunnel import Dialer, relay
from tests.harness.stages.load.fake_app import FakeApp


@pytest.fixture
def app() -> Iterator[FakeApp]:
    app = FakeApp().start()
    yield app
    app.stop()


@pytest.fixture
def relay_ports() -> Iterator[tuple[int, int]]:
    """The relay (as it runs in the pod) on 127.0.0.1, in its own thread and loop."""
    front, back = free_port(), free_port()
    loop = asyncio.new_event_loop()
    task = loop.create_task(relay(front, back, "127.0.0.1"))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield front, back

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def _workers(count: int, front: int, config: Path, log: Path) -> list[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
            "--master-port", str(front)]
    env = {**os.environ, "HARNESS_LOAD_CONFIG": str(config)}
    with open(log, "ab") as out:
        return [subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                for _ in range(count)]


def test_workers_reach_a_loopback_master_only_through_the_tunnel(
    app: FakeApp, relay_ports: tuple[int, int], tmp_path: Path
) -> None:
    front, back = relay_ports
    master = free_port()
    stages = build_stages({"type": "soak", "users": 4, "duration_s": 4})
    config = tmp_path / "worker-config.json"
    config.write_text(json.dumps({"tokens": ["t-1"], "stages": [s.to_dict() for s in stages], "mix": {},
                                  "app": load_app_profile(Path("scenarios")).to_dict(),
                                  "sizes": {}, "summary_dir": str(tmp_path / "worker-summary"),
                                  "wait_s": [0.05, 0.1]}))
    dialer = Dialer(back, master, idle=3).start()
    workers = _workers(2, front, config, tmp_path / "workers.log")
    try:
        run = run_locust("tunnel", host=app.url, tokens=["t-1"], out_dir=tmp_path / "out", remote_workers=2,
                         master_port=master, margin_s=90, stages=stages, extra={"wait_s": [0.05, 0.1]})
    finally:
        dialer.stop()
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
    log = run.files["log"].read_text()
    assert run.returncode == 0 and run.flows["http"].requests > 0, log[-2000:]
    assert dialer.spliced >= 2  # each worker's connection went through the relay
    assert "2 workers connected" in log or "worker index:1" in log or "(2 total)" in log, log[-2000:]
    # the workers' summaries came back through the tunnel to the master, which wrote them (a pod
    # could write no file of ours)
    assert len(list((tmp_path / "out" / "tunnel-summary").glob("summary-*.json"))) == 2
    assert not (tmp_path / "worker-summary").exists()


def test_the_relay_refuses_nothing_and_the_master_stays_on_loopback(tmp_path: Path) -> None:
    from harness.stages.load.runner import locust_command

    cmd = locust_command(tmp_path / "x", "http://127.0.0.1:1", 1, 5599, remote_workers=3)
    assert cmd[cmd.index("--master-bind-host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--expect-workers") + 1] == "3" and "--processes" not in cmd
