"""Throwaway databases: a migrated PostgreSQL template cloned per test, or a fresh SQLite file."""

from __future__ import annotations

import secrets

import asyncpg
from sqlalchemy.engine import make_url

from server.db.engine import create_engine
from server.migrate import upgrade


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def create_database(server_url: str, template: str | None = None) -> str:
    """Create a database named for the tests on the server at ``server_url``; return its URL."""
    name = f"haven_test_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(_dsn(server_url))
    try:
        suffix = f" TEMPLATE {template}" if template else ""
        await connection.execute(f"CREATE DATABASE {name}{suffix}")
    finally:
        await connection.close()
    return with_database(server_url, name)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    if name is None or not name.startswith("haven_test_"):
        raise ValueError("only databases the tests made are dropped")
    connection = await asyncpg.connect(_dsn(url, "postgres"))
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await connection.close()


async def migrated_template(server_url: str) -> str:
    """A database at the newest schema revision, to clone with ``CREATE DATABASE ... TEMPLATE``."""
    url = await create_database(server_url)
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    return url


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name
