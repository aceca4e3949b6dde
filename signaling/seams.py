"""What the signaling layer needs from the rest of the server, as small protocols the server implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rooms.calls import Call, CallEvent
from rooms.events import Event
from rooms.model import GroupSettings, Role


@dataclass(frozen=True, slots=True)
class Account:
    """A signed-in user as the database knows them."""

    user_id: str
    display_name: str
    role: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A person's place in a group, and the group's current settings."""

    role: Role
    settings: GroupSettings


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone paired with the person asking: ``relationship`` is what they are to that person."""

    user_id: str
    display_name: str
    relationship: str  # "mentor" or "mentee"
    pairing_id: str


class Directory(Protocol):
    async def account_for_token(self, token: str) -> Account | None:
        """The active account a valid, unexpired token names; None for anything else."""

    async def enrolment(self, group_id: str, user_id: str) -> Enrolment | None:
        """None when the group does not exist, is archived, or the user is not enrolled in it."""

    async def set_lobby_enabled(self, group_id: str, enabled: bool) -> None: ...

    async def chat_last_seq(self, conversation: str) -> int: ...

    async def may_message(self, user_id: str, other_id: str) -> bool:
        """Whether a direct conversation is allowed: a paired mentor and mentee (active pairing), or a
        facilitator and a member of one of their groups."""

    async def contacts(self, user_id: str) -> list[Contact]:
        """The people with an active pairing with this user, by name."""

    async def contact(self, user_id: str, other_id: str) -> Contact | None:
        """``other_id`` as this user's contact, if an active pairing joins the two."""


class RoomRecords(Protocol):
    async def record(self, group_id: str, events: list[Event]) -> None:
        """Write the durable side of ``events``: sessions, attendance."""

    async def audit(
        self, actor_id: str, action: str, outcome: str, group_id: str, target_id: str | None, detail: dict[str, Any]
    ) -> None: ...


class CallRecords(Protocol):
    async def opened(self, call: Call) -> None:
        """Write the call's row (before anyone can answer it); an invitation that ended at once as busy too."""

    async def record(self, events: list[CallEvent]) -> None:
        """Write the durable side of ``events``: answered and ended times, the outcome, the ``call.end`` audit."""

    async def audit(
        self, actor_id: str, action: str, outcome: str, call_id: str | None, target_id: str | None
    ) -> None: ...


class IceServers(Protocol):
    def __call__(self, user_id: str) -> list[dict[str, Any]]:
        """STUN/TURN servers for this user's WebRTC connections, TURN with fresh time-limited credentials."""


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A chat message as stored; ``body`` is None once deleted or purged (the row stays as a tombstone)."""

    id: str
    key: str
    seq: int
    sender_id: str | None
    display_name: str | None
    body: str | None
    sent_at: str
    deleted: bool


class ChatUnavailable(Exception):
    """The database did not take the message; nothing was stored and nothing may be acknowledged."""


class ClientIdReused(Exception):
    """This sender already used the client id for a message in another conversation."""


class ChatRepository(Protocol):
    async def send(
        self, key: str, group_id: str | None, sender: Account, client_id: str, body: str
    ) -> tuple[StoredMessage, bool]:
        """Store with the conversation's next sequence number, in one transaction; returns the message and
        whether it is new (False: this sender's ``client_id`` was stored before, and that message is returned)."""

    async def history(self, key: str, after_seq: int | None, before_seq: int | None, limit: int) -> list[StoredMessage]:
        """Messages in ``seq`` order: after ``after_seq``, or the latest ``limit`` before ``before_seq``."""

    async def find(self, key: str, message_id: str) -> StoredMessage | None: ...

    async def erase(self, key: str, message_id: str, by: str) -> StoredMessage | None:
        """Erase the body, keep a tombstone, audit it; None if there is no such message."""

    async def mark_read(self, user_id: str, key: str, seq: int) -> None: ...
