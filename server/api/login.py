"""``POST /api/auth/login``: email and password for a token, counted by the sign-in throttle."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.accounts import find_by_email
from server.appkeys import DB, LOGIN_THROTTLE, METRICS, SETTINGS
from server.config import Settings
from server.db.models import User
from server.errors import not_authenticated, rate_limited
from server.passwords import hash_password, needs_rehash, verify_password
from server.requests import client_address, json_response, read_body
from server.tokens import issue_token
from server.wire import LoginBody

routes = web.RouteTableDef()


def _account_key(email: str) -> str:
    # The throttle keys accounts by a digest so that email addresses are not kept in memory (or Redis) in clear.
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


async def _check(request: web.Request, body: LoginBody, session: AsyncSession) -> User:
    """Return the user whose credentials these are; record every outcome in the audit log.

    The attempt is counted as a failure before the password is checked and taken back if it succeeds, so that
    concurrent guesses cannot all be evaluated before the first is counted. Every attempt that gets that far costs
    one argon2 verification, whether the account exists, is disabled, or the password is wrong.
    """
    email = body.email.strip().lower()
    address = client_address(request)
    keys = [_account_key(email), "address:" + address]
    throttle = request.app[LOGIN_THROTTLE]
    metrics = request.app[METRICS]
    attempt = secrets.token_hex(8)
    wait = await throttle.reserve(keys, attempt, time.time())
    if wait:
        metrics.logins.labels("throttled").inc()
        audit.record(session, action="auth.login", outcome="throttled", source=address)
        raise rate_limited("Too many failed sign-ins. Wait a few minutes and try again.", wait)
    try:
        user = await find_by_email(session, email)
        account = user if user is not None and user.disabled_at is None else None
        # No short cut for an unknown or disabled account: it is checked against a dummy hash, at the same cost.
        matches = await verify_password(account.password_hash if account else None, body.password)
    except BaseException:
        # Not a refusal of the credentials (a database error, say): the attempt is not counted.
        await throttle.settle(keys, attempt, failed=False)
        raise
    if account is None or not matches:
        await throttle.settle(keys, attempt, failed=True)
        metrics.logins.labels("failure").inc()
        audit.record(
            session,
            action="auth.login",
            outcome=audit.FAILURE,
            actor_id=user.id if user else None,
            target_type="user" if user else None,
            target_id=user.id if user else None,
            source=address,
            detail={"reason": "disabled" if user and account is None else "bad_credentials"},
        )
        raise not_authenticated("Email or password is incorrect.")
    # A success clears the account's count; the address keeps its earlier failures, this attempt taken back.
    await throttle.clear(keys[0])
    await throttle.settle(keys[1:], attempt, failed=False)
    if needs_rehash(account.password_hash):
        account.password_hash = await hash_password(body.password)
    metrics.logins.labels("success").inc()
    audit.record(
        session, action="auth.login", actor_id=account.id, target_type="user", target_id=account.id, source=address
    )
    return account


def token_answer(user: User, settings: Settings) -> web.Response:
    """``{"token", "expires_at", "user"}``: a fresh token carrying the account's current session epoch."""
    token, expires_at = issue_token(
        user.id, settings.jwt_secret, settings.token_ttl_seconds, datetime.now(UTC), user.session_epoch
    )
    return json_response(
        {
            "token": token,
            "expires_at": expires_at.isoformat(),
            "user": {"id": str(user.id), "role": user.role, "display_name": user.display_name},
        }
    )


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginBody)
    async with request.app[DB]() as session:
        try:
            user = await _check(request, body, session)
        finally:
            # Commit on refusal too: a failed sign-in's audit row must be kept.
            await session.commit()
    return token_answer(user, request.app[SETTINGS])
