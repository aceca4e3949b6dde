"""Reading and writing what attendance reports are made of: sessions, stays, marks, enrolment, sign-off, corrections.

Every report is computed from the rows as they are (``server.attendance``); a signed-off session's rows cannot
change any more (the database refuses it), so its report stays what was signed. Corrections are rows of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server import attendance
from server.db.models import Attendance, AttendanceCorrection, Group, GroupMembership, MediaMark, Session, User


@dataclass(frozen=True, slots=True)
class Correction:
    id: int
    user_id: str
    status: str | None
    minutes_present: int | None
    note: str
    corrected_by: str | None
    corrected_at: datetime


@dataclass(frozen=True, slots=True)
class SessionAttendance:
    """One session's report: the computed members, the corrections beside them, and the names to show."""

    session: Session
    group_name: str
    members: list[attendance.MemberAttendance]
    corrections: list[Correction]
    names: dict[str, str]


async def session_by_id(db: AsyncSession, session_id: uuid.UUID) -> Session | None:
    return await db.get(Session, session_id)


async def group_by_id(db: AsyncSession, group_id: uuid.UUID) -> Group | None:
    return await db.get(Group, group_id)


async def sessions_in(db: AsyncSession, group_id: uuid.UUID, start: datetime, end: datetime) -> list[Session]:
    """The group's held sessions that started in [start, end), in order."""
    rows = await db.scalars(
        select(Session)
        .where(Session.group_id == group_id, Session.started_at >= start, Session.started_at < end)
        .order_by(Session.started_at, Session.id)
    )
    return list(rows)


def _id(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


async def reports(db: AsyncSession, sessions: Sequence[Session], now: datetime) -> list[SessionAttendance]:
    """The reports of ``sessions`` (of one group), read in a fixed number of queries whatever their count."""
    if not sessions:
        return []
    ids = [s.id for s in sessions]
    group_id = sessions[0].group_id
    group_name = await db.scalar(select(Group.name).where(Group.id == group_id)) or ""
    stays: dict[uuid.UUID, list[attendance.Stay]] = {i: [] for i in ids}
    for row in await db.scalars(select(Attendance).where(Attendance.session_id.in_(ids))):
        stays[row.session_id].append(
            attendance.Stay(
                str(row.user_id),
                row.role,
                row.joined_at,
                row.left_at,
                row.leave_reason,
                _id(row.admitted_by),
                row.waited_since,
            )
        )
    marks: dict[uuid.UUID, list[attendance.Mark]] = {i: [] for i in ids}
    mark_rows = await db.execute(
        select(MediaMark.session_id, MediaMark.user_id, MediaMark.at, MediaMark.video, MediaMark.connected)
        .where(MediaMark.session_id.in_(ids))
        .order_by(MediaMark.at, MediaMark.id)
    )
    for session_id, user_id, at, video, connected in mark_rows.all():
        marks[session_id].append(attendance.Mark(str(user_id), at, video, connected))
    corrections: dict[uuid.UUID, list[Correction]] = {i: [] for i in ids}
    for c in await db.scalars(
        select(AttendanceCorrection)
        .where(AttendanceCorrection.session_id.in_(ids))
        .order_by(AttendanceCorrection.corrected_at, AttendanceCorrection.id)
    ):
        corrections[c.session_id].append(
            Correction(c.id, str(c.user_id), c.status, c.minutes_present, c.note, _id(c.corrected_by), c.corrected_at)
        )
    memberships = (
        await db.execute(
            select(GroupMembership.user_id, GroupMembership.role, GroupMembership.created_at).where(
                GroupMembership.group_id == group_id
            )
        )
    ).all()
    people: set[uuid.UUID] = {user_id for user_id, _, _ in memberships}
    for session in sessions:
        people.update(uuid.UUID(i) for i in _named(session, stays[session.id], corrections[session.id]))
    names = {
        str(user_id): name
        for user_id, name in (await db.execute(select(User.id, User.display_name).where(User.id.in_(people)))).all()
    }
    result = []
    for session in sessions:
        times = attendance.SessionTimes(
            session.started_at, session.ended_at, session.scheduled_start, session.scheduled_end
        )
        enrolled = _enrolled(session, memberships, now)
        members = attendance.report(times, stays[session.id], marks[session.id], enrolled, now)
        result.append(SessionAttendance(session, group_name, members, corrections[session.id], names))
    return result


def _enrolled(session: Session, memberships: Sequence[Any], now: datetime) -> list[attendance.Enrolled]:
    """Who was expected at the session: the roster kept at sign-off; before that, the members enrolled by its end
    (someone added to the group later was never expected there)."""
    if session.signed_roster is not None:
        return [attendance.Enrolled(entry["user_id"], entry["role"]) for entry in session.signed_roster]
    until = session.ended_at or now
    return [attendance.Enrolled(str(u), role) for u, role, since in memberships if since <= until]


def _named(session: Session, stays: list[attendance.Stay], corrections: list[Correction]) -> set[str]:
    """Everyone a session's report names: members, who admitted them, who opened, ended, signed and corrected."""
    named = {s.user_id for s in stays} | {s.admitted_by for s in stays if s.admitted_by}
    named |= {c.user_id for c in corrections} | {c.corrected_by for c in corrections if c.corrected_by}
    for who in (session.opened_by, session.ended_by, session.signed_off_by):
        if who is not None:
            named.add(str(who))
    return named


async def sign_off(db: AsyncSession, session_id: uuid.UUID, by: uuid.UUID, note: str | None, at: datetime) -> bool:
    """Sign an ended, unsigned session off; False when it was already signed or is still open (nothing changes).

    A single conditional update: of two sign-offs at once, exactly one matches. The roster enrolled by the
    session's end is kept with it, so the absent list stays what was signed."""
    ended = select(Session.ended_at).where(Session.id == session_id).scalar_subquery()
    rows = await db.execute(
        select(GroupMembership.user_id, GroupMembership.role)
        .join(Session, Session.group_id == GroupMembership.group_id)
        .where(Session.id == session_id, GroupMembership.created_at <= ended)
        .order_by(GroupMembership.user_id)
    )
    roster = [{"user_id": str(user_id), "role": role} for user_id, role in rows.all()]
    result = await db.execute(
        update(Session)
        .where(Session.id == session_id, Session.signed_off_at.is_(None), Session.ended_at.is_not(None))
        .values(signed_off_at=at, signed_off_by=by, sign_off_note=note, signed_roster=roster)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def add_correction(
    db: AsyncSession,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    status: str | None,
    minutes_present: int | None,
    note: str,
    by: uuid.UUID,
    at: datetime,
) -> AttendanceCorrection:
    correction = AttendanceCorrection(
        session_id=session_id,
        user_id=user_id,
        status=status,
        minutes_present=minutes_present,
        note=note,
        corrected_by=by,
        corrected_at=at,
    )
    db.add(correction)
    await db.flush()
    return correction


async def in_report(db: AsyncSession, session: Session, user_id: uuid.UUID) -> bool:
    """Whether the person has a place in the session's report: they stayed in it, or were enrolled (absent)."""
    stayed = await db.scalar(
        select(Attendance.id).where(Attendance.session_id == session.id, Attendance.user_id == user_id).limit(1)
    )
    if stayed is not None:
        return True
    # Absent members as the report lists them: the roster kept at sign-off, else those enrolled by the session's end.
    memberships = (
        await db.execute(
            select(GroupMembership.user_id, GroupMembership.role, GroupMembership.created_at).where(
                GroupMembership.group_id == session.group_id, GroupMembership.user_id == user_id
            )
        )
    ).all()
    return any(e.user_id == str(user_id) for e in _enrolled(session, memberships, datetime.now(UTC)))
