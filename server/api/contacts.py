"""``GET /api/contacts``: the people paired with the signed-in person, with their live status."""

from __future__ import annotations

from aiohttp import web

from server.auth import require_user
from server.errors import ApiError, ErrorCode
from server.requests import json_response
from signaling.mount import SIGNALING
from signaling.room_store import StoreUnavailable

routes = web.RouteTableDef()


@routes.get("/api/contacts")
async def list_contacts(request: web.Request) -> web.Response:
    user = await require_user(request)
    status = request.app[SIGNALING].contacts
    entries = []
    try:
        for contact in await status.directory.contacts(str(user.id)):
            entries.append(
                {
                    "user_id": contact.user_id,
                    "display_name": contact.display_name,
                    "relationship": contact.relationship,
                    "pairing_id": contact.pairing_id,
                    "status": await status.status(contact.user_id),
                }
            )
    except StoreUnavailable:
        raise ApiError(ErrorCode.UNAVAILABLE, "Who is online cannot be told for a moment; try again.") from None
    return json_response({"contacts": entries})
