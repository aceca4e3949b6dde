"""``GET /api/help``: the program's help and crisis line, for anyone, signed in or not.

A person who cannot sign in, or who is struggling before a session, must still find whom to call: the web client
shows this text on the sign-in page, the home page and in the room.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import SETTINGS
from server.requests import json_response

routes = web.RouteTableDef()


@routes.get("/api/help")
async def help_line(request: web.Request) -> web.Response:
    return json_response({"help_text": request.app[SETTINGS].help_text})
