"""Retention: message bodies older than the retention period are erased; the rows stay as tombstones so
sequence numbers keep no gaps. Check-in and support-request notes are kept like chat: the same purge erases them
(the rating, the time and who asked stay, for the program's record). Runs in small batches, so it is safe while
the server is serving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from server import audit
from server.db.models import ChatMessage, CheckIn, SupportRequest

BATCH = 500


async def purge_bodies(db: async_sessionmaker[Any], sent_before: datetime, now: datetime) -> int:
    """Erase the bodies of messages sent before ``sent_before``; returns how many, and audits the purge."""
    erased = 0
    while True:
        async with db.begin() as session:
            ids = list(
                (
                    await session.execute(
                        select(ChatMessage.id)
                        .where(ChatMessage.sent_at < sent_before, ChatMessage.body.is_not(None))
                        .limit(BATCH)
                    )
                ).scalars()
            )
            if not ids:
                break
            await session.execute(
                update(ChatMessage).where(ChatMessage.id.in_(ids)).values(body=None, deleted_at=now, deleted_by=None)
            )
            erased += len(ids)
    notes = {
        "checkin_notes_erased": await _purge_notes(db, CheckIn, sent_before),
        "support_notes_erased": await _purge_notes(db, SupportRequest, sent_before),
    }
    async with db.begin() as session:
        audit.record(
            session,
            action="chat.purge",
            source="cli",
            target_type="chat",
            detail={"erased": erased, "sent_before": sent_before.isoformat(), **notes},
            at=now,
        )
    return erased


async def _purge_notes(db: async_sessionmaker[Any], table: type[CheckIn | SupportRequest], before: datetime) -> int:
    """Erase the notes of check-ins or support requests made before ``before``; returns how many."""
    erased = 0
    while True:
        async with db.begin() as session:
            ids = list(
                (
                    await session.execute(
                        select(table.id).where(table.at < before, table.note.is_not(None)).limit(BATCH)
                    )
                ).scalars()
            )
            if not ids:
                return erased
            await session.execute(update(table).where(table.id.in_(ids)).values(note=None))
            erased += len(ids)
