"""Many members of one group at once, written straight to the database with tokens signed by the test.

Creating an account through the API costs an argon2 hash, and signing in another one: about 60 ms of CPU each, or
over ten seconds for a room of 200 on two cores, spent before the test has begun. Here every account shares one
hash (so each could still sign in with ``CROWD_PASSWORD``) and gets a token signed with the deployment's secret, as
the sign-in endpoint would issue it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from server.db.engine import create_engine, session_factory
from server.db.models import GroupMembership, MemberRole, User, UserRole
from server.passwords import hash_password
from server.tokens import issue_token
from tests.realtime.conftest import Person

CROWD_PASSWORD = "crowd-password"
TOKEN_SECONDS = 3600


async def enrol_crowd(
    database_url: str, secret: str, group_id: str, participants: int, facilitators: int = 1, tag: str = "crowd"
) -> list[Person]:
    """Create and enrol ``facilitators`` then ``participants`` people in the group; return them in that order."""
    now = datetime.now(UTC)
    password_hash = await hash_password(CROWD_PASSWORD)
    roles = [MemberRole.FACILITATOR] * facilitators + [MemberRole.PARTICIPANT] * participants
    users = [
        User(
            id=uuid.uuid4(),
            email=f"{tag}-{n}@example.org",
            display_name=f"{tag.title()} {n}",
            role=UserRole(role.value).value,
            password_hash=password_hash,
            created_at=now,
        )
        for n, role in enumerate(roles)
    ]
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            session.add_all(users)
            await session.flush()
            session.add_all(
                GroupMembership(group_id=uuid.UUID(group_id), user_id=user.id, role=role.value, created_at=now)
                for user, role in zip(users, roles, strict=True)
            )
    finally:
        await engine.dispose()
    return [
        Person(str(user.id), issue_token(user.id, secret, TOKEN_SECONDS, now)[0], user.display_name) for user in users
    ]
