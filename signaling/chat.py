"""Chat over Socket.IO: group room chat and direct conversations.

A message is acknowledged only once it is committed with its sequence number; fan-out comes after, and is
at most once (Redis pub/sub), so clients catch up with ``chat:history`` from the last ``seq`` they saw.
A direct conversation is named by the other person: A's message to B reaches B as ``dm:<A>`` and is
``dm:<B>`` in A's own copy and history; it is stored once, under ``dm:<lower id>:<higher id>``.

A room message remembers the session (meeting) it was sent in, and who may read it follows that session: the
group's facilitators read everything; a participant reads the session of the live room they are in and the earlier
sessions they were admitted to and not removed from, and nothing while waiting in the lobby or barred after a
removal. The reader's filter goes into the database query, so paging and limits count only what they may read.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import socketio

from rooms.document import from_document
from rooms.model import Role, Room
from signaling import wire
from signaling.acks import Ack, SignalingError, not_authorized, ok
from signaling.connection import LocalConnection
from signaling.delivery import members_room
from signaling.rate_limit import TokenBucket
from signaling.room_store import RoomStore
from signaling.seams import (
    ChatRepository,
    ChatUnavailable,
    ClientIdReused,
    GroupDirectory,
    PairingDirectory,
    RoomRecords,
    StoredMessage,
)

log = logging.getLogger("haven.chat")

SENDS_PER_SECOND = 5.0
SEND_BURST = 10.0
TYPING_EVERY_SECONDS = 2.0
MAX_TRACKED_SENDERS = 50_000


@dataclass(frozen=True, slots=True)
class Readable:
    """What of a conversation a person may read: everything (``sessions`` None), or the messages of ``sessions``."""

    sessions: frozenset[str] | None
    facilitator: bool = False

    def covers(self, message: StoredMessage) -> bool:
        return self.sessions is None or message.session_id in self.sessions


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation as a given person sees it."""

    kind: str  # "room" or "dm"
    key: str  # how it is stored
    group_id: str | None
    other_id: str | None  # the other person of a direct conversation

    def named_for(self, user_id: str) -> str:
        """The conversation's name for ``user_id``: the room, or the other person."""
        if self.kind == "room":
            return f"room:{self.group_id}"
        low, high = self.key.split(":")[1:]
        return f"dm:{high if user_id == low else low}"


def conversation_of(name: str, user_id: str) -> Conversation:
    kind, ident = name.split(":", 1)
    ident = ident.lower()
    if kind == "room":
        return Conversation("room", f"room:{ident}", ident, None)
    low, high = sorted((user_id, ident))
    return Conversation("dm", f"dm:{low}:{high}", None, ident)


class Chat:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        repository: ChatRepository,
        groups: GroupDirectory,
        pairings: PairingDirectory,
        store: RoomStore,
        clock: Callable[[], float] = time.monotonic,
        records: RoomRecords | None = None,
    ) -> None:
        self.sio = sio
        self.repository = repository
        # Where a facilitator's reading of a group's chat history is audited.
        self.records = records
        self.groups = groups
        self.pairings = pairings
        self.store = store
        self.clock = clock
        self._senders: OrderedDict[str, TokenBucket] = OrderedDict()
        self._typing: OrderedDict[tuple[str, str], float] = OrderedDict()

    # -- who may do what --------------------------------------------------------------------------------

    async def _live_room(self, group_id: str) -> Room | None:
        document = await self.store.read(group_id)
        return None if document is None else from_document(document)

    async def _may_write(self, conn: LocalConnection, conversation: Conversation) -> str | None:
        """The live session a room message belongs to (None for a direct conversation)."""
        if conversation.kind == "room":
            assert conversation.group_id is not None
            return await self._member_session(conn, conversation.group_id)
        if conversation.other_id is None or not await self.pairings.may_message(
            conn.account.user_id, conversation.other_id
        ):
            raise not_authorized("You can message your paired mentor or mentee, or your group's facilitators.")
        return None

    async def _member_session(self, conn: LocalConnection, group_id: str) -> str | None:
        """The session of the live room ``conn`` holds a place in, or a refusal. The stored room decides; what it
        said is kept with the connection for as long as its entry into the member room stands (a removal, an end
        or a new session takes the connection out of that room or enters it again), so a message costs no read."""
        room_name = members_room(group_id)
        stamp = self._entry_stamp(conn.sid, room_name)
        cached = conn.chat_entry
        if stamp is not None and cached is not None and cached[0] == room_name and cached[1] == stamp:
            return cached[2]
        room = await self._live_room(group_id)
        member = None if room is None else room.member(conn.account.user_id)
        if room is None or member is None:
            raise not_authorized("Only people in the group's live room can write in its chat.")
        if stamp is not None and member.peer_id == conn.sid and self._entry_stamp(conn.sid, room_name) == stamp:
            conn.chat_entry = (room_name, stamp, room.session_id)
        return room.session_id

    def _entry_stamp(self, sid: str, room_name: str) -> int | None:
        stamps = getattr(self.sio.manager, "entry_stamp", None)
        return None if stamps is None else cast("int | None", stamps(sid, room_name))

    async def _may_read(self, conn: LocalConnection, conversation: Conversation) -> Readable:
        if conversation.kind == "dm":
            await self._may_write(conn, conversation)
            return Readable(None)
        assert conversation.group_id is not None
        user_id = conn.account.user_id
        enrolment = await self.groups.enrolment(conversation.group_id, user_id)
        if enrolment is None:
            raise not_authorized("Only the group's members can read its chat.")
        if enrolment.role is Role.FACILITATOR:
            return Readable(None, facilitator=True)
        room = await self._live_room(conversation.group_id)
        if room is not None and (room.waiting(user_id) is not None or user_id in room.barred):
            raise not_authorized("You can read the group's chat once you are in the room.")
        try:
            sessions = await self.repository.readable_sessions(conversation.group_id, user_id)
        except ChatUnavailable:
            raise SignalingError("unavailable", "Chat history is unreachable for a moment; try again.") from None
        if room is not None and room.session_id is not None:
            # The live session is for the people in the room; once it is over, for everyone who was admitted.
            if room.member(user_id) is not None:
                sessions.add(room.session_id)
            else:
                sessions.discard(room.session_id)
        if not sessions:
            raise not_authorized("You can read the group's chat once you are in the room.")
        return Readable(frozenset(sessions))

    def _throttle_sender(self, user_id: str) -> None:
        bucket = self._senders.get(user_id)
        if bucket is None:
            bucket = self._senders[user_id] = TokenBucket(SENDS_PER_SECOND, SEND_BURST)
            while len(self._senders) > MAX_TRACKED_SENDERS:
                self._senders.popitem(last=False)
        self._senders.move_to_end(user_id)
        if not bucket.take(self.clock()):
            raise SignalingError("rate_limited", "You are sending messages too fast; wait a moment.")

    # -- delivery -----------------------------------------------------------------------------------------

    def _wire(self, message: StoredMessage, name: str) -> dict[str, Any]:
        return {
            "conversation": name,
            "id": message.id,
            "seq": message.seq,
            "sender_id": message.sender_id,
            "display_name": message.display_name,
            "body": message.body,
            "sent_at": message.sent_at,
            **({"deleted": True} if message.deleted else {}),
        }

    async def _fan_out(
        self, event: str, conversation: Conversation, conn: LocalConnection, payload: Callable[[str], dict[str, Any]]
    ) -> None:
        """Send to everyone the conversation concerns, each naming it their way; not to the asking connection."""
        if conversation.kind == "room":
            await self.sio.emit(
                event,
                payload(conversation.named_for("")),
                to=members_room(str(conversation.group_id)),
                skip_sid=conn.sid,
            )
            return
        me, other = conn.account.user_id, str(conversation.other_id)
        await self.sio.emit(event, payload(conversation.named_for(other)), to=f"u:{other}")
        await self.sio.emit(event, payload(conversation.named_for(me)), to=f"u:{me}", skip_sid=conn.sid)

    # -- events -------------------------------------------------------------------------------------------

    async def send(self, conn: LocalConnection, body: wire.ChatSend) -> Ack:
        conversation = conversation_of(body.conversation, conn.account.user_id)
        session_id = await self._may_write(conn, conversation)
        self._throttle_sender(conn.account.user_id)
        try:
            message, new = await self.repository.send(
                conversation.key, conversation.group_id, conn.account, body.client_id, body.body, session_id
            )
        except ChatUnavailable:
            raise SignalingError("unavailable", "The message was not stored; send it again.") from None
        except ClientIdReused:
            raise SignalingError("conflict", "This client_id was used for another conversation.") from None
        if new:
            await self._fan_out("chat:message", conversation, conn, lambda name: self._wire(message, name))
        return ok(message={"id": message.id, "seq": message.seq, "sent_at": message.sent_at})

    async def history(self, conn: LocalConnection, body: wire.ChatHistory) -> Ack:
        conversation = conversation_of(body.conversation, conn.account.user_id)
        readable = await self._may_read(conn, conversation)
        try:
            messages = await self.repository.history(
                conversation.key, body.after_seq, body.before_seq, body.limit, readable.sessions
            )
        except ChatUnavailable:
            raise SignalingError("unavailable", "Chat history is unreachable for a moment; try again.") from None
        if readable.facilitator and self.records is not None:
            await self._audit_read(conn, conversation, len(messages))
        name = conversation.named_for(conn.account.user_id)
        return ok(conversation=name, messages=[self._wire(m, name) for m in messages])

    async def _audit_read(self, conn: LocalConnection, conversation: Conversation, count: int) -> None:
        """Staff reading a group's chat is part of the access record (how many messages, never what they said)."""
        assert self.records is not None
        assert conversation.group_id is not None
        try:
            await self.records.audit(
                conn.account.user_id, "chat.history.read", "success", conversation.group_id, None, {"count": count}
            )
        except Exception:
            log.exception("audit write failed", extra={"action": "chat.history.read"})

    async def delete(self, conn: LocalConnection, body: wire.ChatDelete) -> Ack:
        """A facilitator deletes any message of their group's chat; anyone their own, while they may read it."""
        conversation = conversation_of(body.conversation, conn.account.user_id)
        readable = await self._may_read(conn, conversation)
        message = await self.repository.find(conversation.key, str(body.id))
        if message is None:
            raise SignalingError("not_found", "No such message in this conversation.")
        mine = message.sender_id == conn.account.user_id
        if not readable.covers(message):
            if mine:
                raise not_authorized("You can delete your message only while you can read it.")
            # Someone else's message that this person cannot read is not there for them.
            raise SignalingError("not_found", "No such message in this conversation.")
        if not mine and not readable.facilitator:
            raise not_authorized("Only a facilitator can delete someone else's message.")
        erased = await self.repository.erase(conversation.key, message.id, conn.account.user_id)
        assert erased is not None
        await self._fan_out(
            "chat:deleted", conversation, conn, lambda name: {"conversation": name, "id": erased.id, "seq": erased.seq}
        )
        return ok()

    async def typing(self, conn: LocalConnection, body: wire.ChatTyping) -> Ack:
        """Ephemeral and never stored; allowed to those who may send; at most one notice every two seconds per
        connection and conversation."""
        conversation = conversation_of(body.conversation, conn.account.user_id)
        now, key = self.clock(), (conn.sid, conversation.key)
        # Throttled before the permission check (which costs a lookup): only a permitted notice is remembered, so
        # a refused one is never answered ok.
        if now - self._typing.get(key, -TYPING_EVERY_SECONDS) < TYPING_EVERY_SECONDS:
            return ok()
        await self._may_write(conn, conversation)
        self._typing[key] = now
        self._typing.move_to_end(key)
        while len(self._typing) > MAX_TRACKED_SENDERS:
            self._typing.popitem(last=False)
        user = {"user_id": conn.account.user_id, "display_name": conn.account.display_name}
        await self._fan_out("chat:typing", conversation, conn, lambda name: {"conversation": name, **user})
        return ok()

    async def read(self, conn: LocalConnection, body: wire.ChatRead) -> Ack:
        """How far the reader has read; allowed to those who may read the conversation's history. A mark that moved
        is told to the reader's other connections, so unread counts clear on every device."""
        me = conn.account.user_id
        conversation = conversation_of(body.conversation, me)
        await self._may_read(conn, conversation)
        moved = await self.repository.mark_read(me, conversation.key, body.seq)
        if moved is not None:
            name = conversation.named_for(me)
            await self.sio.emit("chat:read", {"conversation": name, "seq": moved}, to=f"u:{me}", skip_sid=conn.sid)
        return ok()
