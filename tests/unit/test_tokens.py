"""Access tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from server.tokens import InvalidToken, issue_token, read_token

SECRET = "unit-secret-" + "q" * 40


def now() -> datetime:
    # Read per test, never at import: the whole suite runs longer than a short-lived token lives.
    return datetime.now(UTC)


def test_a_token_names_its_user_and_expiry() -> None:
    user_id = uuid.uuid4()
    issued = now()
    token, expires_at = issue_token(user_id, SECRET, 600, issued)
    claims = read_token(token, SECRET)
    assert claims.user_id == user_id
    assert claims.expires_at == expires_at.replace(microsecond=0)
    assert expires_at - issued == timedelta(seconds=600)


def test_each_token_is_distinct() -> None:
    user_id = uuid.uuid4()
    assert issue_token(user_id, SECRET, 600, now())[0] != issue_token(user_id, SECRET, 600, now())[0]


def forge(**claims: object) -> str:
    base = {
        "iss": "haven",
        "sub": str(uuid.uuid4()),
        "iat": int(now().timestamp()),
        "exp": int(now().timestamp()) + 60,
        "jti": "j",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        issue_token(uuid.uuid4(), SECRET, 60, now() - timedelta(minutes=5))[0],  # expired
        issue_token(uuid.uuid4(), "other-" + "w" * 40, 600, now())[0],  # another deployment's
        jwt.encode(
            {"iss": "haven", "sub": str(uuid.uuid4()), "exp": 9999999999, "iat": 1, "jti": "j"}, None, algorithm="none"
        ),
        forge(iss="elsewhere"),
        forge(sub="not-a-uuid"),
        forge(exp=None),
        forge(jti=None),
        "",
        "a.b.c",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_token(token, SECRET)
