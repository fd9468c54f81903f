"""Measure what hostile files cost the worker: peak RSS per case, final state, reason, settle time.

    python -m tests.reference_app.measure_hostile [--cases webp,png,...] [--planted VARIANTS]
                                                 [--env NAME=VALUE ...]

Starts real PostgreSQL, Redis and moto, the API, and one fresh worker per case (so the kernel's
high-water mark, VmHWM in /proc/<pid>/status, is that case's peak); prints one line per case.
``--planted`` runs the app with fixes reverted (tests/fixtures/planted/app, see its README).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.services import MotoService, PostgresService, RedisService
from tests.reference_app import hostile
from tests.reference_app.app import AppProcesses, Client, app_env, planted_env

MIB = 1024 * 1024


def _progressive(side: int) -> bytes:
    return hostile.jpeg_bomb(side, side, progressive=True)


CASES: dict[str, Callable[[], tuple[str, str, bytes]]] = {
    "webp-64Mpx": lambda: ("bomb.webp", "image/webp", hostile.webp_bomb(8000, 8000)),
    "png-64Mpx": lambda: ("bomb.png", "image/png", hostile.png_bomb(8000, 8000)),
    "gif-64Mpx": lambda: ("bomb.gif", "image/gif", hostile.gif_bomb(8000, 8000)),
    "jpeg-cmyk-36Mpx": lambda: ("bomb.jpg", "image/jpeg", hostile.jpeg_bomb(6000, 6000)),
    "jpeg-progressive-36Mpx": lambda: ("p.jpg", "image/jpeg", _progressive(6000)),
    # just under the default budget (192 MiB): processed, and the peak must stay under it
    "webp-fits": lambda: ("fits.webp", "image/webp", hostile.webp_bomb(2900, 2900)),
    "png-fits": lambda: ("fits.png", "image/png", hostile.png_bomb(6000, 6000)),
    "gif-fits": lambda: ("fits.gif", "image/gif", hostile.gif_bomb(12000, 12000)),
    "jpeg-progressive-fits": lambda: ("f.jpg", "image/jpeg", _progressive(3500)),
    "json-arrays-fits": lambda: ("fits.json", "application/json", hostile.many_arrays_json(1_800_000)),
    "pdf-40k-pages": lambda: ("pages.pdf", "application/pdf", hostile.many_pages_pdf(40_000)),
    "pdf-20k-pages": lambda: ("fits.pdf", "application/pdf", hostile.many_pages_pdf(20_000)),
    "json-deep": lambda: ("deep.json", "application/json", hostile.deep_json()),
    "json-5000-digits": lambda: ("big.json", "application/json", hostile.big_int_json()),
    "text-bad-utf8": lambda: ("bad.txt", "text/plain", hostile.bad_utf8_text()),
}


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@contextmanager
def services(workdir: Path) -> Iterator[tuple[PostgresService, RedisService, MotoService]]:
    pg = PostgresService(workdir / "pg").start()
    redis = RedisService(workdir / "redis").start()
    moto = MotoService(workdir / "moto").start()
    try:
        yield pg, redis, moto
    finally:
        for service in (moto, redis, pg):
            service.cleanup()


def measure(app: AppProcesses, client: Client, name: str, timeout: float) -> str:
    filename, content_type, payload = CASES[name]()
    worker = app.start_worker()
    assert worker.pid is not None
    time.sleep(1.0)
    idle = status_kib(worker.pid, "VmRSS")
    started = time.monotonic()
    created = client.upload(filename, payload, content_type)
    if created.status_code != 201:
        worker.stop()
        return f"{name:18} {len(payload):>8} B  refused {created.status_code}: {created.text[:120]}"
    upload_id = created.json()["id"]
    state, reason = "timeout", ""
    deadline = started + timeout
    while time.monotonic() < deadline and worker.is_running():
        row = client.http.get(f"/api/uploads/{upload_id}").json()
        if row["state"] in ("completed", "failed"):
            state, reason = row["state"], row.get("failure_reason") or ""
            break
        time.sleep(0.2)
    settle = time.monotonic() - started
    peak = status_kib(worker.pid, "VmHWM") if worker.is_running() else -1
    worker.stop()
    growth = f"{(peak - idle) / 1024:7.0f} MiB" if peak >= 0 else "  killed"
    return (f"{name:18} {len(payload):>8} B  worker peak RSS growth {growth}  {state:9} "
            f"settled {settle:6.1f} s  {reason[:140]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--planted", default="")
    parser.add_argument("--env", action="append", default=[], help="extra app setting NAME=VALUE")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp, services(Path(tmp)) as (pg, redis, moto):
        env = app_env(pg.url, redis.url, moto.client_env(), "hostile")
        env.update({"MAX_UPLOAD_BYTES": str(64 * MIB), "WORKER_CONCURRENCY": "1"})
        env.update(planted_env(args.planted))
        env.update(dict(item.split("=", 1) for item in args.env))
        app = AppProcesses(env, Path(tmp))
        app.command("migrate")
        app.start_api()
        client = Client(app.base_url, app.command("create-user", "mallory").strip())
        try:
            for name in args.cases.split(","):
                print(measure(app, client, name, args.timeout), flush=True)
        finally:
            client.close()
            app.stop()


if __name__ == "__main__":
    main()
