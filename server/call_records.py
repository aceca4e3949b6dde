"""The durable side of one-on-one calls: a row per invitation (who, when, outcome; never content) and the audit
of every act on a call, refusals included."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from rooms.calls import Answered, Call, CallEvent, Ended
from server import audit
from server.db.models import Call as CallRow


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class DatabaseCallRecords:
    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db

    async def opened(self, call: Call) -> None:
        async with self.db.begin() as session:
            session.add(
                CallRow(
                    id=uuid.UUID(call.call_id),
                    caller_id=uuid.UUID(call.caller.user_id),
                    callee_id=uuid.UUID(call.callee.user_id),
                    pairing_id=uuid.UUID(call.pairing_id),
                    outcome=None if call.reason is None else call.reason.value,
                    invited_at=_at(call.invited_at),
                    ended_at=None if call.ended_at is None else _at(call.ended_at),
                )
            )

    async def record(self, events: list[CallEvent]) -> None:
        if not any(isinstance(e, Answered | Ended) for e in events):
            return
        async with self.db.begin() as session:
            for event in events:
                match event:
                    case Answered(call=call) if call.answered_at is not None:
                        await session.execute(
                            update(CallRow)
                            .where(CallRow.id == uuid.UUID(call.call_id))
                            .values(answered_at=_at(call.answered_at))
                        )
                    case Ended(call=call, by=by) if call.reason is not None and call.ended_at is not None:
                        await session.execute(
                            update(CallRow)
                            .where(CallRow.id == uuid.UUID(call.call_id))
                            .values(outcome=call.reason.value, ended_at=_at(call.ended_at))
                        )
                        audit.record(
                            session,
                            action="call.end",
                            outcome=call.reason.value,
                            actor_id=None if by is None else uuid.UUID(by),
                            target_type="call",
                            target_id=call.call_id,
                        )
                    case _:
                        pass

    async def audit(self, actor_id: str, action: str, outcome: str, call_id: str | None, target_id: str | None) -> None:
        async with self.db.begin() as session:
            audit.record(
                session,
                action=action,
                outcome=outcome,
                actor_id=uuid.UUID(actor_id),
                target_type="call" if call_id else "user",
                target_id=call_id or target_id,
                detail={"with": target_id} if call_id and target_id else None,
            )
