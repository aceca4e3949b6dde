"""Check-ins and support requests as the care team reads them; a mentee's sharing with their mentor.

Who reads whose check-ins (a check-in says how someone is doing, in their own words):
- everyone their own;
- a group's facilitators those made in that group (``/api/groups/{id}/checkins``, or a member's history, where a
  facilitator sees only the check-ins made in groups they facilitate);
- a paired mentor a mentee's whole history, only while the mentee shares it with them and the pairing is active;
- nobody else: not other participants, and not administrators, who run accounts and groups, not anyone's care.
Every read by staff (facilitator or mentor) is audited (``checkins.read``, ``support.read``), with a count only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.appkeys import DB
from server.auth import current_user
from server.checkin_store import checkin_view, checkins_query, support_view
from server.db.models import CheckIn, GroupMembership, MemberRole, Pairing, SupportRequest, User, UserRole
from server.errors import invalid, not_authorized, not_found
from server.requests import client_address, json_response, path_id, query_int, read_body
from server.time_range import MAX_RANGE, query_range
from server.wire import Body

routes = web.RouteTableDef()

# A listing's default window: the last two weeks (and today).
DEFAULT_DAYS = 14
MAX_ROWS = 1000

ADMINS_DO_NOT_READ = (
    "Administrators do not read check-ins: they are for the member's facilitators and, with the member's consent, "
    "their mentor."
)


class SharingSet(Body):
    mentor_id: uuid.UUID
    shared: bool


def _window(request: web.Request) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return query_range(request, now - timedelta(days=DEFAULT_DAYS), timedelta(days=DEFAULT_DAYS + 1))


async def _facilitated(session: AsyncSession, request: web.Request, group_id: uuid.UUID) -> User:
    """The signed-in facilitator of the group; a non-member learns nothing about the group."""
    user = await current_user(request, session)
    role = await session.scalar(
        select(GroupMembership.role).where(GroupMembership.group_id == group_id, GroupMembership.user_id == user.id)
    )
    if role == MemberRole.FACILITATOR:
        return user
    if user.role == UserRole.ADMIN:
        raise not_authorized(ADMINS_DO_NOT_READ)
    if role is None:
        raise not_found("group")
    raise not_authorized("Only the group's facilitators can read this.")


def _audit_read(
    session: AsyncSession,
    request: web.Request,
    reader: User,
    action: str,
    target_type: str,
    target: uuid.UUID,
    count: int,
) -> None:
    audit.record(
        session,
        action=action,
        actor_id=reader.id,
        target_type=target_type,
        target_id=target,
        source=client_address(request),
        detail={"count": count},
    )


@routes.get("/api/groups/{id}/checkins")
async def group_checkins(request: web.Request) -> web.Response:
    """The group's check-ins in ``from``..``to`` (default: the last two weeks), newest first."""
    group_id = path_id(request)
    async with request.app[DB]() as session:
        reader = await _facilitated(session, request, group_id)
        start, end = _window(request)
        rows = await session.execute(
            checkins_query().where(CheckIn.group_id == group_id, CheckIn.at >= start, CheckIn.at < end).limit(MAX_ROWS)
        )
        checkins = [checkin_view(c, name) for c, name in rows.all()]
        _audit_read(session, request, reader, "checkins.read", "group", group_id, len(checkins))
        await session.commit()
    return json_response({"checkins": checkins, "from": start.isoformat(), "to": end.isoformat()})


@routes.get("/api/users/{id}/checkins")
async def user_checkins(request: web.Request) -> web.Response:
    """A member's check-in history in ``from``..``to`` (default: the last 92 days), as the reader may see it."""
    user_id = path_id(request)
    now = datetime.now(UTC)
    async with request.app[DB]() as session:
        reader = await current_user(request, session)
        query = checkins_query().where(CheckIn.user_id == user_id)
        staff = reader.id != user_id
        if staff:
            query = await _visible_to(session, reader, user_id, query)
        start, end = query_range(request, now - MAX_RANGE + timedelta(days=1), MAX_RANGE)
        rows = await session.execute(query.where(CheckIn.at >= start, CheckIn.at < end).limit(MAX_ROWS))
        checkins = [checkin_view(c, name) for c, name in rows.all()]
        if staff:
            _audit_read(session, request, reader, "checkins.read", "user", user_id, len(checkins))
            await session.commit()
    return json_response({"checkins": checkins, "from": start.isoformat(), "to": end.isoformat()})


async def _visible_to(session: AsyncSession, reader: User, user_id: uuid.UUID, query: Any) -> Any:
    """``query`` narrowed to what ``reader`` may see of ``user_id``'s check-ins, or a refusal."""
    if reader.role == UserRole.ADMIN:
        raise not_authorized(ADMINS_DO_NOT_READ)
    if reader.role == UserRole.FACILITATOR:
        mine = select(GroupMembership.group_id).where(
            GroupMembership.user_id == reader.id, GroupMembership.role == MemberRole.FACILITATOR.value
        )
        return query.where(CheckIn.group_id.in_(mine))
    if reader.role == UserRole.MENTOR:
        pairing = await session.scalar(
            select(Pairing).where(
                Pairing.mentor_id == reader.id, Pairing.mentee_id == user_id, Pairing.active.is_(True)
            )
        )
        if pairing is not None and pairing.checkins_shared:
            return query
        if pairing is not None:
            raise not_authorized("Your mentee has not shared their check-ins with you.")
    raise not_authorized("You cannot read this person's check-ins.")


@routes.get("/api/me/checkin-sharing")
async def sharing(request: web.Request) -> web.Response:
    """The reader's mentors (active pairings) and whether each may read the reader's check-ins."""
    async with request.app[DB]() as session:
        user = await current_user(request, session)
        rows = await session.execute(
            select(Pairing.mentor_id, User.display_name, Pairing.checkins_shared)
            .join(User, User.id == Pairing.mentor_id)
            .where(Pairing.mentee_id == user.id, Pairing.active.is_(True))
            .order_by(User.display_name, User.id)
        )
        mentors = [
            {"mentor_id": str(mentor), "display_name": name, "shared": shared} for mentor, name, shared in rows.all()
        ]
    return json_response({"mentors": mentors})


@routes.put("/api/me/checkin-sharing")
async def set_sharing(request: web.Request) -> web.Response:
    """A mentee lets a mentor of an active pairing read their check-ins, or stops doing so."""
    body = await read_body(request, SharingSet)
    async with request.app[DB].begin() as session:
        user = await current_user(request, session)
        pairing = await session.scalar(
            select(Pairing)
            .where(Pairing.mentee_id == user.id, Pairing.mentor_id == body.mentor_id, Pairing.active.is_(True))
            .with_for_update()
        )
        if pairing is None:
            raise not_found("pairing with this mentor")
        pairing.checkins_shared = body.shared
        audit.record(
            session,
            action="checkins.share" if body.shared else "checkins.unshare",
            actor_id=user.id,
            target_type="pairing",
            target_id=pairing.id,
            source=client_address(request),
        )
    return json_response({"mentor_id": str(body.mentor_id), "shared": body.shared})


@routes.get("/api/groups/{id}/support-requests")
async def support_requests(request: web.Request) -> web.Response:
    """The group's support requests: ``open=true`` those not yet acknowledged (any age); otherwise all in
    ``from``..``to`` (default: the last two weeks). Newest first."""
    group_id = path_id(request)
    only_open = request.query.get("open", "false")
    if only_open not in {"true", "false"}:
        raise invalid("Query parameter 'open' must be true or false.")
    limit = query_int(request, "limit", 200, 1, MAX_ROWS)
    async with request.app[DB]() as session:
        reader = await _facilitated(session, request, group_id)
        query = (
            select(SupportRequest, User.display_name)
            .join(User, User.id == SupportRequest.user_id)
            .where(SupportRequest.group_id == group_id)
            .order_by(SupportRequest.at.desc(), SupportRequest.id)
            .limit(limit)
        )
        if only_open == "true":
            query = query.where(SupportRequest.acknowledged_at.is_(None))
        else:
            start, end = _window(request)
            query = query.where(SupportRequest.at >= start, SupportRequest.at < end)
        requests = [support_view(r, name) for r, name in (await session.execute(query)).all()]
        _audit_read(session, request, reader, "support.read", "group", group_id, len(requests))
        await session.commit()
    return json_response({"support_requests": requests})
