"""The ``haven`` command as an operator uses it: bootstrap an admin, serve, refuse unsafe production settings."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import databases
from tests.support.processes import clean_env, haven, http, start_node

ADMIN = ["--email", "root@example.org", "--name", "Root", "--role", "admin", "--password", "root-password"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def deployment_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The environment of a fresh deployment: nothing set (embedded default), or an empty PostgreSQL."""
    if request.param == "sqlite":
        yield clean_env()
        return
    url = await databases.create_database(request.getfixturevalue("postgres_server_url"))
    yield clean_env(HAVEN_DATABASE_URL=url, HAVEN_JWT_SECRET="cli-test-secret-" + "z" * 40)
    await databases.drop_database(url)


def test_user_create_bootstraps_the_first_admin_who_can_sign_in(tmp_path: Path, deployment_env: dict[str, str]) -> None:
    result = haven("user", "create", *ADMIN, cwd=tmp_path, env=deployment_env)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert (created["email"], created["role"], created["display_name"]) == ("root@example.org", "admin", "Root")
    assert "root-password" not in result.stderr

    node = start_node(tmp_path, deployment_env)
    try:
        status, body = http(
            "POST", node.base + "/api/auth/login", {"email": "root@example.org", "password": "root-password"}
        )
        assert status == 200
        assert body["user"] == {"id": created["id"], "role": "admin", "display_name": "Root"}
        status, _ = http("POST", node.base + "/api/groups", {"name": "First group", "capacity": 10}, body["token"])
        assert status == 201
        assert http("GET", node.base + "/readyz")[0] == 200
    finally:
        assert node.terminate() == 0


def test_user_create_refuses_a_duplicate_and_bad_values(tmp_path: Path, deployment_env: dict[str, str]) -> None:
    assert haven("user", "create", *ADMIN, cwd=tmp_path, env=deployment_env).returncode == 0
    again = haven("user", "create", *ADMIN, cwd=tmp_path, env=deployment_env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    bad_role = haven("user", "create", *ADMIN[:4], "--role", "owner", *ADMIN[6:], cwd=tmp_path, env=deployment_env)
    assert bad_role.returncode == 2
    assert "invalid choice" in bad_role.stderr
    bad_email = haven("user", "create", "--email", "nope", *ADMIN[2:], cwd=tmp_path, env=deployment_env)
    assert bad_email.returncode == 2
    assert "email" in bad_email.stderr
    short = haven("user", "create", *ADMIN[:6], "--password", "short", cwd=tmp_path, env=deployment_env)
    assert short.returncode == 2


def test_the_embedded_default_keeps_its_data_and_secret_in_the_data_dir(tmp_path: Path) -> None:
    assert haven("user", "create", *ADMIN, cwd=tmp_path, env=clean_env()).returncode == 0
    secret = tmp_path / "var" / "jwt-secret"
    assert (tmp_path / "var" / "haven.db").is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    first = secret.read_text()
    node = start_node(tmp_path, clean_env())
    try:
        assert (
            http("POST", node.base + "/api/auth/login", {"email": "root@example.org", "password": "root-password"})[0]
            == 200
        )
    finally:
        node.terminate()
    assert secret.read_text() == first


def test_migrate_upgrades_an_empty_database(tmp_path: Path, deployment_env: dict[str, str]) -> None:
    result = haven("migrate", cwd=tmp_path, env=deployment_env)
    assert result.returncode == 0, result.stderr
    assert "newest schema revision" in result.stdout


@pytest.fixture
async def postgres_env(postgres_server_url: str) -> AsyncIterator[dict[str, str]]:
    url = await databases.create_database(postgres_server_url)
    yield clean_env(HAVEN_DATABASE_URL=url, HAVEN_JWT_SECRET="cli-test-secret-" + "z" * 40)
    await databases.drop_database(url)


def test_two_nodes_on_one_database_form_one_deployment(tmp_path: Path, postgres_env: dict[str, str]) -> None:
    deployment_env = postgres_env
    assert haven("user", "create", *ADMIN, cwd=tmp_path, env=deployment_env).returncode == 0
    first, second = start_node(tmp_path, deployment_env), start_node(tmp_path, deployment_env)
    try:
        _, body = http(
            "POST", first.base + "/api/auth/login", {"email": "root@example.org", "password": "root-password"}
        )
        status, group = http("POST", second.base + "/api/groups", {"name": "Shared", "capacity": 6}, body["token"])
        assert status == 201
        status, every = http("GET", first.base + "/api/groups?all=true", None, body["token"])
        assert [g["id"] for g in every["groups"]] == [group["id"]]
    finally:
        first.terminate()
        second.terminate()


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "HAVEN_JWT_SECRET"),
        ({"HAVEN_JWT_SECRET": "changeme"}, "HAVEN_JWT_SECRET"),
        ({"HAVEN_JWT_SECRET": "short-but-random"}, "HAVEN_JWT_SECRET"),
        ({"HAVEN_JWT_SECRET": "p" * 40}, "HAVEN_ALLOWED_ORIGINS"),
        (
            {
                "HAVEN_JWT_SECRET": "p" * 40,
                "HAVEN_ALLOWED_ORIGINS": "https://haven.example.org",
                "HAVEN_TURN_URLS": "turn:t.example.org:3478",
            },
            "HAVEN_TURN_SECRET",
        ),
    ],
)
def test_production_mode_refuses_to_start_without_its_secrets(
    tmp_path: Path, env: dict[str, str], complaint: str
) -> None:
    result = haven("serve", "--port", "1", cwd=tmp_path, env=clean_env(HAVEN_ENV="production", **env), timeout=30)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert not (tmp_path / "var").exists()  # no secret was generated behind the operator's back


def test_purge_chat_erases_old_bodies_and_audits_without_text(tmp_path: Path, deployment_env: dict[str, str]) -> None:
    import asyncio
    import uuid
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from server.db.engine import create_engine, session_factory
    from server.db.models import AuditEntry, ChatMessage, Conversation, User

    assert haven("user", "create", *ADMIN, cwd=tmp_path, env=deployment_env).returncode == 0
    url = deployment_env.get("HAVEN_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path / 'var' / 'haven.db'}"

    async def seed() -> None:
        engine = create_engine(url)
        async with session_factory(engine).begin() as session:
            sender = await session.scalar(select(User.id))
            conversation = Conversation(
                id=uuid.uuid4(), key=f"room:{uuid.uuid4()}", kind="room", last_seq=2, created_at=datetime.now(UTC)
            )
            session.add(conversation)
            await session.flush()
            for seq, age in ((1, 40), (2, 1)):
                session.add(
                    ChatMessage(
                        id=uuid.uuid4(),
                        conversation_id=conversation.id,
                        seq=seq,
                        sender_id=sender,
                        client_id=f"c{seq}",
                        body=f"secret words {seq}",
                        sent_at=datetime.now(UTC) - timedelta(days=age),
                    )
                )
        await engine.dispose()

    async def read() -> tuple[list[tuple[int, str | None]], list[AuditEntry]]:
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            rows = (await session.execute(select(ChatMessage.seq, ChatMessage.body).order_by(ChatMessage.seq))).all()
            audits = list(
                (await session.execute(select(AuditEntry).where(AuditEntry.action == "chat.purge"))).scalars()
            )
        await engine.dispose()
        return [tuple(r) for r in rows], audits  # type: ignore[misc]

    asyncio.run(seed())
    result = haven("purge-chat", "--older-than-days", "30", cwd=tmp_path, env=deployment_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"erased": 1, "older_than_days": 30}
    rows, audits = asyncio.run(read())
    assert rows == [(1, None), (2, "secret words 2")]
    assert len(audits) == 1
    assert audits[0].detail["erased"] == 1
    assert "secret" not in repr(audits[0].detail)
    assert haven("purge-chat", "--older-than-days", "-1", cwd=tmp_path, env=deployment_env).returncode == 2
