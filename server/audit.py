"""The audit log of access and moderation: who did what to which opaque id, and how it ended.

Rows are written in the same transaction as the change they describe. They never hold message text,
passwords, tokens or email addresses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry

SUCCESS = "success"
DENIED = "denied"
FAILURE = "failure"


def record(
    session: AsyncSession,
    *,
    action: str,
    outcome: str = SUCCESS,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add an audit row to ``session``; it commits with the rest of the unit of work."""
    entry = AuditEntry(
        **row(
            action=action,
            outcome=outcome,
            actor_id=actor_id,
            target_type=target_type,
            target_id=target_id,
            source=source,
            detail=detail,
            at=at,
        )
    )
    session.add(entry)
    return entry


def row(
    *,
    action: str,
    outcome: str = SUCCESS,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An audit row's values, for an ``INSERT`` in a transaction of one's own making (without an ORM session)."""
    return {
        "at": at or datetime.now(UTC),
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "outcome": outcome,
        "source": source,
        "detail": detail,
    }
