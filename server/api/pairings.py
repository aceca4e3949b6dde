"""Mentor and mentee pairings: ``/api/pairings``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import audit
from server.appkeys import DB, LIVE
from server.auth import require_admin
from server.db.models import Pairing, User, UserRole
from server.errors import conflict, invalid, not_found
from server.requests import client_address, json_response, path_id, read_body
from server.wire import PairingCreate

routes = web.RouteTableDef()


def pairing_view(pairing: Pairing) -> dict[str, Any]:
    return {
        "id": str(pairing.id),
        "mentor_id": str(pairing.mentor_id),
        "mentee_id": str(pairing.mentee_id),
        "active": pairing.active,
        "created_at": pairing.created_at.isoformat(),
        "ended_at": pairing.ended_at.isoformat() if pairing.ended_at else None,
    }


@routes.post("/api/pairings")
async def create(request: web.Request) -> web.Response:
    admin = await require_admin(request)
    body = await read_body(request, PairingCreate)
    if body.mentor_id == body.mentee_id:
        raise invalid("A mentor cannot be paired with themselves.")
    async with request.app[DB].begin() as session:
        mentor = await session.get(User, body.mentor_id)
        mentee = await session.get(User, body.mentee_id)
        if mentor is None or mentee is None:
            raise not_found("user")
        if mentor.role != UserRole.MENTOR:
            raise invalid("The mentor_id must name a mentor account.")
        if mentee.role != UserRole.PARTICIPANT:
            raise invalid("The mentee_id must name a participant account.")
        existing = await session.execute(
            select(Pairing.id).where(
                Pairing.mentor_id == mentor.id, Pairing.mentee_id == mentee.id, Pairing.active.is_(True)
            )
        )
        if existing.first() is not None:
            raise conflict("These two are already paired.")
        pairing = Pairing(
            id=uuid.uuid4(), mentor_id=mentor.id, mentee_id=mentee.id, active=True, created_at=datetime.now(UTC)
        )
        session.add(pairing)
        try:
            await session.flush()
        except IntegrityError:
            raise conflict("These two are already paired.") from None
        audit.record(
            session,
            action="pairing.create",
            actor_id=admin.id,
            target_type="pairing",
            target_id=pairing.id,
            source=client_address(request),
        )
    return json_response(pairing_view(pairing), status=201)


@routes.get("/api/pairings")
async def list_pairings(request: web.Request) -> web.Response:
    await require_admin(request)
    active_only = request.query.get("active", "true")
    if active_only not in {"true", "false"}:
        raise invalid("Query parameter 'active' must be true or false.")
    async with request.app[DB]() as session:
        query = select(Pairing).order_by(Pairing.created_at, Pairing.id)
        if active_only == "true":
            query = query.where(Pairing.active.is_(True))
        rows = await session.execute(query)
        return json_response({"pairings": [pairing_view(p) for p in rows.scalars()]})


@routes.delete("/api/pairings/{id}")
async def end(request: web.Request) -> web.Response:
    """End a pairing; the record stays, inactive, for the program's history."""
    admin = await require_admin(request)
    async with request.app[DB].begin() as session:
        pairing = await session.get(Pairing, path_id(request), with_for_update=True)
        if pairing is None:
            raise not_found("pairing")
        if not pairing.active:
            raise conflict("This pairing has already ended.")
        pairing.active = False
        pairing.ended_at = datetime.now(UTC)
        audit.record(
            session,
            action="pairing.end",
            actor_id=admin.id,
            target_type="pairing",
            target_id=pairing.id,
            source=client_address(request),
        )
    await request.app[LIVE].pairing_ended(str(pairing.id), (str(pairing.mentor_id), str(pairing.mentee_id)))
    return json_response(pairing_view(pairing))
