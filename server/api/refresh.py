"""``POST /api/auth/refresh``: a fresh token for the bearer of a valid one, before it expires."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from server import audit
from server.api.login import token_answer
from server.appkeys import DB, SETTINGS
from server.auth import current_user
from server.requests import client_address, read_body

routes = web.RouteTableDef()


class _NoFields(BaseModel):
    """The body, when one is sent: ``{}``."""

    model_config = ConfigDict(extra="forbid")


@routes.post("/api/auth/refresh")
async def refresh(request: web.Request) -> web.Response:
    """The same answer as sign-in. The account must still be active and the token issued in its current session
    epoch (``current_user`` checks both), so a disabled account or a changed password ends the chain."""
    async with request.app[DB]() as session:
        user = await current_user(request, session)
        if request.body_exists:
            await read_body(request, _NoFields)
        audit.record(
            session,
            action="auth.refresh",
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            source=client_address(request),
        )
        await session.commit()
    return token_answer(user, request.app[SETTINGS])
