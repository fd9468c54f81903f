"""The service launchers against the real servers: start, serve, outage, recovery, no leftovers."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import psutil
import psycopg
import pytest
import redis
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from harness.errors import TargetError
from harness.services import (
    ManagedProcess,
    MotoService,
    PostgresService,
    RedisService,
    TcpProxy,
    free_port,
    port_is_open,
    wait_until,
)
from harness.services.process import DEATH_SIGNAL_SUPPORTED, signal_group, stop_group
from tests.fixtures.processes import spawned

pytestmark = pytest.mark.services


def _listening_addresses(pid: int) -> set[str]:
    addrs: set[str] = set()
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue  # a short-lived backend came and went
        addrs.update(c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN)
    return addrs


def test_postgres_serves_the_app_role_and_binds_loopback_only(postgres_service: PostgresService) -> None:
    with psycopg.connect(postgres_service.url) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row == ("app", "app")  # the default; the local target names it from the app profile
    assert postgres_service.process.pid is not None
    assert _listening_addresses(postgres_service.process.pid) == {"127.0.0.1"}


def test_postgres_refuses_a_wrong_password(postgres_service: PostgresService) -> None:
    url = postgres_service.url.replace(postgres_service.app_password, "wrong")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)


def test_redis_requires_its_password_and_keeps_data_across_a_restart(tmp_path: Path) -> None:
    service = RedisService(tmp_path).start()
    try:
        client = redis.Redis.from_url(service.url)
        client.rpush("jobs", "a", "b")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=service.port).ping()
        service.restart()
        assert client.lrange("jobs", 0, -1) == [b"a", b"b"]
        client.close()
        assert service.process.pid is not None
        assert _listening_addresses(service.process.pid) == {"127.0.0.1"}
    finally:
        service.cleanup()
    assert not port_is_open(service.port)


def test_s3_outage_refuses_connections_and_recovery_keeps_objects(moto_service: MotoService) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_service.endpoint_url,
        region_name=moto_service.region,
        aws_access_key_id=moto_service.access_key_id,
        aws_secret_access_key=moto_service.secret_access_key,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    s3.create_bucket(Bucket="outage-drill")
    s3.put_object(Bucket="outage-drill", Key="k", Body=b"kept")
    moto_service.stop()
    try:
        with pytest.raises(EndpointConnectionError):
            s3.get_object(Bucket="outage-drill", Key="k")
    finally:
        moto_service.start()
    assert s3.get_object(Bucket="outage-drill", Key="k")["Body"].read() == b"kept"


def test_proxy_disable_drops_open_connections(tmp_path: Path) -> None:
    upstream = socket.socket()
    upstream.bind(("127.0.0.1", 0))
    upstream.listen(1)
    proxy = TcpProxy(upstream.getsockname(), port=free_port())
    proxy.enable()
    try:
        client = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        server, _ = upstream.accept()
        client.sendall(b"ping")
        assert server.recv(4) == b"ping"
        proxy.disable()
        assert client.recv(4) == b""  # the proxy closed our side
        assert not port_is_open(proxy.port)
        client.close()
        server.close()
    finally:
        proxy.disable()
        upstream.close()


def test_managed_process_that_dies_early_reports_its_log(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "doomed",
        ["sh", "-c", "echo 'bad config line 3' >&2; exit 3"],
        log_path=tmp_path / "doomed.log",
        ready=lambda: False,
    )
    expected = r"(?s)doomed: the process exited before it became ready.*bad config line 3"
    with pytest.raises(TargetError, match=expected):
        proc.start(timeout=10)
    assert not proc.is_running()


def test_stop_reaches_the_whole_process_group(tmp_path: Path) -> None:
    proc = ManagedProcess(
        "tree", ["sh", "-c", "sleep 300 & sleep 300 & wait"], log_path=tmp_path / "tree.log"
    ).start()
    assert proc.pid is not None
    leader = psutil.Process(proc.pid)
    wait_until(lambda: len(leader.children(recursive=True)) == 2, timeout=10, what="both sleeps")
    children = leader.children(recursive=True)
    proc.stop(timeout=5)
    gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert len(gone) == 2


def test_stop_group_sigkills_the_whole_group_after_the_grace() -> None:
    """Observed with psutil, not through stop_group: the leader and its background child ignore
    SIGTERM (inherited SIG_IGN), so only the SIGKILL to the group after the grace ends both."""
    import subprocess

    proc = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 300 & echo $!; sleep 300"],
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        child = psutil.Process(int(proc.stdout.readline()))
        stop_group(proc, grace_s=0.5)
        assert proc.returncode == -9  # SIGKILL: the trapped SIGTERM did not end it
        assert psutil.wait_procs([child], timeout=5)[1] == []  # nothing alive
    finally:
        signal_group(proc.pid, 9)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_postgres_cleanup_leaves_no_process_or_port(tmp_path: Path) -> None:
    service = PostgresService(tmp_path / "pg").start()
    pid = service.process.pid
    service.cleanup()
    assert not port_is_open(service.port)
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_sigterm_to_a_process_holding_services_leaves_nothing(tmp_path: Path) -> None:
    """A plain script (no engine, no handlers of its own) that is SIGTERMed still stops its children."""
    import subprocess
    import sys
    import time

    script = tmp_path / "holder.py"
    script.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.services import RedisService\n"
        f"s = RedisService(Path({str(tmp_path)!r}) / 'r').start()\n"
        "print(s.process.pid, s.port, flush=True)\n"
        "time.sleep(60)\n"
    )
    with spawned([sys.executable, str(script)], stdout=subprocess.PIPE) as holder:
        assert holder.stdout is not None
        pid_text, port_text = holder.stdout.readline().split()
        holder.terminate()
        holder.wait(timeout=20)
    redis_pid, port = int(pid_text), int(port_text)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and psutil.pid_exists(redis_pid):
        if psutil.Process(redis_pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(redis_pid) or psutil.Process(redis_pid).status() == psutil.STATUS_ZOMBIE
    assert not port_is_open(port)


OWNER = """\
import sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from harness.services.process import ManagedProcess

def start():
    return ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
                          log_path=Path(sys.argv[1])).start()

# Started from a pool thread that then ends, as the local target starts its services: the child
# must outlive that thread and die only with this process.
with ThreadPoolExecutor(max_workers=1) as pool:
    proc = pool.submit(start).result()
time.sleep(0.5)
print(proc.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not DEATH_SIGNAL_SUPPORTED, reason="PR_SET_PDEATHSIG is Linux only")
def test_a_child_dies_with_its_owner_even_when_the_owner_is_sigkilled(tmp_path: Path) -> None:
    """The old behaviour: SIGTERM to a ``pytest -n 2`` run left its workers' services running."""
    import subprocess
    import sys

    argv = [sys.executable, "-c", OWNER, str(tmp_path / "sleeper.log")]
    with spawned(argv, stdout=subprocess.PIPE) as owner:
        assert owner.stdout is not None
        child = psutil.Process(int(owner.stdout.readline()))
        assert child.is_running() and child.ppid() == owner.pid  # alive after its starting thread ended
        owner.kill()  # no atexit, no handlers: only the kernel can stop the child now
        owner.wait(timeout=10)
        try:
            child.wait(timeout=10)
        except psutil.TimeoutExpired:
            child.kill()
            pytest.fail("the child outlived its SIGKILLed owner")
