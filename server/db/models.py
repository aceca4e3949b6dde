"""The durable data model of a peer-support program.

Constraints live in the database (unique emails, one active pairing per pair, foreign keys, allowed role
values), so no code path can write around them. Ids are random UUIDs: opaque in URLs, logs and Redis keys.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UserRole(StrEnum):
    ADMIN = "admin"
    FACILITATOR = "facilitator"
    MENTOR = "mentor"
    PARTICIPANT = "participant"


class MemberRole(StrEnum):
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(member.value) for member in enum)})"


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite stores BigInteger primary keys as INTEGER so that they alias the rowid and autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored with their zone and always read back as aware UTC datetimes.

    SQLite keeps no zone, so without this a value read back there would be naive.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid(), dict[str, Any]: JSON()}  # noqa: RUF012 - SQLAlchemy reads it once


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", UserRole), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    # Raised when the password changes: tokens carry the epoch they were issued in, and an older one is refused.
    session_epoch: Mapped[int] = mapped_column(Integer, server_default=text("0"), default=0)


# How many people a group's live room may hold. Past the mesh limit (at most 50) a room's media is forwarded, so the
# upper bound is what one room's live state and fan-out carry, not what a browser's mesh would.
MIN_CAPACITY = 2
MAX_CAPACITY = 200


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (CheckConstraint(f"capacity BETWEEN {MIN_CAPACITY} AND {MAX_CAPACITY}", name="capacity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120))
    capacity: Mapped[int]
    lobby_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Whether a participant muted by a facilitator may unmute on their own.
    self_unmute_allowed: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Whether participants may share their screen in the room (facilitators always may).
    screen_share_allowed: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]
    # The IANA time zone its schedule is kept in (a weekly 18:00 stays 18:00 there across daylight saving).
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'UTC'"), default="UTC")


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    __table_args__ = (CheckConstraint(_in("role", MemberRole), name="role"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


Index("ix_group_memberships_user_id", GroupMembership.user_id)


class Schedule(Base):
    """A group's weekly series: on ``weekdays`` at ``start_time`` (in the group's time zone) for
    ``duration_minutes``, from ``starts_on`` until ``ends_on`` (inclusive; open-ended when None)."""

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 720", name="duration"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # ISO weekdays (1 = Monday ... 7 = Sunday), comma-separated and ascending: "1,3,5".
    weekdays: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int]
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class ScheduleCancellation(Base):
    """One date of a weekly series that does not take place."""

    __tablename__ = "schedule_cancellations"

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True)
    on_date: Mapped[date] = mapped_column(Date, primary_key=True)
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class ExtraSession(Base):
    """A one-off session outside the weekly series (its id is the scheduled session's id)."""

    __tablename__ = "extra_sessions"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="times"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Session(Base):
    """One meeting of a group: opened when its live room opens, closed when it ends.

    A session opened for a scheduled occurrence has that occurrence's id and keeps its scheduled times; one
    opened outside any schedule has neither.
    """

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    opened_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_start: Mapped[datetime | None] = mapped_column(default=None)
    scheduled_end: Mapped[datetime | None] = mapped_column(default=None)
    # Once signed off, the session's attendance is final: corrections are rows of their own.
    signed_off_at: Mapped[datetime | None] = mapped_column(default=None)
    signed_off_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    sign_off_note: Mapped[str | None] = mapped_column(Text, default=None)
    # Who was enrolled when it was signed off ([{"user_id", "role"}]): the absent list stays what was signed even
    # if the group's roster changes later.
    signed_roster: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)


class Attendance(Base):
    """One stay of one person in a session's room, from entry to departure."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    leave_reason: Mapped[str | None] = mapped_column(String(32))
    admitted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the stay began waiting in the lobby (None: it did not wait).
    waited_since: Mapped[datetime | None] = mapped_column(default=None)


class MediaMark(Base):
    """A member's camera and connection as of ``at`` in a session: camera-on minutes are read from these."""

    __tablename__ = "media_marks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    video: Mapped[bool] = mapped_column(Boolean)
    connected: Mapped[bool] = mapped_column(Boolean)


class AttendanceCorrection(Base):
    """A correction of a member's attendance, made after sign-off; reports show it beside the original."""

    __tablename__ = "attendance_corrections"
    __table_args__ = (
        CheckConstraint("status IS NULL OR status IN ('present', 'absent')", name="status"),
        CheckConstraint("minutes_present IS NULL OR minutes_present >= 0", name="minutes"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str | None] = mapped_column(String(16))
    minutes_present: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    corrected_at: Mapped[datetime]


class Conversation(Base):
    """A chat conversation and the last sequence number it handed out (the row is the sequence's lock)."""

    __tablename__ = "conversations"
    __table_args__ = (CheckConstraint("kind IN ('room', 'dm')", name="kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # "room:<group id>" or "dm:<lower user id>:<higher user id>".
    key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    last_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime]


class ChatMessage(Base):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("sender_id", "client_id"),
        CheckConstraint("seq > 0", name="seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    # Erased (NULL) when the message is deleted or its retention period has passed; the row stays as a tombstone.
    body: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The meeting of the group a room message was sent in (None for direct messages): who may read it follows it.
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True, default=None
    )


class ConversationRead(Base):
    """How far a person has read a conversation, for unread counts."""

    __tablename__ = "conversation_reads"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_seq: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime]


Index("ix_chat_messages_sent_at", ChatMessage.sent_at)


class Pairing(Base):
    __tablename__ = "pairings"
    __table_args__ = (
        CheckConstraint("mentor_id <> mentee_id", name="distinct_people"),
        Index(
            "uq_pairings_active_pair",
            "mentor_id",
            "mentee_id",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mentor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The mentee lets this mentor read their check-in history.
    checkins_shared: Mapped[bool] = mapped_column(Boolean, server_default=text("false"), default=False)


class Call(Base):
    """A one-on-one call's record: who, when, how it ended. Never any content."""

    __tablename__ = "calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    caller_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    callee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    pairing_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("pairings.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(32))
    invited_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "group_id", "agreement_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    agreement_version: Mapped[str] = mapped_column(String(32))
    agreed_at: Mapped[datetime]


class GroupAgreement(Base):
    """One version of a group's agreement; the highest version is the one in force."""

    __tablename__ = "group_agreements"
    __table_args__ = (CheckConstraint("version > 0", name="version"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class CheckIn(Base):
    """How a member said they were doing before a session. Kept like chat: the note is erased by retention."""

    __tablename__ = "checkins"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)


class SupportRequest(Base):
    """A member's private "I need support" to the facilitators in the room; the note is erased by retention."""

    __tablename__ = "support_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only record of access and moderation; database triggers refuse updates and deletes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None]


Index("ix_audit_log_action", AuditEntry.action)
Index("ix_audit_log_target_id", AuditEntry.target_id)
