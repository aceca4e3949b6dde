"""A group's schedule read from the database, as the room, attendance and the session list need it.

Each function reads on the connection it is given (so a caller may read inside its own transaction) and returns
``server.schedule`` values; the rules themselves are there, pure.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server import schedule
from server.db.models import ExtraSession, Group, Schedule, ScheduleCancellation, Session
from server.schedule import Held, Listed, Occurrence, OneOff, Series

# How long before a session's start a facilitator opening the room holds that session.
OPENING_EARLY = timedelta(minutes=60)
# How far from ``near`` an occurrence id is looked for among a series' dates.
_NEAR = timedelta(days=2)


async def group_zone(connection: AsyncConnection, group_id: uuid.UUID) -> ZoneInfo | None:
    """The group's time zone; None when there is no such group."""
    name = await connection.scalar(select(Group.timezone).where(Group.id == group_id))
    return None if name is None else schedule.zone(name)


async def series_of(connection: AsyncConnection, group_id: uuid.UUID) -> list[Series]:
    """The group's weekly series with their cancelled dates."""
    rows = (await connection.execute(select(Schedule).where(Schedule.group_id == group_id))).all()
    if not rows:
        return []
    cancelled: dict[uuid.UUID, set[date]] = {row.id: set() for row in rows}
    for schedule_id, on_date in await connection.execute(
        select(ScheduleCancellation.schedule_id, ScheduleCancellation.on_date).where(
            ScheduleCancellation.schedule_id.in_(list(cancelled))
        )
    ):
        cancelled[schedule_id].add(on_date)
    return [
        Series(
            id=row.id,
            group_id=row.group_id,
            weekdays=schedule.parse_weekdays(row.weekdays),
            start_time=row.start_time,
            duration_minutes=row.duration_minutes,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            cancelled=frozenset(cancelled[row.id]),
        )
        for row in rows
    ]


async def one_offs_of(
    connection: AsyncConnection, group_id: uuid.UUID, start: datetime | None = None, end: datetime | None = None
) -> list[OneOff]:
    """The group's one-off sessions that end after ``start`` and begin before ``end`` (all when not given)."""
    query = select(ExtraSession.id, ExtraSession.group_id, ExtraSession.starts_at, ExtraSession.ends_at).where(
        ExtraSession.group_id == group_id
    )
    if start is not None:
        query = query.where(ExtraSession.ends_at > start)
    if end is not None:
        query = query.where(ExtraSession.starts_at < end)
    return [OneOff(*row) for row in await connection.execute(query)]


async def occurrences(
    connection: AsyncConnection, group_id: uuid.UUID, start: datetime, end: datetime
) -> list[Occurrence]:
    """The group's dated sessions overlapping ``[start, end)``, cancelled ones included (flagged), by start."""
    tz = await group_zone(connection, group_id)
    if tz is None:
        return []
    series = await series_of(connection, group_id)
    return schedule.occurrences(series, await one_offs_of(connection, group_id, start, end), tz, start, end)


async def occurrence_for_opening(connection: AsyncConnection, group_id: uuid.UUID, at: datetime) -> Occurrence | None:
    """The dated session a facilitator opening the room at ``at`` holds: the earliest one not cancelled with
    ``starts_at - 60 min <= at < ends_at``; None when the room is opened outside the schedule."""
    tz = await group_zone(connection, group_id)
    if tz is None:
        return None
    series = await series_of(connection, group_id)
    one_offs = await one_offs_of(connection, group_id, at, at + OPENING_EARLY + timedelta(microseconds=1))
    return schedule.for_opening(series, one_offs, tz, at, OPENING_EARLY)


async def participant_gate(
    connection: AsyncConnection, group_id: uuid.UUID, at: datetime, opens_minutes: int
) -> datetime | None:
    """None when participants may come in at ``at`` (a session not cancelled starts within ``opens_minutes`` or
    is under way, or the group has nothing scheduled at all); otherwise when the room next opens to them,
    ``datetime.max`` (UTC) when nothing is ahead.

    Whether a session is already open in the room is the caller's to know: then anyone enrolled may come.
    """
    tz = await group_zone(connection, group_id)
    if tz is None:
        return None
    series = await series_of(connection, group_id)
    one_offs = await one_offs_of(connection, group_id, at)
    if not series and not one_offs:
        anything = await connection.scalar(select(exists().where(ExtraSession.group_id == group_id)))
        if not anything:
            return None
    return schedule.next_opening(series, one_offs, tz, at, timedelta(minutes=opens_minutes))


async def occurrence_by_id(
    connection: AsyncConnection, group_id: uuid.UUID, occurrence_id: uuid.UUID, near: datetime
) -> Occurrence | None:
    """The group's dated session with id ``occurrence_id`` (a one-off's, or a series date within two days of
    ``near``), cancelled or not; None when the id is no dated session's."""
    extra = (
        await connection.execute(
            select(ExtraSession.id, ExtraSession.group_id, ExtraSession.starts_at, ExtraSession.ends_at).where(
                ExtraSession.id == occurrence_id, ExtraSession.group_id == group_id
            )
        )
    ).first()
    if extra is not None:
        return schedule.one_off(OneOff(*extra))
    tz = await group_zone(connection, group_id)
    if tz is None:
        return None
    for series in await series_of(connection, group_id):
        for occurrence in schedule.expand(series, tz, near - _NEAR, near + _NEAR):
            if occurrence.id == occurrence_id:
                return occurrence
    return None


async def session_listing(
    connection: AsyncConnection, group_id: uuid.UUID, start: datetime, end: datetime
) -> list[Listed]:
    """The group's sessions in ``[start, end)``: dated ones and held ones merged (``schedule.listing``)."""
    dated = await occurrences(connection, group_id, start, end)
    ids = [o.id for o in dated]
    in_range = and_(
        Session.started_at < end,
        or_(Session.ended_at.is_(None), Session.ended_at > start),
    )
    kept_times = and_(Session.scheduled_start < end, Session.scheduled_end > start)
    rows = await connection.execute(
        select(
            Session.id,
            Session.group_id,
            Session.started_at,
            Session.ended_at,
            Session.scheduled_start,
            Session.scheduled_end,
            Session.signed_off_at.is_not(None),
        ).where(Session.group_id == group_id, or_(Session.id.in_(ids), in_range, kept_times))
    )
    return schedule.listing(dated, [Held(*row[:6], signed_off=bool(row[6])) for row in rows], start, end)
