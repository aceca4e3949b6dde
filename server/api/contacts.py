"""``GET /api/contacts``: the people paired with the signed-in person, with their live status."""

from __future__ import annotations

from aiohttp import web

from server.appkeys import DB, LIVE
from server.auth import require_user
from server.directory import DatabasePairings
from server.errors import ApiError, ErrorCode
from server.requests import json_response
from signaling.control import LiveStateUnavailable

routes = web.RouteTableDef()


@routes.get("/api/contacts")
async def list_contacts(request: web.Request) -> web.Response:
    user = await require_user(request)
    live = request.app[LIVE]
    entries = []
    try:
        for contact in await DatabasePairings(request.app[DB]).contacts(str(user.id)):
            entries.append(
                {
                    "user_id": contact.user_id,
                    "display_name": contact.display_name,
                    "relationship": contact.relationship,
                    "pairing_id": contact.pairing_id,
                    "status": await live.contact_status(contact.user_id),
                }
            )
    except LiveStateUnavailable:
        raise ApiError(ErrorCode.UNAVAILABLE, "Who is online cannot be told for a moment; try again.") from None
    return json_response({"contacts": entries})
