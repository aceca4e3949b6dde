"""Signing in and being recognised: tokens, expiry, forgery, disabled accounts, throttling, audit."""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest
import redis.asyncio
from sqlalchemy import select, update

from server import passwords
from server.app import create_app
from server.db.models import AuditEntry, User
from server.tokens import issue_token
from tests.conftest import TEST_SECRET, make_settings
from tests.support.api import Api

T = TypeVar("T")
PASSWORD_CHECK = f"{passwords.__name__}.{passwords._verify.__qualname__}"


async def audit_rows(api: Api, action: str) -> list[AuditEntry]:
    async with api.db() as session:
        rows = await session.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
        return list(rows.scalars())


async def test_login_returns_a_token_and_the_user(api: Api) -> None:
    user_id = await api.create_user_directly("Sam@Example.org", "Sam", "participant", "sam-password")
    status, body = await api.call(
        "POST", "/api/auth/login", json={"email": "sam@example.org", "password": "sam-password"}
    )
    assert status == 200
    assert body["user"] == {"id": user_id, "role": "participant", "display_name": "Sam"}
    claims = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"], issuer="haven")
    assert claims["sub"] == user_id
    assert claims["exp"] > claims["iat"]
    status, me = await api.call("GET", "/api/me", body["token"])
    assert status == 200
    assert me == {"id": user_id, "email": "sam@example.org", "role": "participant", "display_name": "Sam"}


async def test_email_is_matched_without_regard_to_case(api: Api) -> None:
    await api.create_user_directly("rae@example.org", "Rae", "mentor", "rae-password")
    token = await api.login("RAE@EXAMPLE.ORG", "rae-password")
    assert token


async def test_wrong_password_and_unknown_email_are_refused_alike(api: Api) -> None:
    await api.create_user_directly("kim@example.org", "Kim", "participant", "kim-password")
    wrong = await api.call("POST", "/api/auth/login", json={"email": "kim@example.org", "password": "nope-nope"})
    unknown = await api.call("POST", "/api/auth/login", json={"email": "who@example.org", "password": "nope-nope"})
    for status, body in (wrong, unknown):
        assert status == 401
        assert body == {"error": {"code": "not_authenticated", "message": "Email or password is incorrect."}}


async def test_every_login_is_audited_without_the_password(api: Api) -> None:
    user_id = await api.create_user_directly("lee@example.org", "Lee", "participant", "lee-password")
    await api.login("lee@example.org", "lee-password")
    await api.call("POST", "/api/auth/login", json={"email": "lee@example.org", "password": "guess-guess"})
    await api.call("POST", "/api/auth/login", json={"email": "ghost@example.org", "password": "guess-guess"})
    rows = await audit_rows(api, "auth.login")
    assert [(r.outcome, r.actor_id) for r in rows] == [
        ("success", uuid.UUID(user_id)),
        ("failure", uuid.UUID(user_id)),
        ("failure", None),
    ]
    assert all(r.source == "127.0.0.1" for r in rows)
    written = repr([(r.detail, r.target_id, r.source) for r in rows])
    assert "guess-guess" not in written
    assert "lee-password" not in written
    assert "ghost@example.org" not in written


async def test_requests_without_a_token_are_refused(api: Api) -> None:
    status, body = await api.call("GET", "/api/me")
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"
    status, body = await api.call("GET", "/api/me", headers={"Authorization": "Basic abc"})
    assert status == 401


async def test_expired_token_is_refused(api: Api) -> None:
    user_id = await api.create_user_directly("old@example.org", "Old", "participant", "old-password")
    token, _ = issue_token(uuid.UUID(user_id), TEST_SECRET, 60, datetime.now(UTC) - timedelta(hours=1))
    status, body = await api.call("GET", "/api/me", token)
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


async def test_forged_tokens_are_refused(api: Api) -> None:
    user_id = await api.create_user_directly("eve@example.org", "Eve", "admin", "eve-password")
    now = datetime.now(UTC)
    claims = {
        "iss": "haven",
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600,
        "jti": "x",
    }
    other_secret = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    good = await api.login("eve@example.org", "eve-password")
    head, _payload, signature = good.split(".")
    tampered = ".".join([head, jwt.utils.base64url_encode(b'{"sub":"' + user_id.encode() + b'"}').decode(), signature])
    for token in (other_secret, unsigned, tampered, "not-a-jwt", good + "x"):
        status, body = await api.call("GET", "/api/users", token)
        assert status == 401, token
        assert body["error"]["code"] == "not_authenticated"


async def test_a_disabled_account_can_neither_sign_in_nor_use_its_token(api: Api, admin: str) -> None:
    user_id, token = await api.user(admin, "gone@example.org", "participant")
    status, _ = await api.call("PATCH", f"/api/users/{user_id}", admin, {"disabled": True})
    assert status == 200
    assert (await api.call("GET", "/api/me", token))[0] == 401
    status, body = await api.call(
        "POST", "/api/auth/login", json={"email": "gone@example.org", "password": "password-gone@example.org"}
    )
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


async def test_repeated_failures_are_throttled_then_audited(api: Api) -> None:
    await api.create_user_directly("pat@example.org", "Pat", "participant", "pat-password")
    for _ in range(10):
        status, _ = await api.call(
            "POST", "/api/auth/login", json={"email": "pat@example.org", "password": "wrong-wrong"}
        )
        assert status == 401
    async with api.client.post(
        "/api/auth/login", json={"email": "pat@example.org", "password": "pat-password"}
    ) as response:
        assert response.status == 429
        body = await response.json()
        retry_after = body["error"]["retry_after"]
        # Whole seconds until the first of the ten failures leaves the 15-minute window.
        assert isinstance(retry_after, int)
        assert 800 < retry_after <= 900
        assert response.headers["Retry-After"] == str(retry_after)
    assert body == {
        "error": {
            "code": "rate_limited",
            "message": "Too many failed sign-ins. Wait a few minutes and try again.",
            "retry_after": retry_after,
        }
    }
    rows = await audit_rows(api, "auth.login")
    assert rows[-1].outcome == "throttled"


class WorkerThreads(ThreadPoolExecutor):
    """The event loop's worker threads, noting every function they are given: argon2 runs there, off the loop."""

    def __init__(self) -> None:
        super().__init__(max_workers=4, thread_name_prefix="test-workers")
        self.given: list[str] = []

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        # asyncio.to_thread hands over functools.partial(context.run, function, *arguments).
        target = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        self.given.append(f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}")
        return super().submit(fn, *args, **kwargs)


async def test_every_sign_in_costs_one_password_check(api: Api) -> None:
    """An unknown email and a disabled account are checked against a dummy hash, so that they cost what a wrong
    password costs and the time taken does not tell whether an account exists (bench/signin.py measures it)."""
    workers = WorkerThreads()
    asyncio.get_running_loop().set_default_executor(workers)
    await api.create_user_directly("kim@example.org", "Kim", "participant", "kim-password")
    gone_id = await api.create_user_directly("gone@example.org", "Gone", "participant", "gone-password")
    async with api.db.begin() as session:
        await session.execute(update(User).where(User.id == uuid.UUID(gone_id)).values(disabled_at=datetime.now(UTC)))
    attempts = [
        ("who@example.org", "kim-password", 401),  # unknown
        ("gone@example.org", "gone-password", 401),  # disabled, right password
        ("kim@example.org", "nope-nope", 401),  # wrong password
        ("kim@example.org", "kim-password", 200),
    ]
    for email, password, expected in attempts:
        workers.given.clear()
        status, _ = await api.call("POST", "/api/auth/login", json={"email": email, "password": password})
        assert status == expected
        assert workers.given.count(PASSWORD_CHECK) == 1, (email, workers.given)


async def test_a_burst_of_guesses_is_stopped_at_the_limit(api: Api) -> None:
    """Each guess is counted before its password is checked: 30 at once get 10 answers, not 30."""
    await api.create_user_directly("pat@example.org", "Pat", "participant", "pat-password")
    guess = {"email": "pat@example.org", "password": "wrong-wrong"}
    answers = await asyncio.gather(*(api.call("POST", "/api/auth/login", json=guess) for _ in range(30)))
    statuses = [status for status, _ in answers]
    assert (statuses.count(401), statuses.count(429)) == (10, 20)
    status, _ = await api.call("POST", "/api/auth/login", json={"email": "pat@example.org", "password": "pat-password"})
    assert status == 429
    outcomes = [row.outcome for row in await audit_rows(api, "auth.login")]
    assert (outcomes.count("failure"), outcomes.count("throttled")) == (10, 21)


async def test_successful_sign_ins_do_not_count_against_the_address(api: Api) -> None:
    await api.create_user_directly("lee@example.org", "Lee", "participant", "lee-password")
    for _ in range(15):
        await api.login("lee@example.org", "lee-password")
    await asyncio.gather(*(api.login("lee@example.org", "lee-password") for _ in range(5)))


@pytest.mark.redis
async def test_nodes_on_one_redis_share_the_counts(  # type: ignore[no-untyped-def]
    aiohttp_client, tmp_path: Path, database_url: str, redis_server_url: str
) -> None:
    prefix = f"haven-test-{secrets.token_hex(6)}:"
    env = {"HAVEN_REDIS_URL": redis_server_url, "HAVEN_REDIS_PREFIX": prefix}
    nodes = [Api(await aiohttp_client(create_app(make_settings(tmp_path, database_url, **env)))) for _ in range(2)]
    try:
        await nodes[0].create_user_directly("pat@example.org", "Pat", "participant", "pat-password")
        guess = {"email": "pat@example.org", "password": "wrong-wrong"}
        for n in range(10):
            status, _ = await nodes[n % 2].call("POST", "/api/auth/login", json=guess)
            assert status == 401
        right = {"email": "pat@example.org", "password": "pat-password"}
        for node in nodes:
            status, body = await node.call("POST", "/api/auth/login", json=right)
            assert status == 429
            assert 800 < body["error"]["retry_after"] <= 900
    finally:
        client = redis.asyncio.Redis.from_url(redis_server_url)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_refresh_gives_a_fresh_token_for_the_same_account(api: Api) -> None:
    user_id = await api.create_user_directly("sam@example.org", "Sam", "mentor", "sam-password")
    token = await api.login("sam@example.org", "sam-password")
    status, body = await api.call("POST", "/api/auth/refresh", token)
    assert status == 200
    assert body["user"] == {"id": user_id, "role": "mentor", "display_name": "Sam"}
    assert body["token"] != token
    claims = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"], issuer="haven")
    assert (claims["sub"], claims["sep"]) == (user_id, 0)
    assert datetime.fromisoformat(body["expires_at"]).replace(microsecond=0) == datetime.fromtimestamp(
        claims["exp"], UTC
    )
    assert (await api.call("GET", "/api/me", body["token"]))[0] == 200
    # An empty object is the one body allowed.
    assert (await api.call("POST", "/api/auth/refresh", body["token"], {}))[0] == 200
    status, refused = await api.call("POST", "/api/auth/refresh", body["token"], {"token": token})
    assert (status, refused["error"]["code"]) == (400, "invalid_request")
    rows = await audit_rows(api, "auth.refresh")
    assert [(row.outcome, row.actor_id, row.target_id) for row in rows] == [
        ("success", uuid.UUID(user_id), user_id)
    ] * 2


async def test_refresh_needs_a_valid_token(api: Api) -> None:
    user_id = await api.create_user_directly("old@example.org", "Old", "participant", "old-password")
    expired, _ = issue_token(uuid.UUID(user_id), TEST_SECRET, 60, datetime.now(UTC) - timedelta(hours=1))
    for token in (None, "not-a-jwt", expired):
        status, body = await api.call("POST", "/api/auth/refresh", token)
        assert (status, body["error"]["code"]) == (401, "not_authenticated")


async def test_a_disabled_account_cannot_refresh(api: Api, admin: str) -> None:
    user_id, token = await api.user(admin, "gone@example.org", "participant")
    assert (await api.call("PATCH", f"/api/users/{user_id}", admin, {"disabled": True}))[0] == 200
    status, body = await api.call("POST", "/api/auth/refresh", token)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")


async def test_a_token_of_an_earlier_session_epoch_cannot_refresh(api: Api) -> None:
    user_id = await api.create_user_directly("kai@example.org", "Kai", "participant", "kai-password")
    earlier = await api.login("kai@example.org", "kai-password")
    async with api.db.begin() as session:
        # What a password change does: every token issued before is revoked.
        await session.execute(
            update(User).where(User.id == uuid.UUID(user_id)).values(session_epoch=User.session_epoch + 1)
        )
    status, body = await api.call("POST", "/api/auth/refresh", earlier)
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    current = await api.login("kai@example.org", "kai-password")
    status, body = await api.call("POST", "/api/auth/refresh", current)
    assert status == 200
    assert jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"], issuer="haven")["sep"] == 1
    assert len(await audit_rows(api, "auth.refresh")) == 1  # a refused refresh leaves no row
