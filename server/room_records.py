"""The durable side of group rooms: a session row per meeting, attendance per stay, audit of moderation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rooms.events import Event, MemberJoined, MemberLeft, SessionClosed, SessionOpened
from server import audit
from server.db.models import Attendance, Session


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class DatabaseRoomRecords:
    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db

    async def _open_session(self, session: AsyncSession, group_id: uuid.UUID) -> uuid.UUID | None:
        return await session.scalar(
            select(Session.id)
            .where(Session.group_id == group_id, Session.ended_at.is_(None))
            .order_by(Session.started_at.desc())
            .limit(1)
        )

    async def record(self, group_id: str, events: list[Event]) -> None:
        if not any(isinstance(e, SessionOpened | SessionClosed | MemberJoined | MemberLeft) for e in events):
            return
        group = uuid.UUID(group_id)
        async with self.db.begin() as session:
            current = await self._open_session(session, group)
            for event in events:
                match event:
                    case SessionOpened(session_id=session_id, opened_by=opened_by, at=at):
                        current = uuid.UUID(session_id)
                        session.add(
                            Session(id=current, group_id=group, opened_by=uuid.UUID(opened_by), started_at=_at(at))
                        )
                        await session.flush()
                    case SessionClosed(session_id=session_id, ended_by=ended_by, at=at):
                        closed = uuid.UUID(session_id)
                        await session.execute(
                            update(Session)
                            .where(Session.id == closed)
                            .values(ended_at=_at(at), ended_by=None if ended_by is None else uuid.UUID(ended_by))
                        )
                        await session.execute(
                            update(Attendance)
                            .where(Attendance.session_id == closed, Attendance.left_at.is_(None))
                            .values(left_at=_at(at), leave_reason="ended")
                        )
                        current = None
                    case MemberJoined(member=member, admitted_by=admitted_by) if current is not None:
                        session.add(
                            Attendance(
                                session_id=current,
                                user_id=uuid.UUID(member.user_id),
                                role=member.role.value,
                                joined_at=_at(member.joined_at),
                                admitted_by=None if admitted_by is None else uuid.UUID(admitted_by),
                            )
                        )
                    case MemberLeft(user_id=user_id, reason=reason, at=at, to_lobby=to_lobby) if current is not None:
                        await session.execute(
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
        async with self.db.begin() as session:
            audit.record(
                session,
                action=action,
                outcome=outcome,
                actor_id=uuid.UUID(actor_id),
                target_type="user" if target_id else "group",
                target_id=target_id or group_id,
                detail={"group_id": group_id, **detail} if target_id else detail or None,
            )
