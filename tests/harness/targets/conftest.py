"""Fixtures for the target tests: a fake app package and leftover checks (processes, ports, dirs)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.targets import TargetSettings
from harness.targets.local import LocalTarget

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).parent
# Buckets and a secret without lifecycle rules: terraform/envs/local's lifecycle configurations cost
# ~55 s per apply (the AWS provider's consistency wait); the process-management tests need none.
SMALL_ENV = ROOT / "tests" / "fixtures" / "terraform" / "envs" / "small"


def small_settings(run_dir: Path, **overrides: Any) -> TargetSettings:
    """Settings for a local target that applies the small Terraform env."""
    return TargetSettings.for_root(ROOT, run_dir=run_dir, terraform_dir=SMALL_ENV, **overrides)


@pytest.fixture(scope="session")
def fake_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a stand-in ``easy_upload`` package (see fake_app.py)."""
    base = tmp_path_factory.mktemp("fake-app")
    package = base / "easy_upload"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copy(HERE / "fake_app.py", package / "__main__.py")
    return base


@pytest.fixture
def local_settings(tmp_path: Path, fake_app: Path) -> TargetSettings:
    return small_settings(tmp_path / "run", app_path=fake_app, ready_timeout_s=30)


@dataclass
class Footprint:
    """What a running target holds: processes, listening ports, temp dirs."""

    pids: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    dirs: set[Path] = field(default_factory=set)

    @classmethod
    def of(cls, target: LocalTarget, preexisting: set[int] | None = None,
           preexisting_ports: set[int] | None = None) -> Footprint:
        """The target's footprint; ``preexisting`` children and ports (e.g. other fixtures'
        servers, taken before ``up()``) and whatever those children spawned since are not the
        target's."""
        me = psutil.Process()
        others: set[int] = set()
        for pid in preexisting or set():
            try:
                others |= {pid} | {c.pid for c in psutil.Process(pid).children(recursive=True)}
            except psutil.NoSuchProcess:
                continue
        pids = {p.pid for p in me.children(recursive=True)} - others
        ports = {port for port, pid in listening() if pid in pids | {me.pid}} - (preexisting_ports or set())
        dirs = {Path(target._tmp)} if target._tmp else set()
        return cls(pids, ports, dirs)

    def leftovers(self) -> dict[str, Sequence[object]]:
        """Whatever of this footprint still exists (empty lists = clean)."""
        alive = [pid for pid in self.pids if _alive(pid)]
        open_ports = sorted(port for port, _ in listening() if port in self.ports)
        dirs = [d for d in self.dirs if d.exists()]
        return {"processes": alive, "ports": open_ports, "dirs": dirs}


def current_children() -> set[int]:
    """Pids of this process' descendants right now."""
    return {p.pid for p in psutil.Process().children(recursive=True)}


def listening() -> list[tuple[int, int | None]]:
    """(port, pid) of every listening TCP socket on this machine."""
    found = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and isinstance(conn.laddr, tuple) and conn.laddr:
            found.append((conn.laddr[1], conn.pid))
    return found


def listening_addresses(pids: set[int]) -> set[str]:
    """The IPs that processes ``pids`` listen on."""
    return {
        str(conn.laddr[0]) for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids and conn.laddr
    }


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


CLEAN: dict[str, Sequence[object]] = {"processes": [], "ports": [], "dirs": []}
MARKER_VAR = "HARNESS_LEAK_MARKER"


@pytest.fixture
def marker(monkeypatch: pytest.MonkeyPatch) -> str:
    """A unique value every process started by this test inherits (to find leftovers anywhere)."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_VAR, value)
    return value


def marked_processes(value: str) -> list[int]:
    """Live processes (any parent, any user) whose environment carries ``value``."""
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and proc.environ().get(MARKER_VAR) == value:
                found.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A TMPDIR for a child, so that any temp dir it leaves shows (outside pytest's 0700 tree:
    PostgreSQL runs as an unprivileged user when we are root and must reach its data dir)."""
    path = Path(tempfile.mkdtemp(prefix="hold-tmp-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def temp_dirs_left(private_tmp: Path) -> list[str]:
    """Directories a child left in its private TMPDIR (caches that are files do not count)."""
    return sorted(p.name for p in private_tmp.iterdir() if p.is_dir())


def run_leftovers(value: str, run_id: str, ports: set[int] | None = None) -> dict[str, Sequence[object]]:
    """Processes carrying the marker, their (and the given) listening ports, the run's temp dirs."""
    pids = set(marked_processes(value))
    open_ports = sorted(port for port, pid in listening() if pid in pids or port in (ports or set()))
    dirs = sorted(Path(tempfile.gettempdir()).glob(f"harness-local-{run_id}-*"))
    return {"processes": sorted(pids), "ports": open_ports, "dirs": dirs}
