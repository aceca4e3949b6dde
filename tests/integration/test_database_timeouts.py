"""A database that stops answering gives quick, plain 503s instead of holding requests: real PostgreSQL with short
limits, a port where nothing answers, and a socket that accepts but never speaks."""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server import middleware
from server.app import create_app
from server.db.engine import POOL_OVERFLOW, POOL_SIZE, create_engine, database_unavailable
from server.logs import JsonFormatter
from server.tokens import issue_token
from tests.conftest import TEST_SECRET, make_settings
from tests.support.api import Api
from tests.support.services import free_port

UNAVAILABLE = {"error": {"code": "unavailable", "message": "The service is not answering just now. Try again soon."}}


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """The captured records as Haven writes them (JSON, with every structured field)."""
    return "\n".join(JsonFormatter().format(record) for record in caplog.records)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel completes the handshake) and never sends a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_the_engine_has_limits_by_default(postgres_server_url: str) -> None:
    engine = create_engine(postgres_server_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar() == "10s"
        assert engine.pool.timeout() == 5.0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def test_a_long_statement_is_cancelled_by_the_server(postgres_server_url: str) -> None:
    engine = create_engine(postgres_server_url, statement_timeout=0.3)
    try:
        with pytest.raises(sa_exc.DBAPIError) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(30)"))
        assert getattr(caught.value.orig, "sqlstate", None) == "57014"  # query_canceled: the statement timeout
        assert database_unavailable(caught.value)
    finally:
        await engine.dispose()


async def test_connecting_to_a_server_that_never_answers_gives_up() -> None:
    with silent_server() as port:
        engine = create_engine(f"postgresql+asyncpg://haven@127.0.0.1:{port}/haven", connect_timeout=0.3)
        try:
            with pytest.raises(TimeoutError) as caught:
                async with engine.connect():
                    pass
            assert database_unavailable(caught.value)
        finally:
            await engine.dispose()


async def test_waiting_for_a_pooled_connection_gives_up(postgres_server_url: str) -> None:
    engine = create_engine(postgres_server_url, pool_timeout=0.2)
    try:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(POOL_SIZE + POOL_OVERFLOW):
                await held.enter_async_context(engine.connect())
            with pytest.raises(sa_exc.TimeoutError) as caught:
                async with engine.connect():
                    pass
        assert database_unavailable(caught.value)
    finally:
        await engine.dispose()


def test_a_wrong_query_is_not_unavailability() -> None:
    wrong = sa_exc.ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))
    assert not database_unavailable(wrong)
    assert not database_unavailable(ValueError("not a database error"))


async def test_rest_answers_503_while_the_database_is_down(  # type: ignore[no-untyped-def]
    aiohttp_client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path, f"postgresql+asyncpg://haven@127.0.0.1:{free_port()}/haven")
    api = Api(await aiohttp_client(create_app(settings)))
    token, _ = issue_token(uuid.uuid4(), TEST_SECRET, 600, datetime.now(UTC))
    with caplog.at_level(logging.WARNING, logger="haven.http"):
        assert await api.call("GET", "/api/me", token) == (503, UNAVAILABLE)
        # A sign-in that could not be checked is not a failed one: the throttle never blocks these.
        for _ in range(12):
            status, body = await api.call(
                "POST", "/api/auth/login", json={"email": "kim@example.org", "password": "kim-password"}
            )
            assert (status, body) == (503, UNAVAILABLE)
    assert {record.getMessage() for record in caplog.records if record.name == "haven.http"} == {"database unavailable"}
    assert "kim@example.org" not in logged(caplog)


async def test_a_timed_out_statement_is_a_503_without_its_sql(  # type: ignore[no-untyped-def]
    aiohttp_client, postgres_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine: AsyncEngine = create_engine(postgres_server_url, statement_timeout=0.3)

    async def slow(request: web.Request) -> web.Response:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(30), :secret"), {"secret": "a-bound-value"})
        return web.json_response({})

    app = web.Application(middlewares=[middleware.errors])
    app.router.add_get("/slow", slow)
    client = await aiohttp_client(app)
    try:
        with caplog.at_level(logging.DEBUG, logger="haven.http"):
            response = await client.get("/slow")
            assert (response.status, await response.json()) == (503, UNAVAILABLE)
    finally:
        await engine.dispose()
    written = logged(caplog)
    assert '"event": "database unavailable"' in written
    assert '"error": "DBAPIError"' in written
    assert "pg_sleep" not in written
    assert "a-bound-value" not in written
