"""Chat messages in the database: per-conversation sequence numbers without gaps or duplicates, handed out
inside the transaction that stores the message, so an acknowledged message is always a committed one.

The conversation row is the sequence's lock: taking the next number locks it, so concurrent senders (on any node)
wait for each other, and a transaction that fails rolls its number back.

On PostgreSQL a message is one statement in its own transaction: the conversation's upsert takes the next number,
the message is inserted with it, and the sender's unique ``(sender_id, client_id)`` turns a repeated send into a
conflict that rolls the number back (the stored message is then returned). One round trip, and the sequence's lock
is held only for that statement. Elsewhere (the embedded SQLite) the same is done in a few statements.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rooms.model import LeaveReason
from server import audit
from server.db.engine import read_sessions
from server.db.models import Attendance, ChatMessage, Conversation, ConversationRead, Session, User
from signaling.seams import Account, ChatUnavailable, ClientIdReused, StoredMessage


def _view(message: ChatMessage, key: str, display_name: str | None) -> StoredMessage:
    return StoredMessage(
        id=str(message.id),
        key=key,
        seq=message.seq,
        sender_id=None if message.sender_id is None else str(message.sender_id),
        display_name=display_name,
        body=message.body,
        sent_at=message.sent_at.isoformat(),
        deleted=message.body is None,
        session_id=None if message.session_id is None else str(message.session_id),
    )


# $1 conversation id if new, $2 key, $3 kind, $4 group id, $5 now, $6 message id, $7 sender, $8 client id, $9 body,
# $10 the live session (kept only if recorded).
_SEND = """
WITH conversation AS (
    INSERT INTO conversations AS c (id, key, kind, group_id, last_seq, created_at)
    VALUES ($1, $2, $3, $4, 1, $5)
    ON CONFLICT (key) DO UPDATE SET last_seq = c.last_seq + 1
    RETURNING c.id, c.last_seq
)
INSERT INTO chat_messages (id, conversation_id, seq, sender_id, client_id, body, sent_at, session_id)
SELECT $6, conversation.id, conversation.last_seq, $7, $8, $9, $5, (SELECT s.id FROM sessions AS s WHERE s.id = $10)
FROM conversation
RETURNING seq, session_id
"""
# The connection itself is gone or unusable (asyncpg's own errors): it is dropped from the pool.
_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError)
# SQLSTATEs after which the connection is of no more use: connection exceptions, the server shutting down.
_CONNECTION_GONE = ("08", "57P01", "57P02", "57P03")


async def sessions_readable_by(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> set[uuid.UUID]:
    """The group's sessions whose room chat a participant may read: those they were admitted to, unless their last
    stay there ended in a removal (a later admission lifts it)."""
    stays = await session.execute(
        select(Attendance.session_id, Attendance.leave_reason)
        .join(Session, Session.id == Attendance.session_id)
        .where(Session.group_id == group_id, Attendance.user_id == user_id)
        .order_by(Attendance.joined_at, Attendance.id)
    )
    last: dict[uuid.UUID, str | None] = {}
    for session_id, reason in stays.all():
        last[session_id] = reason
    return {session_id for session_id, reason in last.items() if reason != LeaveReason.REMOVED}


class DatabaseChatRepository:
    def __init__(self, db: async_sessionmaker[Any]) -> None:
        self.db = db
        self.reads = read_sessions(db)
        bind = db.kw.get("bind")
        self._engine: AsyncEngine | None = (
            bind if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql" else None
        )

    async def _conversation_id(self, session: AsyncSession, key: str, group_id: str | None) -> uuid.UUID:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = {
            "id": uuid.uuid4(),
            "key": key,
            "kind": key.split(":", 1)[0],
            "group_id": None if group_id is None else uuid.UUID(group_id),
            "last_seq": 0,
            "created_at": datetime.now(UTC),
        }
        await session.execute(insert(Conversation).values(**values).on_conflict_do_nothing(index_elements=["key"]))
        found = await session.scalar(select(Conversation.id).where(Conversation.key == key))
        assert found is not None
        return found

    async def _existing(
        self, session: AsyncSession, sender: uuid.UUID, client_id: str
    ) -> tuple[ChatMessage, str] | None:
        row = (
            await session.execute(
                select(ChatMessage, Conversation.key)
                .join(Conversation, Conversation.id == ChatMessage.conversation_id)
                .where(ChatMessage.sender_id == sender, ChatMessage.client_id == client_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def send(
        self, key: str, group_id: str | None, sender: Account, client_id: str, body: str, session_id: str | None = None
    ) -> tuple[StoredMessage, bool]:
        if self._engine is not None:
            stored = await self._send_postgres(self._engine, key, group_id, sender, client_id, body, session_id)
            if stored is not None:
                return stored, True
            return await self._stored_before(key, sender, client_id)
        return await self._send_portable(key, group_id, sender, client_id, body, session_id)

    async def _send_postgres(
        self,
        engine: AsyncEngine,
        key: str,
        group_id: str | None,
        sender: Account,
        client_id: str,
        body: str,
        session_id: str | None,
    ) -> StoredMessage | None:
        """The new message, or None when this sender's ``client_id`` was stored before (nothing was written)."""
        message_id, now = uuid.uuid4(), datetime.now(UTC)
        arguments = (
            uuid.uuid4(),
            key,
            key.split(":", 1)[0],
            None if group_id is None else uuid.UUID(group_id),
            now,
            message_id,
            uuid.UUID(sender.user_id),
            client_id,
            body,
            None if session_id is None else uuid.UUID(session_id),
        )
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: asyncpg.Connection = raw.driver_connection
                try:
                    row = await driver.fetchrow(_SEND, *arguments)
                except asyncpg.UniqueViolationError:
                    return None
                except asyncpg.PostgresError as exc:
                    # A restart or failover (57P01), a standby, a group deleted meanwhile: not stored, say so.
                    if str(getattr(exc, "sqlstate", "")).startswith(_CONNECTION_GONE):
                        await connection.invalidate()
                    raise ChatUnavailable(type(exc).__name__) from None
                except _CONNECTION_LOST:
                    await connection.invalidate()
                    raise
        except (OperationalError, DBAPIError, *_CONNECTION_LOST) as exc:
            raise ChatUnavailable(type(exc).__name__) from None
        assert row is not None
        return StoredMessage(
            id=str(message_id),
            key=key,
            seq=row["seq"],
            sender_id=sender.user_id,
            display_name=sender.display_name,
            body=body,
            sent_at=now.isoformat(),
            deleted=False,
            session_id=None if row["session_id"] is None else str(row["session_id"]),
        )

    async def _stored_before(self, key: str, sender: Account, client_id: str) -> tuple[StoredMessage, bool]:
        try:
            async with self.reads() as session:
                existing = await self._existing(session, uuid.UUID(sender.user_id), client_id)
        except (OperationalError, DBAPIError, OSError) as exc:
            raise ChatUnavailable(type(exc).__name__) from None
        if existing is None:
            raise ChatUnavailable("message not found after a conflict")
        return self._repeat(existing, key, sender)

    async def _send_portable(
        self, key: str, group_id: str | None, sender: Account, client_id: str, body: str, session_id: str | None
    ) -> tuple[StoredMessage, bool]:
        sender_id = uuid.UUID(sender.user_id)
        try:
            async with self.db.begin() as session:
                existing = await self._existing(session, sender_id, client_id)
                if existing is not None:
                    return self._repeat(existing, key, sender)
                # The session row is written by the room's records, which may lag (another node) or have failed:
                # rather than refuse the message, it is kept without its session (then facilitators alone read it).
                # Looked up before the sequence's row lock is taken, to hold that lock no longer.
                recorded = None
                if session_id is not None:
                    recorded = await session.scalar(select(Session.id).where(Session.id == uuid.UUID(session_id)))
                conversation_id = await self._conversation_id(session, key, group_id)
                seq = await session.scalar(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(last_seq=Conversation.last_seq + 1)
                    .returning(Conversation.last_seq)
                )
                assert seq is not None
                message = ChatMessage(
                    id=uuid.uuid4(),
                    conversation_id=conversation_id,
                    seq=seq,
                    sender_id=sender_id,
                    client_id=client_id,
                    body=body,
                    sent_at=datetime.now(UTC),
                    session_id=recorded,
                )
                session.add(message)
                await session.flush()
                return _view(message, key, sender.display_name), True
        except IntegrityError:
            pass  # the same client id stored meanwhile by a retry on another connection: return that one
        except (OperationalError, DBAPIError, OSError) as exc:
            raise ChatUnavailable(type(exc).__name__) from None
        return await self._stored_before(key, sender, client_id)

    @staticmethod
    def _repeat(existing: tuple[ChatMessage, str], key: str, sender: Account) -> tuple[StoredMessage, bool]:
        """A send repeated with the same client id: the stored message, unless it was for another conversation."""
        message, stored_key = existing
        if stored_key != key:
            raise ClientIdReused(message.client_id)
        return _view(message, key, sender.display_name), False

    async def history(
        self,
        key: str,
        after_seq: int | None,
        before_seq: int | None,
        limit: int,
        sessions: Collection[str] | None = None,
    ) -> list[StoredMessage]:
        query = (
            select(ChatMessage, User.display_name)
            .join(Conversation, Conversation.id == ChatMessage.conversation_id)
            .outerjoin(User, User.id == ChatMessage.sender_id)
            .where(Conversation.key == key)
        )
        if sessions is not None:
            # In the query, so that paging and ``limit`` count only what the reader may see (NULL never matches).
            query = query.where(ChatMessage.session_id.in_([uuid.UUID(s) for s in sessions]))
        if after_seq is not None:
            query = query.where(ChatMessage.seq > after_seq).order_by(ChatMessage.seq).limit(limit)
        else:
            if before_seq is not None:
                query = query.where(ChatMessage.seq < before_seq)
            query = query.order_by(ChatMessage.seq.desc()).limit(limit)
        try:
            async with self.reads() as session:
                rows = (await session.execute(query)).all()
        except (OperationalError, DBAPIError, OSError) as exc:
            raise ChatUnavailable(type(exc).__name__) from None
        messages = [_view(message, key, name) for message, name in rows]
        return sorted(messages, key=lambda m: m.seq)

    async def readable_sessions(self, group_id: str, user_id: str) -> set[str]:
        try:
            async with self.reads() as session:
                readable = await sessions_readable_by(session, uuid.UUID(group_id), uuid.UUID(user_id))
        except (OperationalError, DBAPIError, OSError) as exc:
            raise ChatUnavailable(type(exc).__name__) from None
        return {str(session_id) for session_id in readable}

    async def find(self, key: str, message_id: str) -> StoredMessage | None:
        try:
            wanted = uuid.UUID(message_id)
        except ValueError:
            return None
        async with self.reads() as session:
            row = (
                await session.execute(
                    select(ChatMessage, User.display_name)
                    .join(Conversation, and_(Conversation.id == ChatMessage.conversation_id, Conversation.key == key))
                    .outerjoin(User, User.id == ChatMessage.sender_id)
                    .where(ChatMessage.id == wanted)
                )
            ).first()
        return None if row is None else _view(row[0], key, row[1])

    async def erase(self, key: str, message_id: str, by: str) -> StoredMessage | None:
        async with self.db.begin() as session:
            message = await session.get(ChatMessage, uuid.UUID(message_id), with_for_update=True)
            if message is None:
                return None
            if message.body is not None:
                message.body = None
                message.deleted_at = datetime.now(UTC)
                message.deleted_by = uuid.UUID(by)
            audit.record(
                session,
                action="chat.delete",
                actor_id=uuid.UUID(by),
                target_type="chat_message",
                target_id=message.id,
                detail={"seq": message.seq, "own": str(message.sender_id) == by},
            )
            return _view(message, key, None)

    async def mark_read(self, user_id: str, key: str, seq: int) -> int | None:
        """Moves the reader's mark forward to ``seq`` (at most the conversation's last); returns the new mark when it
        moved, None when it did not (an older or repeated mark, or no such conversation)."""
        async with self.db.begin() as session:
            conversation = await session.scalar(select(Conversation).where(Conversation.key == key))
            if conversation is None:
                return None
            seq = min(seq, conversation.last_seq)
            reader = uuid.UUID(user_id)
            current = await session.get(ConversationRead, (reader, conversation.id), with_for_update=True)
            now = datetime.now(UTC)
            if current is None:
                session.add(
                    ConversationRead(user_id=reader, conversation_id=conversation.id, last_read_seq=seq, updated_at=now)
                )
                return seq
            if seq > current.last_read_seq:
                current.last_read_seq = seq
                current.updated_at = now
                return seq
            return None
