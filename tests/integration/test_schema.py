"""Migrations and the constraints the database itself enforces, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import create_engine
from server.db.models import Base
from server.migrate import current_revision, downgrade, upgrade
from tests.support import databases

NOW = datetime.now(UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with no tables at all."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        yield engine
        await engine.dispose()
        return
    url = await databases.create_database(request.getfixturevalue("postgres_server_url"))
    engine = create_engine(url)
    yield engine
    await engine.dispose()
    await databases.drop_database(url)


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migrations_build_the_whole_model_on_an_empty_database(empty_engine: AsyncEngine) -> None:
    assert await current_revision(empty_engine) is None
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == "0006"
    assert await tables(empty_engine) == set(Base.metadata.tables) | {"alembic_version"}
    await upgrade(empty_engine)  # a second run is a no-op
    await downgrade(empty_engine, "base")
    assert await tables(empty_engine) == {"alembic_version"}
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == "0006"


@pytest.fixture
async def engine(empty_engine: AsyncEngine) -> AsyncEngine:
    await upgrade(empty_engine)
    return empty_engine


async def insert_user(engine: AsyncEngine, email: str, role: str = "participant") -> uuid.UUID:
    user_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (id, email, display_name, role, password_hash, created_at) "
                "VALUES (:id, :email, 'Name', :role, 'hash', :now)"
            ).bindparams(id=user_id, email=email, role=role, now=NOW)
        )
    return user_id


def uuid_param(engine: AsyncEngine, value: uuid.UUID) -> object:
    # Raw SQL on SQLite stores SQLAlchemy's Uuid as 32 hex characters.
    return value.hex if engine.dialect.name == "sqlite" else value


async def test_emails_are_unique(engine: AsyncEngine) -> None:
    await insert_user(engine, "one@example.org")
    with pytest.raises(IntegrityError):
        await insert_user(engine, "one@example.org")


async def test_roles_are_checked(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        await insert_user(engine, "x@example.org", role="superuser")


async def test_one_active_pairing_per_pair(engine: AsyncEngine) -> None:
    mentor = uuid_param(engine, await insert_user(engine, "mentor@example.org", "mentor"))
    mentee = uuid_param(engine, await insert_user(engine, "mentee@example.org"))
    statement = text(
        "INSERT INTO pairings (id, mentor_id, mentee_id, active, created_at) "
        "VALUES (:id, :mentor, :mentee, :active, :now)"
    )

    async def pair(active: bool) -> None:
        async with engine.begin() as connection:
            params = {"id": uuid_param(engine, uuid.uuid4()), "mentor": mentor, "mentee": mentee}
            await connection.execute(statement, {**params, "active": active, "now": NOW})

    await pair(active=False)
    await pair(active=True)
    await pair(active=False)  # ended pairings may repeat
    with pytest.raises(IntegrityError):
        await pair(active=True)


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO group_memberships (group_id, user_id, role, created_at) "
                    "VALUES (:g, :u, 'participant', :now)"
                ),
                {"g": uuid_param(engine, uuid.uuid4()), "u": uuid_param(engine, uuid.uuid4()), "now": NOW},
            )


async def test_the_audit_log_is_append_only(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO audit_log (at, action, outcome) VALUES (:now, 'auth.login', 'success')"), {"now": NOW}
        )
    for statement in ("UPDATE audit_log SET outcome = 'failure'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT outcome FROM audit_log"))).all()
    assert [tuple(row) for row in rows] == [("success",)]


async def insert_group(engine: AsyncEngine, capacity: int) -> uuid.UUID:
    group_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO groups (id, name, capacity, created_at) VALUES (:id, 'Group', :capacity, :now)"),
            {"id": uuid_param(engine, group_id), "capacity": capacity, "now": NOW},
        )
    return group_id


async def capacities(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return sorted((await connection.execute(text("SELECT capacity FROM groups"))).scalars())


async def test_group_capacity_is_2_to_200(engine: AsyncEngine) -> None:
    for capacity in (2, 50, 51, 200):
        await insert_group(engine, capacity)
    for capacity in (1, 201):
        with pytest.raises(IntegrityError):
            await insert_group(engine, capacity)
    assert await capacities(engine) == [2, 50, 51, 200]


async def memberships(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM group_memberships"))).scalar_one())


async def test_the_capacity_migration_keeps_groups_and_their_members(empty_engine: AsyncEngine) -> None:
    # SQLite rebuilds the groups table to change its constraint: nothing that refers to a group may go with it.
    await upgrade(empty_engine, "0003")
    group_id = uuid_param(empty_engine, await insert_group(empty_engine, 50))
    user_id = uuid_param(empty_engine, await insert_user(empty_engine, "member@example.org"))
    async with empty_engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO group_memberships (group_id, user_id, role, created_at) "
                "VALUES (:g, :u, 'participant', :now)"
            ),
            {"g": group_id, "u": user_id, "now": NOW},
        )
    with pytest.raises(IntegrityError):
        await insert_group(empty_engine, 51)
    await upgrade(empty_engine, "0004")
    await insert_group(empty_engine, 200)
    assert (await capacities(empty_engine), await memberships(empty_engine)) == ([50, 200], 1)
    # Going back lowers a larger group to the old bound rather than failing.
    await downgrade(empty_engine, "0003")
    assert (await capacities(empty_engine), await memberships(empty_engine)) == ([50, 50], 1)
    with pytest.raises(IntegrityError):
        await insert_group(empty_engine, 51)
    # Foreign keys are on again once the migration is over.
    with pytest.raises(IntegrityError):
        await insert_membership_of_nobody(empty_engine)


async def insert_membership_of_nobody(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO group_memberships (group_id, user_id, role, created_at) "
                "VALUES (:g, :u, 'participant', :now)"
            ),
            {"g": uuid_param(engine, uuid.uuid4()), "u": uuid_param(engine, uuid.uuid4()), "now": NOW},
        )
