"""``GET /api/me``: the signed-in user as the web client shows them."""

from __future__ import annotations

from aiohttp import web

from server.auth import require_user
from server.requests import json_response

routes = web.RouteTableDef()


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    user = await require_user(request)
    return json_response(
        {"id": str(user.id), "email": user.email, "role": user.role, "display_name": user.display_name}
    )
