"""The durable side of group rooms: a session row per meeting, attendance per stay, audit of moderation."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Uuid, exists, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from rooms.events import Event, MemberJoined, MemberLeft, SessionClosed, SessionOpened
from rooms.model import Room
from server import audit
from server.db.models import Attendance, AuditEntry, Session, UTCDateTime
from signaling.seams import AuditNote


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


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
        fills in who opened it."""
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        row = {"id": session_id, "group_id": group, "started_at": _at(at), "opened_by": None}
        statement = insert(Session).values(**row)
        if opened_by is None:
            statement = statement.on_conflict_do_nothing(index_elements=["id"])
        else:
            opener = uuid.UUID(opened_by)
            statement = statement.values(opened_by=opener).on_conflict_do_update(
                index_elements=["id"], set_={"opened_by": opener, "started_at": _at(at)}
            )
        await connection.execute(statement)

    async def record(
        self, group_id: str, events: list[Event], audit: AuditNote | None = None, room: Room | None = None
    ) -> None:
        durable = any(isinstance(e, SessionOpened | SessionClosed | MemberJoined | MemberLeft) for e in events)
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
            for event in events:
                match event:
                    case SessionOpened(session_id=session_id, opened_by=opened_by, at=at):
                        current = uuid.UUID(session_id)
                        await self._ensure_session(connection, current, group, at, opened_by)
                    case SessionClosed(session_id=session_id, ended_by=ended_by, at=at):
                        closed = uuid.UUID(session_id)
                        # Its row, should the records of its opening never have been written.
                        await self._ensure_session(connection, closed, group, at, None)
                        await connection.execute(
                            update(Session)
                            .where(Session.id == closed)
                            .values(ended_at=_at(at), ended_by=None if ended_by is None else uuid.UUID(ended_by))
                        )
                        await connection.execute(
                            update(Attendance)
                            .where(Attendance.session_id == closed, Attendance.left_at.is_(None))
                            .values(left_at=_at(at), leave_reason="ended")
                        )
                        current = None
                    case MemberJoined(member=member, admitted_by=admitted_by) if current is not None:
                        # Only into a session still open: an end whose records committed first stays the end.
                        stay = select(
                            literal(current, Uuid()),
                            literal(uuid.UUID(member.user_id), Uuid()),
                            literal(member.role.value),
                            literal(_at(member.joined_at), UTCDateTime()),
                            literal(None if admitted_by is None else uuid.UUID(admitted_by), Uuid()),
                        ).where(exists().where(Session.id == current, Session.ended_at.is_(None)))
                        columns = ["session_id", "user_id", "role", "joined_at", "admitted_by"]
                        await connection.execute(insert(Attendance).from_select(columns, stay))
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
                    case _:
                        pass

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
