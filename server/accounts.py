"""Accounts: creating and changing users, shared by the CLI and the admin REST API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.db.models import User
from server.errors import conflict
from server.passwords import hash_password
from server.wire import UserCreate


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "disabled": user.disabled_at is not None,
    }


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    body: UserCreate,
    *,
    actor_id: uuid.UUID | None,
    source: str,
) -> User:
    """Create a user from a validated body, with its audit row; a taken email is a conflict."""
    if await find_by_email(session, body.email) is not None:
        raise conflict("A user with this email already exists.")
    user = User(
        id=uuid.uuid4(),
        email=body.email,
        display_name=body.display_name,
        role=body.role.value,
        password_hash=await hash_password(body.password),
        created_at=datetime.now(UTC),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        # Another request took the email between the check and the insert.
        raise conflict("A user with this email already exists.") from None
    audit.record(
        session,
        action="user.create",
        actor_id=actor_id,
        target_type="user",
        target_id=user.id,
        source=source,
        detail={"role": body.role.value},
    )
    return user
