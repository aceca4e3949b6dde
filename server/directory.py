"""The signaling layer's view of accounts, groups and pairings, read from the database: one class per seam."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.orm import aliased

from rooms.model import GroupSettings, Role
from server import schedule_store
from server.db.engine import autocommit
from server.db.models import (
    Consent,
    Conversation,
    ExtraSession,
    Group,
    GroupAgreement,
    GroupMembership,
    MemberRole,
    Pairing,
    Schedule,
    Session,
    User,
)
from server.tokens import InvalidToken, read_token
from signaling.seams import Account, AccountState, Agreement, Contact, Enrolment, Grant, GroupState


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class DatabaseAccounts:
    """``signaling.seams.Accounts``: tokens and accounts."""

    def __init__(self, db: async_sessionmaker[Any], jwt_secret: str) -> None:
        self.db = db
        self.reader = autocommit(db)
        self.jwt_secret = jwt_secret

    async def grant(self, token: str) -> Grant | None:
        try:
            claims = read_token(token, self.jwt_secret)
        except InvalidToken:
            return None
        async with self.reader.connect() as connection:
            user = (
                await connection.execute(
                    select(User.display_name, User.role, User.disabled_at, User.session_epoch).where(
                        User.id == claims.user_id
                    )
                )
            ).first()
        if user is None or user.disabled_at is not None or user.session_epoch != claims.epoch:
            return None
        account = Account(str(claims.user_id), user.display_name, user.role)
        return Grant(account, claims.issued_at.timestamp(), claims.expires_at.timestamp(), claims.epoch)

    async def states(self, user_ids: Collection[str]) -> dict[str, AccountState]:
        ids = [u for u in (_uuid(value) for value in user_ids) if u is not None]
        if not ids:
            return {}
        async with self.reader.connect() as connection:
            rows = await connection.execute(
                select(User.id, User.role, User.disabled_at, User.session_epoch).where(User.id.in_(ids))
            )
            return {
                str(user_id): AccountState(role, disabled_at is None, epoch)
                for user_id, role, disabled_at, epoch in rows
            }


class DatabaseGroups:
    """``signaling.seams.GroupDirectory``: enrolment and group settings.

    ``room_opens_minutes``: how long before a scheduled session its room opens to participants.
    """

    def __init__(self, db: async_sessionmaker[Any], room_opens_minutes: int = 10) -> None:
        self.db = db
        self.reader = autocommit(db)
        self.room_opens_minutes = room_opens_minutes

    async def enrolment(self, group_id: str, user_id: str, joining_at: float | None = None) -> Enrolment | None:
        group_uuid, user_uuid = _uuid(group_id), _uuid(user_id)
        if group_uuid is None or user_uuid is None:
            return None
        query = (
            select(
                GroupMembership.role,
                Group.capacity,
                Group.lobby_enabled,
                Group.self_unmute_allowed,
                Group.screen_share_allowed,
            )
            .join(Group, Group.id == GroupMembership.group_id)
            .where(
                GroupMembership.group_id == group_uuid,
                GroupMembership.user_id == user_uuid,
                Group.archived_at.is_(None),
            )
        )
        if joining_at is not None:
            # The same round trip reads the agreement in force and whether this person accepted it.
            latest = (
                select(func.max(GroupAgreement.version)).where(GroupAgreement.group_id == group_uuid).scalar_subquery()
            )
            # And whether the group has a schedule at all: most joins then need no schedule reads.
            scheduled = or_(
                exists().where(Schedule.group_id == Group.id), exists().where(ExtraSession.group_id == Group.id)
            )
            query = (
                query.add_columns(
                    GroupAgreement.version.label("agreement_version"),
                    GroupAgreement.text.label("agreement_text"),
                    Consent.id.label("consent_id"),
                    scheduled.label("scheduled"),
                )
                .outerjoin(GroupAgreement, and_(GroupAgreement.group_id == Group.id, GroupAgreement.version == latest))
                .outerjoin(
                    Consent,
                    and_(
                        Consent.user_id == user_uuid,
                        Consent.group_id == Group.id,
                        Consent.agreement_version == cast(GroupAgreement.version, String),
                    ),
                )
            )
        async with self.reader.connect() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            settings = GroupSettings(row.capacity, row.lobby_enabled, row.self_unmute_allowed, row.screen_share_allowed)
            role = Role(row.role)
            if joining_at is None:
                return Enrolment(role, settings)
            return await self._entering(connection, group_uuid, role, settings, row, joining_at)

    async def _entering(
        self,
        connection: AsyncConnection,
        group_id: uuid.UUID,
        role: Role,
        settings: GroupSettings,
        row: Any,
        joining_at: float,
    ) -> Enrolment:
        """What entering at ``joining_at`` needs: a participant's unaccepted agreement (asked before anything
        else) and whether the group is scheduled; the session id a facilitator's entry opens."""
        at = datetime.fromtimestamp(joining_at, UTC)
        version, text, consent = row.agreement_version, row.agreement_text, row.consent_id
        scheduled = bool(row.scheduled)
        if role is Role.PARTICIPANT:
            if version is not None and consent is None:
                return Enrolment(role, settings, agreement=Agreement(version, text))
            # The schedule is read only when no session is open in the room (``opening``): the room knows that.
            return Enrolment(role, settings, scheduled=scheduled)
        session_id = uuid.uuid4()
        if not scheduled:
            return Enrolment(role, settings, session_id=str(session_id))
        occurrence = await schedule_store.occurrence_for_opening(connection, group_id, at)
        if occurrence is not None:
            # A signed-off session is final: re-opening its occurrence starts a new, unscheduled one.
            signed_off = await connection.scalar(select(Session.signed_off_at).where(Session.id == occurrence.id))
            if signed_off is None:
                session_id = occurrence.id
        return Enrolment(role, settings, session_id=str(session_id))

    async def opening(self, group_id: str, at: float) -> float | None:
        group_uuid = _uuid(group_id)
        if group_uuid is None:
            return None
        async with self.reader.connect() as connection:
            gate = await schedule_store.participant_gate(
                connection, group_uuid, datetime.fromtimestamp(at, UTC), self.room_opens_minutes
            )
        return _epoch(gate)

    async def group(self, group_id: str) -> GroupState | None:
        group_uuid = _uuid(group_id)
        if group_uuid is None:
            return None
        async with self.reader.connect() as connection:
            group = (
                await connection.execute(
                    select(
                        Group.capacity,
                        Group.lobby_enabled,
                        Group.self_unmute_allowed,
                        Group.screen_share_allowed,
                        Group.archived_at,
                    ).where(Group.id == group_uuid)
                )
            ).first()
        if group is None:
            return None
        settings = GroupSettings(
            group.capacity, group.lobby_enabled, group.self_unmute_allowed, group.screen_share_allowed
        )
        return GroupState(settings, group.archived_at is not None)

    async def set_lobby_enabled(self, group_id: str, enabled: bool) -> None:
        group_uuid = _uuid(group_id)
        if group_uuid is None:
            return
        async with self.db.begin() as session:
            await session.execute(update(Group).where(Group.id == group_uuid).values(lobby_enabled=enabled))

    async def chat_last_seq(self, conversation: str) -> int:
        async with self.reader.connect() as connection:
            value = await connection.scalar(select(Conversation.last_seq).where(Conversation.key == conversation))
        return int(value or 0)


def _epoch(gate: datetime | None) -> float | None:
    if gate is None:
        return None
    return float("inf") if gate.year == datetime.max.year else gate.timestamp()


class DatabasePairings:
    """``signaling.seams.PairingDirectory``: who may message and call whom."""

    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db
        self.reader = autocommit(db)

    async def may_message(self, user_id: str, other_id: str) -> bool:
        one, other = _uuid(user_id), _uuid(other_id)
        if one is None or other is None or one == other:
            return False
        async with self.reader.connect() as connection:
            paired = await connection.scalar(
                select(Pairing.id)
                .where(
                    Pairing.active.is_(True),
                    or_(
                        and_(Pairing.mentor_id == one, Pairing.mentee_id == other),
                        and_(Pairing.mentor_id == other, Pairing.mentee_id == one),
                    ),
                )
                .limit(1)
            )
            if paired is not None:
                return True
            mine = aliased(GroupMembership)
            theirs = aliased(GroupMembership)
            shared = await connection.scalar(
                select(mine.group_id)
                .join(theirs, theirs.group_id == mine.group_id)
                .join(Group, Group.id == mine.group_id)
                .where(
                    mine.user_id == one,
                    theirs.user_id == other,
                    Group.archived_at.is_(None),
                    or_(mine.role == MemberRole.FACILITATOR.value, theirs.role == MemberRole.FACILITATOR.value),
                )
                .limit(1)
            )
            return shared is not None

    async def contacts(self, user_id: str) -> list[Contact]:
        return await self._contacts(user_id, None)

    async def contact(self, user_id: str, other_id: str) -> Contact | None:
        other = _uuid(other_id)
        if other is None:
            return None
        found = await self._contacts(user_id, other)
        return found[0] if found else None

    async def _contacts(self, user_id: str, only: uuid.UUID | None) -> list[Contact]:
        me = _uuid(user_id)
        if me is None:
            return []
        mentees = (
            select(User.id, User.display_name, Pairing.id, literal("mentee"))
            .join(Pairing, Pairing.mentee_id == User.id)
            .where(Pairing.mentor_id == me)
        )
        mentors = (
            select(User.id, User.display_name, Pairing.id, literal("mentor"))
            .join(Pairing, Pairing.mentor_id == User.id)
            .where(Pairing.mentee_id == me)
        )
        found: list[Contact] = []
        async with self.reader.connect() as connection:
            for query in (mentees, mentors):
                query = query.where(Pairing.active.is_(True), User.disabled_at.is_(None))
                if only is not None:
                    query = query.where(User.id == only)
                for other, name, pairing, relationship in await connection.execute(query):
                    found.append(Contact(str(other), name, relationship, str(pairing)))
        return sorted(found, key=lambda c: (c.display_name.casefold(), c.user_id))
