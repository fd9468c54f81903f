"""``python -m easy_upload {api,worker,migrate,create-user}``: the process contract the harness uses."""

from __future__ import annotations

import argparse
import asyncio
import sys

from easy_upload import logs
from easy_upload.errors import AppError
from easy_upload.memory import pin_mmap_threshold
from easy_upload.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="easy_upload", description="Easy Upload reference app")
    sub = parser.add_subparsers(dest="command", required=True)
    api = sub.add_parser("api", help="serve the API and the page (uvicorn)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    sub.add_parser("worker", help="process queued uploads")
    sub.add_parser("migrate", help="apply database migrations (idempotent)")
    user = sub.add_parser("create-user", help="create a user (or add a token); prints only the token")
    user.add_argument("name")
    return parser


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from easy_upload.server import HeaderDeadlineProtocol

    logs.configure("api", settings.app_version, settings.log_level)
    uvicorn.run(
        "easy_upload.asgi:app",
        host=host,
        port=port,
        workers=workers,
        http=HeaderDeadlineProtocol,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        h11_max_incomplete_event_size=16 * 1024,
        timeout_graceful_shutdown=10,
    )


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    pin_mmap_threshold()
    if args.command == "api":
        _serve(settings, args.host, args.port, args.workers)
    elif args.command == "worker":
        from easy_upload.worker import run_worker

        logs.configure("worker", settings.app_version, settings.log_level)
        asyncio.run(run_worker(settings))
    elif args.command == "migrate":
        from easy_upload.migrate import migrate

        logs.configure("migrate", settings.app_version, settings.log_level)
        applied = migrate(settings.database_url)
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or '-'}", file=sys.stderr)
    else:
        from easy_upload.auth import create_user

        print(create_user(settings.database_url, args.name))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except AppError as exc:
        print(f"easy_upload: {exc}", file=sys.stderr)
        return 2


__all__ = ["main"]
