"""Retention: message bodies older than the retention period are erased; the rows stay as tombstones so
sequence numbers keep no gaps. Runs in small batches, so it is safe while the server is serving."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from server import audit
from server.db.models import ChatMessage

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
    async with db.begin() as session:
        audit.record(
            session,
            action="chat.purge",
            source="cli",
            target_type="chat",
            detail={"erased": erased, "sent_before": sent_before.isoformat()},
            at=now,
        )
    return erased
