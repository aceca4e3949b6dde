"""Attendance reports, sign-off and corrections: ``/api/sessions/{id}/attendance``, ``/api/groups/{id}/attendance``,
``/api/sessions/{id}/sign-off``, ``/api/sessions/{id}/corrections``.

Who attended a support group is as sensitive as its roster: only the group's facilitators and administrators read
it (every read audited), a participant of the group is refused, anyone else learns nothing (404). Only the group's
facilitators sign a session off; after that its record never changes, and a correction is a row of its own that
reports show beside the original.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import AfterValidator, Field

from server import attendance_store, audit
from server.appkeys import DB
from server.attendance_report import report_view, to_csv
from server.auth import require_user
from server.db.models import GroupMembership, MemberRole, Session, User, UserRole
from server.errors import conflict, invalid, not_authorized, not_found
from server.requests import client_address, json_response, path_id, read_body
from server.time_range import query_range
from server.wire import Body

routes = web.RouteTableDef()

NOTE_MAX = 1000
# A correction's figure: at most a day of minutes.
MINUTES_MAX = 24 * 60


def _note(value: str) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch).startswith("C") and ch not in "\n\t" for ch in value):
        raise ValueError("must not contain control or invisible format characters")
    return value


Note = Annotated[str, Field(max_length=NOTE_MAX), AfterValidator(_note)]


class SignOffBody(Body):
    note: Note | None = None


class CorrectionBody(Body):
    user_id: uuid.UUID
    status: Literal["present", "absent"] | None = None
    minutes_present: Annotated[int, Field(ge=0, le=MINUTES_MAX)] | None = None
    note: Note


def _wants_csv(request: web.Request) -> bool:
    chosen = request.query.get("format")
    if chosen is not None:
        if chosen not in {"json", "csv"}:
            raise invalid("Query parameter 'format' must be json or csv.")
        return chosen == "csv"
    accept = request.headers.get("Accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _csv_response(text: str, filename: str) -> web.Response:
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _staff(request: web.Request, user: User, group_id: uuid.UUID, what: str, sign: bool = False) -> None:
    """Refuse anyone but the group's facilitators and administrators (only facilitators when ``sign``).

    A stranger to the group gets ``not_found`` for ``what``: they learn nothing, not even that it exists."""
    async with request.app[DB]() as db:
        membership = await db.get(GroupMembership, (group_id, user.id))
    role = None if membership is None else membership.role
    if role == MemberRole.FACILITATOR:
        return
    if sign:
        if role is None and user.role != UserRole.ADMIN:
            raise not_found(what)
        raise not_authorized("Only the group's facilitators can sign its attendance off.")
    if user.role == UserRole.ADMIN:
        return
    if role is None:
        raise not_found(what)
    raise not_authorized("Only the group's facilitators can see its attendance.")


async def _session(request: web.Request) -> Session:
    session_id = path_id(request)
    async with request.app[DB]() as db:
        session = await attendance_store.session_by_id(db, session_id)
    if session is None:
        raise not_found("session")
    return session


@routes.get("/api/sessions/{id}/attendance")
async def session_attendance(request: web.Request) -> web.Response:
    user = await require_user(request)
    session = await _session(request)
    await _staff(request, user, session.group_id, "session")
    wants_csv = _wants_csv(request)
    async with request.app[DB].begin() as db:
        (report,) = await attendance_store.reports(db, [session], datetime.now(UTC))
        audit.record(
            db,
            action="attendance.read",
            actor_id=user.id,
            target_type="session",
            target_id=session.id,
            source=client_address(request),
            detail={"group_id": str(session.group_id), "format": "csv" if wants_csv else "json"},
        )
    view = report_view(report)
    if wants_csv:
        return _csv_response(to_csv([view]), f"attendance-{session.started_at.date().isoformat()}-{session.id}.csv")
    return json_response(view)


@routes.get("/api/groups/{id}/attendance")
async def group_attendance(request: web.Request) -> web.Response:
    """The group's held sessions that started in ``from``..``to`` (default: the last seven days)."""
    user = await require_user(request)
    group_id = path_id(request)
    await _staff(request, user, group_id, "group")
    week = timedelta(days=7)
    start, end = query_range(request, datetime.now(UTC) - week, week)
    wants_csv = _wants_csv(request)
    async with request.app[DB].begin() as db:
        group = await attendance_store.group_by_id(db, group_id)
        if group is None:
            raise not_found("group")
        sessions = await attendance_store.sessions_in(db, group_id, start, end)
        reports = await attendance_store.reports(db, sessions, datetime.now(UTC))
        audit.record(
            db,
            action="attendance.read",
            actor_id=user.id,
            target_type="group",
            target_id=group_id,
            source=client_address(request),
            detail={"sessions": len(sessions), "format": "csv" if wants_csv else "json"},
        )
    views = [report_view(r) for r in reports]
    if wants_csv:
        return _csv_response(to_csv(views), f"attendance-{start.date().isoformat()}-{group_id}.csv")
    return json_response(
        {
            "group": {"id": str(group.id), "name": group.name, "timezone": group.timezone},
            "from": start.isoformat(),
            "to": end.isoformat(),
            "sessions": views,
        }
    )


@routes.post("/api/sessions/{id}/sign-off")
async def sign_off(request: web.Request) -> web.Response:
    user = await require_user(request)
    session = await _session(request)
    await _staff(request, user, session.group_id, "session", sign=True)
    body = await read_body(request, SignOffBody)
    now = datetime.now(UTC)
    async with request.app[DB].begin() as db:
        if not await attendance_store.sign_off(db, session.id, user.id, body.note, now):
            current = await attendance_store.session_by_id(db, session.id)
            if current is not None and current.ended_at is None:
                raise conflict("The session is still open: end it before signing its attendance off.")
            raise conflict("This session's attendance is already signed off.")
        audit.record(
            db,
            action="attendance.sign_off",
            actor_id=user.id,
            target_type="session",
            target_id=session.id,
            source=client_address(request),
            detail={"group_id": str(session.group_id), "with_note": body.note is not None},
        )
    async with request.app[DB]() as db:
        signed = await attendance_store.session_by_id(db, session.id)
        assert signed is not None
        (report,) = await attendance_store.reports(db, [signed], now)
    return json_response(report_view(report))


@routes.post("/api/sessions/{id}/corrections")
async def correct(request: web.Request) -> web.Response:
    """A correction of one member's figures, kept beside the original (which never changes)."""
    user = await require_user(request)
    session = await _session(request)
    await _staff(request, user, session.group_id, "session")
    body = await read_body(request, CorrectionBody)
    if body.status == "absent" and body.minutes_present:
        raise invalid("An absent member cannot have minutes present.")
    if session.ended_at is None:
        raise conflict("The session is still open: correct its attendance once it has ended.")
    async with request.app[DB].begin() as db:
        if not await attendance_store.in_report(db, session, body.user_id):
            raise not_found("member of this session")
        correction = await attendance_store.add_correction(
            db, session.id, body.user_id, body.status, body.minutes_present, body.note, user.id, datetime.now(UTC)
        )
        audit.record(
            db,
            action="attendance.correct",
            actor_id=user.id,
            target_type="session",
            target_id=session.id,
            source=client_address(request),
            detail={
                "group_id": str(session.group_id),
                "user_id": str(body.user_id),
                "correction_id": correction.id,
                "fields": sorted(f for f in ("status", "minutes_present") if f in body.model_fields_set),
            },
        )
    async with request.app[DB]() as db:
        (report,) = await attendance_store.reports(db, [session], datetime.now(UTC))
    return json_response(report_view(report), status=201)
