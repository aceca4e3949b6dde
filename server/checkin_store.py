"""Check-ins and support requests in the database: written for the live side (``signaling.seams.ProgramRecords``)
and read for the REST views.

Each write commits together with its audit row, which names ids only: a note is someone's words about how they
are, and goes nowhere but its own row (and retention erases it there, as it does chat).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from server import audit
from server.db.models import AuditEntry, CheckIn, Session, SupportRequest, User
from signaling.seams import Acknowledgement, StoredSignal

# Ratings at or below this are flagged for the facilitators (as on the live side).
FLAGGED_AT_MOST = 2


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def _recorded_session(connection: AsyncConnection, session_id: str | None) -> uuid.UUID | None:
    """The session's id if its row is written (a room's first records may still be on their way)."""
    if session_id is None:
        return None
    found: uuid.UUID | None = await connection.scalar(select(Session.id).where(Session.id == uuid.UUID(session_id)))
    return found


# The audit row's target type of each action.
TARGET_TYPES = {
    "checkin.create": "checkin",
    "support.request": "support_request",
    "support.acknowledge": "support_request",
}


async def _audit(
    connection: AsyncConnection, actor: uuid.UUID, action: str, group_id: uuid.UUID, target: uuid.UUID, at: datetime
) -> None:
    values = audit.row(
        action=action,
        actor_id=actor,
        target_type=TARGET_TYPES[action],
        target_id=target,
        detail={"group_id": str(group_id)},
        at=at,
    )
    await connection.execute(insert(AuditEntry).values(**values))


class DatabaseProgramRecords:
    """``signaling.seams.ProgramRecords``."""

    def __init__(self, db: async_sessionmaker[Any]) -> None:
        bind = db.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        self.engine = bind

    async def checkin(
        self, group_id: str, user_id: str, session_id: str | None, rating: int, note: str | None, at: float
    ) -> StoredSignal:
        ident, group, user, when = uuid.uuid4(), uuid.UUID(group_id), uuid.UUID(user_id), _at(at)
        async with self.engine.begin() as connection:
            session = await _recorded_session(connection, session_id)
            await connection.execute(
                insert(CheckIn).values(
                    id=ident, group_id=group, user_id=user, session_id=session, rating=rating, note=note, at=when
                )
            )
            await _audit(connection, user, "checkin.create", group, ident, when)
        return StoredSignal(str(ident), when.isoformat())

    async def support_request(
        self, group_id: str, user_id: str, session_id: str | None, note: str | None, at: float
    ) -> StoredSignal:
        ident, group, user, when = uuid.uuid4(), uuid.UUID(group_id), uuid.UUID(user_id), _at(at)
        async with self.engine.begin() as connection:
            session = await _recorded_session(connection, session_id)
            await connection.execute(
                insert(SupportRequest).values(
                    id=ident, group_id=group, user_id=user, session_id=session, note=note, at=when
                )
            )
            await _audit(connection, user, "support.request", group, ident, when)
        return StoredSignal(str(ident), when.isoformat())

    async def acknowledge(self, group_id: str, request_id: str, by: str, at: float) -> Acknowledgement | None:
        group, ident, actor, when = uuid.UUID(group_id), uuid.UUID(request_id), uuid.UUID(by), _at(at)
        async with self.engine.begin() as connection:
            # Only the first acknowledgement is written: two facilitators answering at once agree on who did.
            changed = await connection.execute(
                update(SupportRequest)
                .where(
                    SupportRequest.id == ident,
                    SupportRequest.group_id == group,
                    SupportRequest.acknowledged_at.is_(None),
                )
                .values(acknowledged_by=actor, acknowledged_at=when)
            )
            row = (
                await connection.execute(
                    select(
                        SupportRequest.user_id, SupportRequest.acknowledged_by, SupportRequest.acknowledged_at
                    ).where(SupportRequest.id == ident, SupportRequest.group_id == group)
                )
            ).first()
            if row is None:
                return None
            new = changed.rowcount == 1
            if new:
                await _audit(connection, actor, "support.acknowledge", group, ident, when)
        requester, acknowledged_by, acknowledged_at = row
        # The acknowledging account may since have been deleted (the column is then NULL); the time stays.
        return Acknowledgement(
            str(ident),
            str(requester),
            "" if acknowledged_by is None else str(acknowledged_by),
            (acknowledged_at or when).isoformat(),
            new,
        )


# -- reading, for the REST views ----------------------------------------------------------------------------


def checkins_query() -> Select[CheckIn, str]:
    """Check-ins with their author's name, newest first; callers add who may read which."""
    return (
        select(CheckIn, User.display_name)
        .join(User, User.id == CheckIn.user_id)
        .order_by(CheckIn.at.desc(), CheckIn.id)
    )


def checkin_view(checkin: CheckIn, display_name: str) -> dict[str, Any]:
    return {
        "id": str(checkin.id),
        "group_id": str(checkin.group_id),
        "user_id": str(checkin.user_id),
        "display_name": display_name,
        "session_id": None if checkin.session_id is None else str(checkin.session_id),
        "rating": checkin.rating,
        "note": checkin.note,
        "flagged": checkin.rating <= FLAGGED_AT_MOST,
        "at": checkin.at.isoformat(),
    }


def support_view(request: SupportRequest, display_name: str) -> dict[str, Any]:
    return {
        "id": str(request.id),
        "group_id": str(request.group_id),
        "user_id": str(request.user_id),
        "display_name": display_name,
        "session_id": None if request.session_id is None else str(request.session_id),
        "note": request.note,
        "at": request.at.isoformat(),
        "acknowledged_by": None if request.acknowledged_by is None else str(request.acknowledged_by),
        "acknowledged_at": None if request.acknowledged_at is None else request.acknowledged_at.isoformat(),
    }
