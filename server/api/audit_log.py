"""``GET /api/audit``: the audit log, newest first, for administrators."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.appkeys import DB
from server.auth import require_admin
from server.db.models import AuditEntry
from server.requests import json_response, query_int

routes = web.RouteTableDef()


@routes.get("/api/audit")
async def list_entries(request: web.Request) -> web.Response:
    await require_admin(request)
    limit = query_int(request, "limit", 100, 1, 500)
    before = query_int(request, "before_id", 2**62, 1, 2**62)
    async with request.app[DB]() as session:
        rows = await session.execute(
            select(AuditEntry).where(AuditEntry.id < before).order_by(AuditEntry.id.desc()).limit(limit)
        )
        entries = [
            {
                "id": entry.id,
                "at": entry.at.isoformat(),
                "actor_id": None if entry.actor_id is None else str(entry.actor_id),
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
                "outcome": entry.outcome,
                "source": entry.source,
                "detail": entry.detail,
            }
            for entry in rows.scalars()
        ]
    return json_response({"entries": entries})
