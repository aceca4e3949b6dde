"""The durable side of group rooms: a session row per meeting, attendance per stay, camera and connection marks
behind the attendance report, audit of moderation."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Select, Uuid, exists, func, insert, literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from rooms.events import Event, MemberJoined, MemberLeft, MemberResumed, MemberUpdated, SessionClosed, SessionOpened
from rooms.model import Member, Room
from server import audit, schedule_store
from server.db.models import Attendance, AuditEntry, MediaMark, Session, UTCDateTime
from signaling.seams import AuditNote

log = logging.getLogger(__name__)

# A camera and connection mark's row, as a SELECT of literals: session, user, at, video, connected.
MarkRow = Select[uuid.UUID, uuid.UUID, datetime, bool, bool]

DURABLE = SessionOpened | SessionClosed | MemberJoined | MemberLeft | MemberResumed


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _mark(session_id: uuid.UUID, user_id: str, at: float, video: bool, connected: bool) -> MarkRow:
    return select(
        literal(session_id, Uuid()).label("session_id"),
        literal(uuid.UUID(user_id), Uuid()).label("user_id"),
        literal(_at(at), UTCDateTime()).label("at"),
        literal(video, Boolean()).label("video"),
        literal(connected, Boolean()).label("connected"),
    )


def _member_mark(session_id: uuid.UUID, member: Member, at: float) -> MarkRow:
    # A camera counts only while its owner is connected: a dropped member's flags say what they had, not what shows.
    return _mark(session_id, member.user_id, at, member.video, member.connected)


class DatabaseRoomRecords:
    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db
        bind = db.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        # Rows are written with SQL expressions on a connection, not through an ORM session: a join's records
        # are on every join's path.
        self.engine = bind

    async def _open_session(self, connection: AsyncConnection, group_id: uuid.UUID) -> uuid.UUID | None:
        return await connection.scalar(
            select(Session.id)
            .where(Session.group_id == group_id, Session.ended_at.is_(None))
            .order_by(Session.started_at.desc())
            .limit(1)
        )

    async def _ensure_session(
        self, connection: AsyncConnection, session_id: uuid.UUID, group: uuid.UUID, at: float, opened_by: str | None
    ) -> None:
        """The session's row, written by whichever of its first changes commits first: joins that overlap the one
        that opened the room must not find it missing (their attendance would be lost). The opener's own record
        fills in who opened it and the scheduled times.

        A session opened again within its scheduled occurrence is the same row: it is open again (``ended_at`` back
        to NULL) and keeps when it first started. A join's record re-opens it as well when the row's end is older
        than the room's opening (``at``): the re-opening's own record may commit after it. A signed-off row is
        never touched (the database refuses it anyway; here the records of the change still commit).
        """
        insert_ = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        statement = insert_(Session).values(id=session_id, group_id=group, started_at=_at(at), opened_by=None)
        unsigned = Session.signed_off_at.is_(None)
        if opened_by is None:
            statement = statement.on_conflict_do_update(
                index_elements=["id"],
                set_={"ended_at": None, "ended_by": None},
                where=unsigned & (Session.ended_at < statement.excluded.started_at),
            )
        else:
            opener = uuid.UUID(opened_by)
            start, end = await self._scheduled(connection, group, session_id, at)
            statement = statement.values(opened_by=opener, scheduled_start=start, scheduled_end=end)
            statement = statement.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "opened_by": func.coalesce(Session.opened_by, statement.excluded.opened_by),
                    "ended_at": None,
                    "ended_by": None,
                    "scheduled_start": func.coalesce(statement.excluded.scheduled_start, Session.scheduled_start),
                    "scheduled_end": func.coalesce(statement.excluded.scheduled_end, Session.scheduled_end),
                },
                where=unsigned,
            )
        await connection.execute(statement)

    async def _scheduled(
        self, connection: AsyncConnection, group: uuid.UUID, session_id: uuid.UUID, at: float
    ) -> tuple[datetime | None, datetime | None]:
        """The scheduled times of the occurrence whose id the session has (None, None: opened outside a schedule).

        Read in a savepoint, only when a session opens: should the lookup fail, the room's records still commit."""
        try:
            async with connection.begin_nested():
                occurrence = await schedule_store.occurrence_by_id(connection, group, session_id, _at(at))
        except Exception:
            log.exception("reading a session's occurrence failed", extra={"session_id": str(session_id)})
            return None, None
        if occurrence is None:
            return None, None
        return occurrence.starts_at, occurrence.ends_at

    async def _write_marks(self, connection: AsyncConnection, marks: list[MarkRow]) -> None:
        """Camera and connection marks, in one statement, only into a session that is still open."""
        if not marks:
            return
        rows = (marks[0] if len(marks) == 1 else union_all(*marks)).subquery()
        columns = ["session_id", "user_id", "at", "video", "connected"]
        still_open = exists().where(Session.id == rows.c.session_id, Session.ended_at.is_(None))
        chosen = select(*(rows.c[name] for name in columns)).where(still_open)
        await connection.execute(insert(MediaMark).from_select(columns, chosen))
        marks.clear()

    async def record(
        self, group_id: str, events: list[Event], audit: AuditNote | None = None, room: Room | None = None
    ) -> None:
        # A raised hand or a microphone changes nothing attendance keeps: no transaction for it.
        durable = any(isinstance(e, DURABLE) or (isinstance(e, MemberUpdated) and e.recorded) for e in events)
        if not durable and audit is None:
            return
        group = uuid.UUID(group_id)
        async with self.engine.begin() as connection:
            if audit is not None:
                await _write_audit(connection, group_id, audit)
            if not durable:
                return
            if room is not None and room.session_id is not None:
                # The room says which session it is in: no need to look, and no race with the one opening it.
                current: uuid.UUID | None = uuid.UUID(room.session_id)
                if not any(isinstance(e, SessionOpened) for e in events) and any(
                    isinstance(e, MemberJoined) for e in events
                ):
                    assert current is not None
                    await self._ensure_session(connection, current, group, room.opened_at or time.time(), None)
            else:
                current = await self._open_session(connection, group)
            marks: list[MarkRow] = []
            for event in events:
                match event:
                    case SessionOpened(session_id=session_id, opened_by=opened_by, at=at):
                        current = uuid.UUID(session_id)
                        await self._ensure_session(connection, current, group, at, opened_by)
                    case SessionClosed(session_id=session_id, ended_by=ended_by, at=at):
                        closed = uuid.UUID(session_id)
                        await self._write_marks(connection, marks)
                        # Its row, should the records of its opening never have been written.
                        await self._ensure_session(connection, closed, group, at, None)
                        await self._close_marks(connection, closed, at)
                        # Records of one room's changes may commit out of order (nodes, tasks): a close whose records
                        # come after those of a re-opening must not end the re-opened session or its newer stays.
                        reopened = exists().where(Attendance.session_id == closed, Attendance.joined_at > _at(at))
                        await connection.execute(
                            update(Session)
                            .where(Session.id == closed, ~reopened)
                            .values(ended_at=_at(at), ended_by=None if ended_by is None else uuid.UUID(ended_by))
                        )
                        await connection.execute(
                            update(Attendance)
                            .where(
                                Attendance.session_id == closed,
                                Attendance.left_at.is_(None),
                                Attendance.joined_at <= _at(at),
                            )
                            .values(left_at=_at(at), leave_reason="ended")
                        )
                        current = None
                    case MemberJoined(member=member, admitted_by=admitted_by, waited_since=waited_since) if (
                        current is not None
                    ):
                        # Only into a session still open: an end whose records committed first stays the end.
                        stay = select(
                            literal(current, Uuid()),
                            literal(uuid.UUID(member.user_id), Uuid()),
                            literal(member.role.value),
                            literal(_at(member.joined_at), UTCDateTime()),
                            literal(None if admitted_by is None else uuid.UUID(admitted_by), Uuid()),
                            literal(None if waited_since is None else _at(waited_since), UTCDateTime()),
                        ).where(exists().where(Session.id == current, Session.ended_at.is_(None)))
                        columns = ["session_id", "user_id", "role", "joined_at", "admitted_by", "waited_since"]
                        await connection.execute(insert(Attendance).from_select(columns, stay))
                        marks.append(_member_mark(current, member, member.joined_at))
                    case MemberUpdated(member=member, recorded=True) if current is not None:
                        at = member.disconnected_at if not member.connected and member.disconnected_at else time.time()
                        marks.append(_member_mark(current, member, at))
                    case MemberResumed(member=member) if current is not None:
                        marks.append(_member_mark(current, member, time.time()))
                    case MemberLeft(user_id=user_id, reason=reason, at=at, to_lobby=to_lobby) if current is not None:
                        await connection.execute(
                            update(Attendance)
                            .where(
                                Attendance.session_id == current,
                                Attendance.user_id == uuid.UUID(user_id),
                                Attendance.left_at.is_(None),
                            )
                            .values(left_at=_at(at), leave_reason="to_lobby" if to_lobby else reason.value)
                        )
                        marks.append(_mark(current, user_id, at, video=False, connected=False))
                    case _:
                        pass
            await self._write_marks(connection, marks)

    async def _close_marks(self, connection: AsyncConnection, session_id: uuid.UUID, at: float) -> None:
        """A closing mark for everyone still in the session as it ends (one statement, from their open stays)."""
        still_in = (
            select(
                Attendance.session_id,
                Attendance.user_id,
                literal(_at(at), UTCDateTime()),
                literal(False, Boolean()),
                literal(False, Boolean()),
            )
            .where(Attendance.session_id == session_id, Attendance.left_at.is_(None))
            .distinct()
        )
        columns = ["session_id", "user_id", "at", "video", "connected"]
        await connection.execute(insert(MediaMark).from_select(columns, still_in))

    async def audit(
        self, actor_id: str, action: str, outcome: str, group_id: str, target_id: str | None, detail: dict[str, Any]
    ) -> None:
        async with self.engine.begin() as connection:
            await _write_audit(connection, group_id, AuditNote(actor_id, action, outcome, target_id, detail))


async def _write_audit(connection: AsyncConnection, group_id: str, note: AuditNote) -> None:
    values = audit.row(
        action=note.action,
        outcome=note.outcome,
        actor_id=uuid.UUID(note.actor_id),
        target_type="user" if note.target_id else "group",
        target_id=note.target_id or group_id,
        detail={"group_id": group_id, **note.detail} if note.target_id else note.detail or None,
    )
    await connection.execute(insert(AuditEntry).values(**values))
