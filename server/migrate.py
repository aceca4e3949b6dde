"""Schema migrations through Alembic, run on the application's own async engine."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextlib.asynccontextmanager
async def _migrating(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in one transaction to migrate in.

    SQLite changes a table's constraints only by copying the table and dropping the old one, and while foreign keys
    are on, dropping a table first deletes its rows, cascading to every table that refers to it (a group's
    memberships, sessions, chat). So, as SQLite's own procedure for such changes says, foreign keys are turned off
    outside the transaction, checked before it commits, and turned on again after.
    """
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await _set_foreign_keys(connection, on=False)
        try:
            async with connection.begin():
                yield connection
                if sqlite and (broken := (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()):
                    raise RuntimeError(f"the migration broke {len(broken)} foreign key(s), first in {broken[0][0]!r}")
        finally:
            if sqlite:
                await _set_foreign_keys(connection, on=True)


async def _set_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    # The pragma is silently ignored inside a transaction: read it back rather than trust it.
    await connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    now = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    await connection.commit()
    if now != int(on):
        raise RuntimeError(f"SQLite did not turn foreign keys {'on' if on else 'off'} for the migration")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest)."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with _migrating(engine) as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    async with _migrating(engine) as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
