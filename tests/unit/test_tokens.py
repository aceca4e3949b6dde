"""Access tokens: what they carry, and every way a bad one is refused.

Every forged token is built inside its test from a clock read then, and each has exactly one defect: the test first
shows that the same claims without it are accepted, so a refusal can only come from the defect under test (not, in
a long run, from the token having expired meanwhile).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from server.tokens import InvalidToken, issue_token, read_token

SECRET = "unit-secret-" + "q" * 40
OTHER_SECRET = "other-" + "w" * 46

Claims = dict[str, Any]


def now() -> datetime:
    # Read per test, never at import: the whole suite runs longer than a short-lived token lives.
    return datetime.now(UTC)


def valid_claims() -> Claims:
    issued = int(now().timestamp())
    return {"iss": "haven", "sub": str(uuid.uuid4()), "iat": issued, "exp": issued + 600, "jti": "j", "sep": 3}


def sign(claims: Claims, key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def without(name: str) -> Callable[[Claims], str]:
    return lambda claims: sign({k: v for k, v in claims.items() if k != name})


def changed(**fields: Any) -> Callable[[Claims], str]:
    return lambda claims: sign({**claims, **fields})


# Each turns valid claims into a token that differs from ``sign(claims)`` in one respect only.
DEFECTS: dict[str, Callable[[Claims], str]] = {
    "expired": lambda claims: sign({**claims, "iat": claims["iat"] - 3600, "exp": claims["iat"] - 60}),
    "issued in the future": lambda claims: sign({**claims, "iat": claims["iat"] + 3600}),
    "another deployment's secret": lambda claims: sign(claims, OTHER_SECRET),
    "unsigned (alg none)": lambda claims: jwt.encode(claims, None, algorithm="none"),
    "another algorithm": lambda claims: sign(claims, SECRET, "HS384"),
    "another issuer": changed(iss="elsewhere"),
    "subject not a UUID": changed(sub="not-a-uuid"),
    "no exp": without("exp"),
    "no iat": without("iat"),
    "no sub": without("sub"),
    "no iss": without("iss"),
    "no jti": without("jti"),
    "negative session epoch": changed(sep=-1),
    "session epoch a string": changed(sep="3"),
    "session epoch a fraction": changed(sep=3.5),
    "session epoch a boolean": changed(sep=True),
}


def test_a_token_names_its_user_epoch_and_expiry() -> None:
    user_id = uuid.uuid4()
    issued = now()
    token, expires_at = issue_token(user_id, SECRET, 600, issued, epoch=4)
    claims = read_token(token, SECRET)
    assert claims.user_id == user_id
    assert claims.epoch == 4
    assert claims.expires_at == expires_at.replace(microsecond=0)
    assert claims.issued_at == issued.replace(microsecond=0)
    assert expires_at - issued == timedelta(seconds=600)


def test_each_token_is_distinct() -> None:
    user_id = uuid.uuid4()
    assert issue_token(user_id, SECRET, 600, now())[0] != issue_token(user_id, SECRET, 600, now())[0]


def test_a_token_without_a_session_epoch_is_of_epoch_zero() -> None:
    # Tokens issued before epochs existed carry no ``sep``; they belong to an account that never changed password.
    assert read_token(without("sep")(valid_claims()), SECRET).epoch == 0


@pytest.mark.parametrize("defect", DEFECTS.values(), ids=DEFECTS.keys())
def test_a_token_with_one_defect_is_refused(defect: Callable[[Claims], str]) -> None:
    claims = valid_claims()
    accepted = read_token(sign(claims), SECRET)
    assert (str(accepted.user_id), accepted.epoch) == (claims["sub"], claims["sep"])
    with pytest.raises(InvalidToken):
        read_token(defect(claims), SECRET)


@pytest.mark.parametrize("token", ["", "a.b.c", "not-a-jwt"])
def test_what_is_not_a_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_token(token, SECRET)
