"""``POST /api/auth/login``: email and password for a token."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.accounts import find_by_email
from server.appkeys import DB, LOGIN_THROTTLE, METRICS, SETTINGS
from server.db.models import User
from server.errors import ApiError, ErrorCode, not_authenticated
from server.passwords import hash_password, needs_rehash, verify_password
from server.requests import client_address, json_response, read_body
from server.tokens import issue_token
from server.wire import LoginBody

routes = web.RouteTableDef()


def _account_key(email: str) -> str:
    # The throttle keys accounts by a digest so that email addresses are not kept in memory in clear.
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


async def _check(request: web.Request, body: LoginBody, session: AsyncSession) -> User:
    """Return the user whose credentials these are; record every outcome in the audit log."""
    email = body.email.strip().lower()
    address = client_address(request)
    keys = [_account_key(email), "address:" + address]
    throttle = request.app[LOGIN_THROTTLE]
    metrics = request.app[METRICS]
    now = time.monotonic()
    if throttle.blocked(keys, now):
        metrics.logins.labels("throttled").inc()
        audit.record(session, action="auth.login", outcome="throttled", source=address)
        raise ApiError(ErrorCode.RATE_LIMITED, "Too many failed sign-ins. Wait a few minutes and try again.")
    user = await find_by_email(session, email)
    active = user is not None and user.disabled_at is None
    stored_hash = user.password_hash if user is not None and active else None
    if user is None or not await verify_password(stored_hash, body.password):
        throttle.failed(keys, now)
        metrics.logins.labels("failure").inc()
        audit.record(
            session,
            action="auth.login",
            outcome=audit.FAILURE,
            actor_id=user.id if user else None,
            target_type="user" if user else None,
            target_id=user.id if user else None,
            source=address,
            detail={"reason": "disabled" if user and not active else "bad_credentials"},
        )
        raise not_authenticated("Email or password is incorrect.")
    throttle.succeeded(keys[0])
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(body.password)
    metrics.logins.labels("success").inc()
    audit.record(session, action="auth.login", actor_id=user.id, target_type="user", target_id=user.id, source=address)
    return user


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginBody)
    settings = request.app[SETTINGS]
    async with request.app[DB]() as session:
        try:
            user = await _check(request, body, session)
        finally:
            # Commit on refusal too: a failed sign-in's audit row must be kept.
            await session.commit()
    token, expires_at = issue_token(user.id, settings.jwt_secret, settings.token_ttl_seconds, datetime.now(UTC))
    return json_response(
        {
            "token": token,
            "expires_at": expires_at.isoformat(),
            "user": {"id": str(user.id), "role": user.role, "display_name": user.display_name},
        }
    )
