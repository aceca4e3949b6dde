"""Access tokens: HS256 JWTs with an expiry, signed with the deployment's shared secret."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "haven"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is missing, malformed, forged or expired; the reason is kept out of client messages."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    token_id: str
    expires_at: datetime
    issued_at: datetime
    # The account's session epoch when the token was issued: a password change raises it, revoking the token.
    epoch: int = 0


def issue_token(
    user_id: uuid.UUID, secret: str, ttl_seconds: int, now: datetime, epoch: int = 0
) -> tuple[str, datetime]:
    """Return a signed token for ``user_id`` and the moment it expires."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_urlsafe(12),
        "sep": epoch,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires_at


def read_token(token: str, secret: str) -> TokenClaims:
    """Verify signature, issuer and expiry; the algorithm is fixed so ``alg: none`` tokens are refused."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "jti"]},
        )
        user_id = uuid.UUID(str(claims["sub"]))
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
        epoch = claims.get("sep", 0)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError("sep")
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidToken(type(exc).__name__) from None
    return TokenClaims(
        user_id=user_id, token_id=str(claims["jti"]), expires_at=expires_at, issued_at=issued_at, epoch=epoch
    )
