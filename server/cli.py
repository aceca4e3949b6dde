"""The ``haven`` command: ``serve``, ``migrate``, ``user create`` and ``purge-chat``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import uvloop
from aiohttp import web
from pydantic import ValidationError

from server import workers
from server.accounts import create_user, user_view
from server.app import create_app
from server.chat_retention import purge_bodies
from server.config import LISTEN_BACKLOG, ConfigError, Settings, load_settings
from server.db.engine import create_engine, session_factory
from server.db.models import UserRole
from server.errors import ApiError
from server.logs import configure_logging
from server.migrate import upgrade
from server.wire import UserCreate

log = logging.getLogger("haven.cli")
# Open connections are drained by the signaling layer first; this bounds what aiohttp waits for after that.
SHUTDOWN_SECONDS = 5.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haven", description="Haven meeting server for peer-support programs.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default HAVEN_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default HAVEN_PORT or 8080)")
    serve.add_argument(
        "--workers", type=int, help="server processes on the one port (default HAVEN_WORKERS or 1; above 1 needs Redis)"
    )
    # How a parent started with --workers starts each of its workers (server/workers.py); not for people.
    serve.add_argument("--worker", type=workers.parse_pipes, help=argparse.SUPPRESS)

    commands.add_parser("migrate", help="upgrade the database schema to the newest revision")

    purge = commands.add_parser("purge-chat", help="erase chat message bodies past the retention period")
    purge.add_argument(
        "--older-than-days",
        type=int,
        help="retention in days (default HAVEN_CHAT_RETENTION_DAYS or 30); 0 erases every body",
    )

    user = commands.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user (the first admin comes from here)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True, help="display name; need not be a legal name")
    create.add_argument("--role", required=True, choices=[role.value for role in UserRole])
    create.add_argument("--password", required=True)
    return parser


async def _migrate(settings: Settings) -> None:
    # Schema upgrades and purges may run long: no statement limit for the command line.
    engine = create_engine(settings.database_url, statement_timeout=None)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _purge_chat(settings: Settings, days: int | None) -> int:
    days = settings.chat_retention_days if days is None else days
    if days < 0:
        print("haven: --older-than-days must be 0 or more", file=sys.stderr)
        return 2
    # Schema upgrades and purges may run long: no statement limit for the command line.
    engine = create_engine(settings.database_url, statement_timeout=None)
    try:
        await upgrade(engine)
        now = datetime.now(UTC)
        erased = await purge_bodies(session_factory(engine), now - timedelta(days=days), now)
    finally:
        await engine.dispose()
    print(json.dumps({"erased": erased, "older_than_days": days}))
    return 0


async def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    try:
        body = UserCreate.model_validate(
            {"email": args.email, "display_name": args.name, "role": UserRole(args.role), "password": args.password}
        )
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        print(f"haven: invalid {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 2
    # Schema upgrades and purges may run long: no statement limit for the command line.
    engine = create_engine(settings.database_url, statement_timeout=None)
    try:
        await upgrade(engine)
        async with session_factory(engine).begin() as session:
            user = await create_user(session, body, actor_id=None, source="cli")
    except ApiError as exc:
        print(f"haven: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(json.dumps(user_view(user)))
    return 0


def _serve(settings: Settings, env: dict[str, str], worker: tuple[int, int] | None) -> int:
    place = {"host": settings.host, "port": settings.port, "mode": settings.mode.value}
    # A server process (single, or a worker) runs on uvloop; the supervisor of workers stays on asyncio's loop, whose
    # subprocesses can be started in a process group of their own (uvloop's cannot).
    serves = worker is not None or settings.workers <= 1
    if serves and settings.event_loop == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    if worker is not None:
        log.info("starting", extra={**place, "node_id": settings.node_id})
        return workers.serve_worker(create_app(settings), settings, worker, SHUTDOWN_SECONDS)
    if settings.workers > 1:
        problem = workers.refusal(settings)
        if problem is not None:
            print(f"haven: configuration error: {problem}", file=sys.stderr)
            return 2
        log.info("starting", extra={**place, "workers": settings.workers})
        return asyncio.run(workers.Supervisor(settings, env).run())
    log.info("starting", extra={**place, "node_id": settings.node_id})
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=SHUTDOWN_SECONDS,
        backlog=LISTEN_BACKLOG,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ)
    # The flags mean what the variables mean, so that defaults derived from them (the allowed origins) follow.
    if getattr(args, "host", None):
        env["HAVEN_HOST"] = args.host
    if getattr(args, "port", None) is not None:
        env["HAVEN_PORT"] = str(args.port)
    if getattr(args, "workers", None) is not None:
        env["HAVEN_WORKERS"] = str(args.workers)
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        print(f"haven: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)

    if args.command == "serve":
        return _serve(settings, env, args.worker)
    if args.command == "purge-chat":
        return asyncio.run(_purge_chat(settings, args.older_than_days))
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        print("haven: database is at the newest schema revision")
        return 0
    return asyncio.run(_create_user(settings, args))


if __name__ == "__main__":
    sys.exit(main())
