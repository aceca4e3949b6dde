"""The async engine for either backend, with the per-connection settings each needs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite leaves foreign keys off unless every connection asks; WAL lets readers and the writer overlap.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(
    database_url: str,
    *,
    connect_timeout: float = 5.0,
    statement_timeout: float | None = 10.0,
    pool_timeout: float = 5.0,
) -> AsyncEngine:
    """Create the engine; an SQLite file's folder is created if missing.

    ``hide_parameters`` keeps bound values (emails, names, password hashes, message text) out of the text of
    database errors, which end up in logs.

    On PostgreSQL a database that stops answering gives errors within seconds rather than holding requests:
    connecting gives up after ``connect_timeout`` (default 5 s), a statement after ``statement_timeout`` (default
    10 s; None for none, as long migrations need), and waiting for a free pooled connection after ``pool_timeout``
    (default 5 s). The statement limit is the server's own (it cancels the query); the client's, a little longer,
    covers a server that does not answer at all.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if statement_timeout is not None:
        connect_args["command_timeout"] = statement_timeout + 2.0
        connect_args["server_settings"] = {"statement_timeout": str(round(statement_timeout * 1000))}
    engine = create_async_engine(
        url,
        hide_parameters=True,
        # Kept open: overflow connections are closed as soon as they come back, so a pool smaller than the work a
        # node admits (HAVEN_MAX_IN_FLIGHT) would connect again and again under load.
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        # Not a ping at every checkout (three round trips with asyncpg): only a connection that sat idle is checked
        # (``_check_when_idle``); one in steady use proves itself by being used.
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _check_when_idle)
    return engine


# Connections kept open per node, and how many more it may open for a while.
POOL_SIZE = 20
POOL_OVERFLOW = 20
# A pooled connection idle for longer than this is pinged before use; a dead one is replaced, not handed out. Under
# load connections come back within milliseconds and are not pinged; a connection last used less than this before
# a database restart fails its first statement (answered as unavailable), and the pool is renewed.
IDLE_PING_SECONDS = 0.25


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_when_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The server went away (a restart): every connection opened before now is as dead as this one. They are all
        # marked for replacement at their next checkout, as SQLAlchemy does when a statement finds a disconnect
        # (the pool only retries a checkout twice, and a pool of 20 dead connections would outlast that).
        pool = getattr(proxy, "_pool", None)
        if pool is not None:
            pool._invalidate(proxy, exc, _checkin=False)
        raise sa_exc.DisconnectionError("a pooled connection did not answer") from exc


# SQLSTATE classes of a database that cannot serve now, rather than of a bad query: 08 connection exception,
# 53 insufficient resources (too many connections), 57 operator intervention (statement timeout, shutdown).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or did not answer in time, not that a query was
    wrong. asyncpg's own connect and command timeouts, and refused connections, come through unwrapped."""
    if isinstance(exc, (sa_exc.TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return exc.connection_invalidated or (
            isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
        )
    return isinstance(exc, (TimeoutError, ConnectionError))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit(db: async_sessionmaker[Any]) -> AsyncEngine:
    """The engine of ``db`` (the same pool) for reads that need no transaction of their own: each statement
    commits by itself, so a lookup is one round trip instead of BEGIN, the query and a ROLLBACK."""
    bind = db.kw["bind"]
    assert isinstance(bind, AsyncEngine)
    return bind.execution_options(isolation_level="AUTOCOMMIT")


def read_sessions(db: async_sessionmaker[Any]) -> async_sessionmaker[Any]:
    """ORM sessions on ``autocommit(db)``, for reads that load mapped objects."""
    return async_sessionmaker(autocommit(db), expire_on_commit=False)
