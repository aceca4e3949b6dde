"""``GET /api/calls``: call records (who, when, outcome, duration; never content), newest first."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import or_, select

from server import audit
from server.appkeys import DB
from server.auth import require_user
from server.db.models import Call, UserRole
from server.errors import invalid, not_authorized
from server.requests import client_address, json_response, query_int

routes = web.RouteTableDef()


def call_view(call: Call) -> dict[str, Any]:
    duration = None
    if call.answered_at is not None and call.ended_at is not None:
        duration = round((call.ended_at - call.answered_at).total_seconds(), 1)
    return {
        "id": str(call.id),
        "caller_id": None if call.caller_id is None else str(call.caller_id),
        "callee_id": None if call.callee_id is None else str(call.callee_id),
        "outcome": call.outcome,
        "invited_at": call.invited_at.isoformat(),
        "answered_at": None if call.answered_at is None else call.answered_at.isoformat(),
        "ended_at": None if call.ended_at is None else call.ended_at.isoformat(),
        "duration_seconds": duration,
    }


@routes.get("/api/calls")
async def list_calls(request: web.Request) -> web.Response:
    user = await require_user(request)
    limit = query_int(request, "limit", 50, 1, 200)
    query = select(Call).order_by(Call.invited_at.desc(), Call.id).limit(limit)
    whose = request.query.get("user_id")
    if whose is not None:
        if user.role != UserRole.ADMIN:
            raise not_authorized("Only an administrator can see another person's calls.")
        try:
            person = uuid.UUID(whose)
        except ValueError:
            raise invalid("Query parameter 'user_id' must be a UUID.") from None
    else:
        # Everyone's own calls, administrators' too: looking at someone else's is asked for by name.
        person = user.id
    query = query.where(or_(Call.caller_id == person, Call.callee_id == person))
    async with request.app[DB].begin() as session:
        rows = await session.execute(query)
        calls = [call_view(c) for c in rows.scalars()]
        if person != user.id:
            # Who talks with whom is sensitive: an administrator's look at someone else's calls is on record.
            audit.record(
                session,
                action="calls.view",
                actor_id=user.id,
                target_type="user",
                target_id=person,
                source=client_address(request),
            )
    return json_response({"calls": calls})
