"""``GET /api/audit``: the audit log, newest first, for administrators.

Filtered by actor, action (exact, or a prefix ending in ``*``), target and a time range; paged by an opaque
cursor. Rows never hold message or note text (``server.audit`` writes ids only); the view drops any detail key
that could carry free text all the same.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, select

from server.appkeys import DB
from server.auth import require_admin
from server.db.models import AuditEntry
from server.errors import invalid
from server.requests import json_response, query_int
from server.time_range import query_time

routes = web.RouteTableDef()

# Detail keys that would carry someone's words rather than ids; never shown even if a row held one.
FREE_TEXT_KEYS = frozenset({"body", "note", "text", "message", "password", "email"})


def _cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"a{entry_id}".encode()).decode().rstrip("=")


def _after_cursor(raw: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        if not decoded.startswith("a"):
            raise ValueError(decoded)
        value = int(decoded[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("Query parameter 'cursor' is not a cursor this server handed out.") from None
    if not 1 <= value < 2**62:
        raise invalid("Query parameter 'cursor' is not a cursor this server handed out.")
    return value


def _filters(request: web.Request) -> list[ColumnElement[bool]]:
    query = request.query
    unknown = set(query) - {"actor", "action", "target", "from", "to", "cursor", "limit", "before_id"}
    if unknown:
        raise invalid(f"Unknown query parameter '{sorted(unknown)[0]}'.")
    where: list[ColumnElement[bool]] = []
    if "actor" in query:
        try:
            where.append(AuditEntry.actor_id == uuid.UUID(query["actor"]))
        except ValueError:
            raise invalid("Query parameter 'actor' must be a user id.") from None
    if "action" in query:
        action = query["action"]
        if not 1 <= len(action) <= 64:
            raise invalid("Query parameter 'action' must be 1 to 64 characters.")
        if action.endswith("*"):
            prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(AuditEntry.action.like(prefix + "%", escape="\\"))
        else:
            where.append(AuditEntry.action == action)
    if "target" in query:
        target = query["target"]
        if not 1 <= len(target) <= 64:
            raise invalid("Query parameter 'target' must be 1 to 64 characters.")
        where.append(AuditEntry.target_id == target)
    since: datetime | None = query_time(request, "from")
    until: datetime | None = query_time(request, "to")
    if since is not None and until is not None and until <= since:
        raise invalid("Query parameter 'to' must be later than 'from'.")
    if since is not None:
        where.append(AuditEntry.at >= since)
    if until is not None:
        where.append(AuditEntry.at < until)
    if "cursor" in query:
        where.append(AuditEntry.id < _after_cursor(query["cursor"]))
    elif "before_id" in query:
        where.append(AuditEntry.id < query_int(request, "before_id", 2**62, 1, 2**62))
    return where


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    detail = None
    if entry.detail is not None:
        detail = {key: value for key, value in entry.detail.items() if key not in FREE_TEXT_KEYS}
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": None if entry.actor_id is None else str(entry.actor_id),
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "outcome": entry.outcome,
        "source": entry.source,
        "detail": detail,
    }


@routes.get("/api/audit")
async def list_entries(request: web.Request) -> web.Response:
    await require_admin(request)
    limit = query_int(request, "limit", 100, 1, 500)
    where = _filters(request)
    async with request.app[DB]() as session:
        rows = await session.execute(select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit + 1))
        entries = list(rows.scalars())
    more = len(entries) > limit
    entries = entries[:limit]
    return json_response(
        {
            "entries": [entry_view(entry) for entry in entries],
            "next_cursor": _cursor(entries[-1].id) if more else None,
        }
    )
