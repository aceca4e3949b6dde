"""Signing in and being recognised: tokens, expiry, forgery, disabled accounts, throttling, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import select

from server.db.models import AuditEntry
from server.tokens import issue_token
from tests.conftest import TEST_SECRET
from tests.support.api import Api


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
    status, body = await api.call(
        "POST", "/api/auth/login", json={"email": "pat@example.org", "password": "pat-password"}
    )
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    rows = await audit_rows(api, "auth.login")
    assert rows[-1].outcome == "throttled"
