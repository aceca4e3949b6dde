"""Who is asking: bearer token to a live account, and the role checks REST handlers need."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.appkeys import DB, SETTINGS
from server.db.models import User, UserRole
from server.errors import not_authenticated, not_authorized
from server.middleware import route_template
from server.requests import client_address
from server.tokens import InvalidToken, read_token


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_user(request: web.Request, session: AsyncSession) -> User:
    """The signed-in user; identity comes from the token, role and status from the database."""
    token = bearer_token(request)
    if token is None:
        raise not_authenticated("Send 'Authorization: Bearer <token>' from POST /api/auth/login.")
    try:
        claims = read_token(token, request.app[SETTINGS].jwt_secret)
    except InvalidToken:
        raise not_authenticated("The token is invalid or has expired; sign in again.") from None
    user = await session.get(User, claims.user_id)
    if user is None or user.disabled_at is not None:
        raise not_authenticated("This account is not active; sign in again.")
    if claims.epoch != user.session_epoch:
        # Issued before the password last changed.
        raise not_authenticated("The token is invalid or has expired; sign in again.")
    return user


async def require_user(request: web.Request) -> User:
    """The signed-in user, read in a short session of its own."""
    async with request.app[DB]() as session:
        return await current_user(request, session)


async def require_admin(request: web.Request) -> User:
    """The signed-in administrator; anyone else is refused, and the refusal is audited."""
    async with request.app[DB]() as session:
        user = await current_user(request, session)
        if user.role != UserRole.ADMIN:
            audit.record(
                session,
                action="admin.access",
                outcome=audit.DENIED,
                actor_id=user.id,
                source=client_address(request),
                detail={"method": request.method, "route": route_template(request)},
            )
            await session.commit()
            raise not_authorized("Only an administrator can do that.")
        return user
