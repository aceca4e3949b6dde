"""What the signaling layer needs from the rest of the server, as small protocols the server implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from rooms.calls import Call, CallEvent
from rooms.events import Event
from rooms.model import GroupSettings, Member, Role, Room


@dataclass(frozen=True, slots=True)
class Account:
    """A signed-in user as the database knows them."""

    user_id: str
    display_name: str
    role: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """A version of a group's agreement (its confidentiality rules), which participants accept before entering."""

    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A person's place in a group, and the group's current settings.

    The last fields are read only for a join (``GroupDirectory.enrolment`` with ``joining_at``): what entering
    at that time needs. Otherwise they keep their defaults.
    """

    role: Role
    settings: GroupSettings
    # A participant's: the group's current agreement, when they have not accepted it (they may not enter yet).
    agreement: Agreement | None = None
    # Whether the group has a schedule at all: a participant's entry then asks ``GroupDirectory.opening`` when no
    # session is open in the room.
    scheduled: bool = False
    # A facilitator's: the id a session opened by their entry gets (the scheduled occurrence's, or a fresh one).
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone paired with the person asking: ``relationship`` is what they are to that person."""

    user_id: str
    display_name: str
    relationship: str  # "mentor" or "mentee"
    pairing_id: str


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token grants: an account, from when until when (seconds since the epoch), in which session epoch."""

    account: Account
    issued_at: float
    expires_at: float
    epoch: int


@dataclass(frozen=True, slots=True)
class AccountState:
    """An account as it stands now, to compare a live connection's grant with."""

    role: str
    active: bool
    epoch: int


@dataclass(frozen=True, slots=True)
class GroupState:
    """A group's current settings, and whether it is archived (its live room may not go on)."""

    settings: GroupSettings
    archived: bool


class Accounts(Protocol):
    async def grant(self, token: str) -> Grant | None:
        """What a valid, unexpired token grants, when it names an active account and was issued in the account's
        current session epoch (a password change raises the epoch); None for anything else."""

    async def states(self, user_ids: Collection[str]) -> dict[str, AccountState]:
        """These accounts as they stand now; an id that names no account is absent from the answer."""


class GroupDirectory(Protocol):
    async def enrolment(self, group_id: str, user_id: str, joining_at: float | None = None) -> Enrolment | None:
        """None when the group does not exist, is archived, or the user is not enrolled in it. With
        ``joining_at`` (epoch seconds) it also carries what entering the room then needs: the agreement a
        participant has yet to accept, whether the group is scheduled, the session id a facilitator opens."""

    async def opening(self, group_id: str, at: float) -> float | None:
        """None when the schedule lets participants in at ``at`` (epoch seconds); otherwise when it next does
        (``inf``: nothing is scheduled ahead)."""

    async def group(self, group_id: str) -> GroupState | None:
        """None when there is no such group."""

    async def set_lobby_enabled(self, group_id: str, enabled: bool) -> None: ...

    async def chat_last_seq(self, conversation: str) -> int: ...


class PairingDirectory(Protocol):
    async def may_message(self, user_id: str, other_id: str) -> bool:
        """Whether a direct conversation is allowed: a paired mentor and mentee (active pairing), or a
        facilitator and a member of one of their groups."""

    async def contacts(self, user_id: str) -> list[Contact]:
        """The people with an active pairing with this user, by name."""

    async def contact(self, user_id: str, other_id: str) -> Contact | None:
        """``other_id`` as this user's contact, if an active pairing joins the two."""


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An audit row to write with a change's records, in the same transaction."""

    actor_id: str
    action: str
    outcome: str
    target_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class RoomRecords(Protocol):
    async def record(
        self, group_id: str, events: list[Event], audit: AuditNote | None = None, room: Room | None = None
    ) -> None:
        """Write the durable side of ``events``: sessions, attendance; and ``audit``, in one transaction. ``room``
        is the room as the change left it (its session)."""

    async def audit(
        self, actor_id: str, action: str, outcome: str, group_id: str, target_id: str | None, detail: dict[str, Any]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """A check-in or support request as stored: its id and when (ISO 8601, UTC)."""

    id: str
    at: str


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A support request's acknowledgement: whose request, by whom, and whether this call made it (False: it was
    acknowledged before, and ``by`` is who did)."""

    request_id: str
    user_id: str
    by: str
    at: str
    new: bool


class ProgramRecords(Protocol):
    """The durable side of check-ins and support requests. Each write commits with its audit row (ids only, never
    the note) before it returns: nothing is acknowledged or delivered that is not stored."""

    async def checkin(
        self, group_id: str, user_id: str, session_id: str | None, rating: int, note: str | None, at: float
    ) -> StoredSignal:
        """Store a check-in; ``session_id`` is kept only if that session is recorded."""

    async def support_request(
        self, group_id: str, user_id: str, session_id: str | None, note: str | None, at: float
    ) -> StoredSignal: ...

    async def acknowledge(self, group_id: str, request_id: str, by: str, at: float) -> Acknowledgement | None:
        """Mark the group's support request acknowledged by ``by``; None when the group has no such request."""


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

    @property
    def transport_policy(self) -> str:
        """The clients' ``iceTransportPolicy``, the same for every connection: ``all``, or ``relay`` (only TURN
        relay candidates, so nobody learns another person's network address; signaling then relays no other)."""


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
    # The session (meeting) a room message was sent in; None for direct messages and older room messages.
    session_id: str | None = None


class ChatUnavailable(Exception):
    """The database did not take the message; nothing was stored and nothing may be acknowledged."""


class ClientIdReused(Exception):
    """This sender already used the client id for a message in another conversation."""


class ChatRepository(Protocol):
    async def send(
        self, key: str, group_id: str | None, sender: Account, client_id: str, body: str, session_id: str | None = None
    ) -> tuple[StoredMessage, bool]:
        """Store with the conversation's next sequence number, in one transaction; returns the message and
        whether it is new (False: this sender's ``client_id`` was stored before, and that message is returned).
        ``session_id`` is the live session a room message is sent in (kept only if that session is recorded)."""

    async def history(
        self,
        key: str,
        after_seq: int | None,
        before_seq: int | None,
        limit: int,
        sessions: Collection[str] | None = None,
    ) -> list[StoredMessage]:
        """Messages in ``seq`` order: after ``after_seq``, or the latest ``limit`` before ``before_seq``. With
        ``sessions``, only messages sent in those sessions count (paging and ``limit`` included); None: all."""

    async def readable_sessions(self, group_id: str, user_id: str) -> set[str]:
        """The group's sessions this person was admitted to and not removed from: those where they have a stay
        in the attendance records and their last stay did not end in a removal (a later admission lifts it)."""

    async def find(self, key: str, message_id: str) -> StoredMessage | None: ...

    async def erase(self, key: str, message_id: str, by: str) -> StoredMessage | None:
        """Erase the body, keep a tombstone, audit it; None if there is no such message."""

    async def mark_read(self, user_id: str, key: str, seq: int) -> int | None: ...


# (room id, a member's peer id or "room" for every member, event, data): how the forwarder speaks to members.
MediaSend = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


class MediaPlane(Protocol):
    """Haven's forwarder as signaling sees it: where a room's media is served, and the room's state kept in step.

    Refusals are ``rooms.errors.RoomError``s (``invalid_request``, ``unsupported_media``, ``conflict``,
    ``not_authorized``), mapped to the wire like any other.
    """

    mesh_limit: int
    """Members a room carries as a mesh; a room with more goes through the forwarder (0: every room does)."""

    def connect(
        self, send: MediaSend, moved: Callable[[str], Awaitable[None]], refresh: Callable[[str], Awaitable[None]]
    ) -> None:
        """Where the forwarder's answers, offers and speaker lists go, who re-announces a room's media when its
        forwarder moved, and who syncs a room again from the stored state (set once, before the first room)."""

    async def start(self) -> None:
        """Begin the background work (serving other nodes, keeping leases); called once the loop runs."""

    async def close(self) -> None:
        """Close every member's media and give up this node's rooms."""

    async def forwarder(self, room_id: str) -> str:
        """The peer id of the forwarder serving the room, placing the room on a worker when none does."""

    async def sync(self, room_id: str, room: Room | None) -> None:
        """The room's state after a change (``None``: it ended): members gone lose their media, mutes apply."""

    async def signal(self, room: Room, to: str, member: Member, payload: dict[str, Any]) -> None:
        """A member's offer, answer or candidate addressed to ``to``, the room's forwarder."""
