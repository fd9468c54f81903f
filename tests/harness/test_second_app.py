"""The harness is generic (issue 18): a second, tiny app (``tests/fixtures/notes_app``: other routes,
another auth header, no database, no SSE) passes the functional and load stages with only its own
``scenarios/`` and an ``existing``-target environment file, through the real ``harness`` command; the
DAST stage authenticates to it with its own ``X-Api-Key`` header.

Real processes and real HTTP on 127.0.0.1; the app runs in its own process group, killed after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app_profile import load_app_profile

APP = Path(__file__).resolve().parents[1] / "fixtures" / "notes_app"
KEYS = {"alice": "key-alice-0123456789", "bob": "key-bob-9876543210"}


def start_notes(flaw: str = "") -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "NOTES_FLAW": flaw}
    proc = subprocess.Popen([sys.executable, str(APP / "notes.py"), *(f"{n}={k}" for n, k in KEYS.items())],
                            stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "port N" once it listens (or "" if it died)
    if not line.startswith("port "):
        stop(proc)
        pytest.fail(f"the notes app did not start: {line!r}")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with only the notes app's scenarios and an ``existing`` environment file."""
    (tmp_path / "harness.toml").write_text(
        f'stages = ["functional", "load"]\n[paths]\nscenarios = "{APP / "scenarios"}"\n'
        '[functional]\nconcurrency = 2\n[dast]\nseed = 7\nmax_examples = 5\n')
    return tmp_path


def verify(project: Path, api_url: str, stages: str) -> tuple[int, dict[str, str], str]:
    env_file = project / "up.json"
    env_file.write_text(json.dumps({"api_url": api_url, "users": [{"name": n, "token": k}
                                                                   for n, k in KEYS.items()]}))
    harness = Path(sys.executable).with_name("harness")
    done = subprocess.run([str(harness), "verify", "--root", str(project), "--plain", "--target",
                           f"existing:{env_file}", "--stages", stages],
                          capture_output=True, text=True, timeout=300, cwd=project)
    record = json.loads(next((project / "reports").glob("*/results.json")).read_text())
    return done.returncode, {r["id"]: r["status"] for r in record["results"]}, done.stdout + done.stderr


@pytest.fixture
def notes() -> Iterator[str]:
    proc, url = start_notes()
    yield url
    stop(proc)


@pytest.fixture
def leaky() -> Iterator[str]:
    """The notes app with the planted leak: anyone reads any note."""
    proc, url = start_notes(flaw="leak")
    yield url
    stop(proc)


def test_the_notes_app_profile_is_its_own() -> None:
    app = load_app_profile(APP / "scenarios")
    assert app.auth("k") == {"X-Api-Key": "k"} and not app.routes and not app.tables


@pytest.mark.slow
def test_a_second_app_passes_functional_and_load_with_its_own_scenarios(project: Path, notes: str) -> None:
    code, statuses, output = verify(project, notes, "functional,load")
    assert code == 0, output[-3000:]
    assert statuses["SCN-notes-roundtrip"] == statuses["SCN-notes-isolation"] == "passed", statuses
    assert statuses["SLO-notes-create-p95"] == statuses["SLO-notes-error-ratio"] == "passed", statuses


def test_the_second_apps_scenarios_catch_a_leak(project: Path, leaky: str) -> None:
    """The same scenarios fail the run when the app shows one user's note to another."""
    code, statuses, output = verify(project, leaky, "functional")
    assert code == 1, output[-3000:]
    assert statuses["SCN-notes-isolation"] == "failed" and statuses["SCN-notes-roundtrip"] == "passed"


@pytest.mark.slow
def test_dast_authenticates_with_the_apps_own_header_and_catches_the_leak(project: Path, leaky: str) -> None:
    """Observation independent of the harness: the notes app answers 401 to anything but its
    ``X-Api-Key`` header, so the two-user access checks can only see the planted leak (bob reads
    alice's note: Schemathesis' and the harness' own BOLA check) when every tool sends that header.
    Tokens stay out of the report."""
    code, statuses, output = verify(project, leaky, "dast")
    assert code == 1, output[-3000:]
    assert statuses["DAST-API1-bola-read"] == statuses["ST-object_level_authorization"] == "failed", statuses
    assert statuses["DAST-API2-malformed-token"] == "passed", statuses  # a GET its user got 2xx, tampered
    findings = json.loads(next(project.glob("reports/*/evidence/dast/findings/DAST-API1-bola-read.json"))
                          .read_text())
    assert "X-Api-Key: <token of bob>" in findings[0]["request"], findings[0]
    for path in (project / "reports").rglob("*"):
        if path.is_file():
            assert not any(k in path.read_text(errors="replace") for k in KEYS.values()), path
