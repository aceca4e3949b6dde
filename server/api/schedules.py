"""A group's schedule and its sessions: weekly series, cancelled dates, one-off sessions, and the session list.

Admins and the group's facilitators change a schedule; every member reads it (and the session list); someone
outside the group learns nothing, not even that it exists. Every change is audited with ids (and dates) only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit, schedule, schedule_overlap, schedule_store
from server.appkeys import DB
from server.auth import require_user
from server.db.models import (
    ExtraSession,
    Group,
    GroupMembership,
    MemberRole,
    Schedule,
    ScheduleCancellation,
    User,
    UserRole,
)
from server.errors import ApiError, ErrorCode, conflict, invalid, not_authorized, not_found
from server.requests import client_address, json_response, path_id, read_body
from server.schedule import Listed, OneOff, Series
from server.schedule_overlap import SERIES_REACH, Clash
from server.time_range import query_range
from server.wire import FIRST_DATE, LAST_DATE, CancellationCreate, ExtraSessionCreate, ScheduleCreate, ScheduleUpdate

routes = web.RouteTableDef()

# Without ``from``/``to`` a session list covers the next two weeks.
DEFAULT_LENGTH = timedelta(days=14)


def schedule_view(row: Schedule, cancelled: list[date], timezone: str) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "group_id": str(row.group_id),
        "weekdays": sorted(schedule.parse_weekdays(row.weekdays)),
        "start_time": row.start_time.isoformat(timespec="minutes"),
        "duration_minutes": row.duration_minutes,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": None if row.ends_on is None else row.ends_on.isoformat(),
        "timezone": timezone,
        "cancelled_dates": [day.isoformat() for day in sorted(cancelled)],
        "created_at": row.created_at.isoformat(),
    }


def extra_session_view(row: ExtraSession) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "group_id": str(row.group_id),
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
    }


def session_view(listed: Listed) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": str(listed.id),
        "group_id": str(listed.group_id),
        "starts_at": listed.starts_at.isoformat(),
        "ends_at": moment(listed.ends_at),
        "status": listed.status,
        "scheduled": listed.scheduled,
        "schedule_id": None if listed.schedule_id is None else str(listed.schedule_id),
        "started_at": moment(listed.started_at),
        "ended_at": moment(listed.ended_at),
        "signed_off": listed.signed_off,
    }


async def _group(session: AsyncSession, user: User, group_id: uuid.UUID, *, manage: bool) -> Group:
    """The group, if ``user`` may read its schedule (``manage``: change it)."""
    group = await session.get(Group, group_id)
    if user.role != UserRole.ADMIN:
        membership = await session.get(GroupMembership, (group_id, user.id))
        if group is None or membership is None:
            raise not_found("group")
        if manage and membership.role != MemberRole.FACILITATOR:
            raise not_authorized("Only the group's facilitators and administrators can change its schedule.")
    if group is None:
        raise not_found("group")
    return group


async def _series(session: AsyncSession, group_id: uuid.UUID, schedule_id: uuid.UUID) -> Schedule:
    row = await session.get(Schedule, schedule_id)
    if row is None or row.group_id != group_id:
        raise not_found("schedule")
    return row


async def _cancelled(session: AsyncSession, schedule_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[date]]:
    found: dict[uuid.UUID, list[date]] = {schedule_id: [] for schedule_id in schedule_ids}
    if schedule_ids:
        rows = await session.execute(
            select(ScheduleCancellation.schedule_id, ScheduleCancellation.on_date).where(
                ScheduleCancellation.schedule_id.in_(schedule_ids)
            )
        )
        for schedule_id, on_date in rows:
            found[schedule_id].append(on_date)
    return found


def _check_dates(starts_on: date, ends_on: date | None) -> None:
    # A change may leave a date as it was: one stored before dates were bounded must be moved into range with it.
    for name, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            raise invalid(f"Invalid field '{name}': must be from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}.")
    if ends_on is not None and ends_on < starts_on:
        raise invalid("'ends_on' must not be before 'starts_on'.")


def _refuse_overlap(clash: Clash | None, timezone: str, what: str) -> None:
    """409 naming what ``what`` would overlap and when the overlap first begins (in the group's zone)."""
    if clash is None:
        return
    other = f"series {clash.schedule_id}" if clash.schedule_id is not None else f"one-off {clash.extra_session_id}"
    local = clash.at.astimezone(schedule.zone(timezone))
    raise conflict(
        f"{what} would overlap {other} on {local.date().isoformat()} at {local.strftime('%H:%M')} ({timezone}); "
        "only one session of a group can be held at a time."
    )


async def _series_clash(session: AsyncSession, group: Group, candidate: Series) -> Clash | None:
    """Whether ``candidate`` overlaps the group's other series or a one-off near its dates (two or three reads)."""
    connection = await session.connection()
    series = await schedule_store.series_of(connection, group.id)
    start = datetime.combine(candidate.starts_on, datetime.min.time(), UTC) - SERIES_REACH
    end = None if candidate.ends_on is None else datetime.combine(candidate.ends_on, datetime.min.time(), UTC)
    one_offs = await schedule_store.one_offs_of(
        connection, group.id, start, None if end is None else end + SERIES_REACH
    )
    return schedule_overlap.series_clash(candidate, series, one_offs, schedule.zone(group.timezone))


def _audit(request: web.Request, session: AsyncSession, user: User, action: str, target: Any, **detail: Any) -> None:
    target_type = "extra_session" if action.startswith("extra_session.") else "schedule"
    audit.record(
        session,
        action=action,
        actor_id=user.id,
        target_type=target_type,
        target_id=target,
        source=client_address(request),
        detail=detail,
    )


@routes.get("/api/groups/{id}/schedules")
async def list_schedules(request: web.Request) -> web.Response:
    """The group's weekly series (with cancelled dates) and one-off sessions."""
    user = await require_user(request)
    group_id = path_id(request)
    async with request.app[DB]() as session:
        group = await _group(session, user, group_id, manage=False)
        rows = list(
            await session.scalars(
                select(Schedule).where(Schedule.group_id == group_id).order_by(Schedule.created_at, Schedule.id)
            )
        )
        cancelled = await _cancelled(session, [row.id for row in rows])
        extras = await session.scalars(
            select(ExtraSession).where(ExtraSession.group_id == group_id).order_by(ExtraSession.starts_at)
        )
        return json_response(
            {
                "timezone": group.timezone,
                "schedules": [schedule_view(row, cancelled[row.id], group.timezone) for row in rows],
                "extra_sessions": [extra_session_view(row) for row in extras],
            }
        )


@routes.post("/api/groups/{id}/schedules")
async def create_schedule(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    body = await read_body(request, ScheduleCreate)
    _check_dates(body.starts_on, body.ends_on)
    async with request.app[DB].begin() as session:
        group = await _group(session, user, group_id, manage=True)
        candidate = Series(
            id=uuid.uuid4(),
            group_id=group_id,
            weekdays=frozenset(body.weekdays),
            start_time=body.start_time,
            duration_minutes=body.duration_minutes,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
        )
        _refuse_overlap(await _series_clash(session, group, candidate), group.timezone, "The series")
        row = Schedule(
            id=candidate.id,
            group_id=group_id,
            weekdays=schedule.format_weekdays(body.weekdays),
            start_time=body.start_time,
            duration_minutes=body.duration_minutes,
            starts_on=body.starts_on,
            ends_on=body.ends_on,
            created_by=user.id,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        _audit(request, session, user, "schedule.create", row.id, group_id=str(group_id))
    return json_response(schedule_view(row, [], group.timezone), status=201)


@routes.patch("/api/groups/{id}/schedules/{schedule_id}")
async def update_schedule(request: web.Request) -> web.Response:
    """Change a series; its dates keep their session ids (so held sessions stay matched to them)."""
    user = await require_user(request)
    group_id = path_id(request)
    schedule_id = path_id(request, "schedule_id")
    body = await read_body(request, ScheduleUpdate)
    changed = sorted(body.model_fields_set)
    if not changed:
        raise invalid("Name at least one field to change.")
    for name in changed:
        if name != "ends_on" and getattr(body, name) is None:
            raise invalid(f"'{name}' cannot be null.")
    async with request.app[DB].begin() as session:
        group = await _group(session, user, group_id, manage=True)
        row = await _series(session, group_id, schedule_id)
        starts_on = body.starts_on or row.starts_on
        ends_on = body.ends_on if "ends_on" in body.model_fields_set else row.ends_on
        _check_dates(starts_on, ends_on)
        # The series as the change leaves it, checked against the others (itself excluded) before anything changes.
        candidate = Series(
            id=row.id,
            group_id=group_id,
            weekdays=frozenset(body.weekdays) if body.weekdays is not None else schedule.parse_weekdays(row.weekdays),
            start_time=row.start_time if body.start_time is None else body.start_time,
            duration_minutes=row.duration_minutes if body.duration_minutes is None else body.duration_minutes,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        _refuse_overlap(await _series_clash(session, group, candidate), group.timezone, "The series")
        row.weekdays = schedule.format_weekdays(candidate.weekdays)
        row.start_time = candidate.start_time
        row.duration_minutes = candidate.duration_minutes
        row.starts_on, row.ends_on = starts_on, ends_on
        _audit(request, session, user, "schedule.update", row.id, group_id=str(group_id), fields=changed)
        cancelled = await _cancelled(session, [row.id])
    return json_response(schedule_view(row, cancelled[row.id], group.timezone))


@routes.delete("/api/groups/{id}/schedules/{schedule_id}")
async def delete_schedule(request: web.Request) -> web.Response:
    """End a series and forget its future dates; sessions already held stay listed."""
    user = await require_user(request)
    group_id = path_id(request)
    schedule_id = path_id(request, "schedule_id")
    async with request.app[DB].begin() as session:
        await _group(session, user, group_id, manage=True)
        row = await _series(session, group_id, schedule_id)
        await session.delete(row)
        _audit(request, session, user, "schedule.delete", schedule_id, group_id=str(group_id))
    return web.Response(status=204)


@routes.post("/api/groups/{id}/schedules/{schedule_id}/cancellations")
async def cancel_date(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    schedule_id = path_id(request, "schedule_id")
    body = await read_body(request, CancellationCreate)
    async with request.app[DB].begin() as session:
        await _group(session, user, group_id, manage=True)
        row = await _series(session, group_id, schedule_id)
        series = schedule.Series(
            id=row.id,
            group_id=group_id,
            weekdays=schedule.parse_weekdays(row.weekdays),
            start_time=row.start_time,
            duration_minutes=row.duration_minutes,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
        )
        if not series.falls_on(body.date):
            raise invalid(f"{body.date.isoformat()} is not one of this series' dates.")
        if await session.get(ScheduleCancellation, (schedule_id, body.date)) is not None:
            raise conflict("That date is already cancelled.")
        session.add(
            ScheduleCancellation(
                schedule_id=schedule_id, on_date=body.date, cancelled_by=user.id, created_at=datetime.now(UTC)
            )
        )
        _audit(
            request, session, user, "schedule.cancel", schedule_id, group_id=str(group_id), date=body.date.isoformat()
        )
    return json_response(
        {
            "schedule_id": str(schedule_id),
            "date": body.date.isoformat(),
            "session_id": str(schedule.occurrence_id(schedule_id, body.date)),
        },
        status=201,
    )


@routes.delete("/api/groups/{id}/schedules/{schedule_id}/cancellations/{date}")
async def restore_date(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    schedule_id = path_id(request, "schedule_id")
    try:
        on_date = date.fromisoformat(request.match_info["date"])
    except ValueError:
        raise ApiError(ErrorCode.NOT_FOUND, "No such resource.") from None
    async with request.app[DB].begin() as session:
        await _group(session, user, group_id, manage=True)
        await _series(session, group_id, schedule_id)
        cancellation = await session.get(ScheduleCancellation, (schedule_id, on_date))
        if cancellation is None:
            raise not_found("cancellation")
        await session.delete(cancellation)
        _audit(
            request, session, user, "schedule.restore", schedule_id, group_id=str(group_id), date=on_date.isoformat()
        )
    return web.Response(status=204)


@routes.post("/api/groups/{id}/extra-sessions")
async def create_extra_session(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    body = await read_body(request, ExtraSessionCreate)
    starts_at, ends_at = body.starts_at.astimezone(UTC), body.ends_at.astimezone(UTC)
    if ends_at <= starts_at:
        raise invalid("'ends_at' must be later than 'starts_at'.")
    if not schedule.MIN_DURATION <= ends_at - starts_at <= schedule.MAX_DURATION:
        raise invalid("A session lasts from 5 minutes to 12 hours.")
    async with request.app[DB].begin() as session:
        group = await _group(session, user, group_id, manage=True)
        candidate = OneOff(uuid.uuid4(), group_id, starts_at, ends_at)
        connection = await session.connection()
        series = await schedule_store.series_of(connection, group_id)
        one_offs = await schedule_store.one_offs_of(connection, group_id, starts_at, ends_at)
        clash = schedule_overlap.one_off_clash(candidate, series, one_offs, schedule.zone(group.timezone))
        _refuse_overlap(clash, group.timezone, "The one-off session")
        row = ExtraSession(
            id=candidate.id,
            group_id=group_id,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=user.id,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        _audit(request, session, user, "extra_session.create", row.id, group_id=str(group_id))
    return json_response(extra_session_view(row), status=201)


@routes.delete("/api/groups/{id}/extra-sessions/{extra_id}")
async def delete_extra_session(request: web.Request) -> web.Response:
    user = await require_user(request)
    group_id = path_id(request)
    extra_id = path_id(request, "extra_id")
    async with request.app[DB].begin() as session:
        await _group(session, user, group_id, manage=True)
        row = await session.get(ExtraSession, extra_id)
        if row is None or row.group_id != group_id:
            raise not_found("extra session")
        await session.delete(row)
        _audit(request, session, user, "extra_session.delete", extra_id, group_id=str(group_id))
    return web.Response(status=204)


@routes.get("/api/groups/{id}/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    """The group's sessions from ``from`` to ``to`` (default: now and the next 14 days), dated and held."""
    user = await require_user(request)
    group_id = path_id(request)
    start, end = query_range(request, datetime.now(UTC), DEFAULT_LENGTH)
    async with request.app[DB]() as session:
        await _group(session, user, group_id, manage=False)
        connection = await session.connection()
        listed = await schedule_store.session_listing(connection, group_id, start, end)
    return json_response({"sessions": [session_view(item) for item in listed]})


@routes.get("/api/me/sessions")
async def my_sessions(request: web.Request) -> web.Response:
    """The sessions of every group I belong to (not archived), each with its group's name: what the home page
    shows as "next session" and "live now" (status ``open``)."""
    user = await require_user(request)
    start, end = query_range(request, datetime.now(UTC), DEFAULT_LENGTH)
    async with request.app[DB]() as session:
        groups = (
            await session.execute(
                select(Group.id, Group.name)
                .join(GroupMembership, GroupMembership.group_id == Group.id)
                .where(GroupMembership.user_id == user.id, Group.archived_at.is_(None))
            )
        ).all()
        connection = await session.connection()
        found = []
        for group_id, name in groups:
            for item in await schedule_store.session_listing(connection, group_id, start, end):
                found.append((item, name))
    found.sort(key=lambda pair: (pair[0].starts_at, str(pair[0].id)))
    return json_response({"sessions": [{**session_view(item), "group_name": name} for item, name in found]})
