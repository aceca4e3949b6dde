"""What a transition caused, for the signaling layer to deliver and the server to record."""

from __future__ import annotations

from dataclasses import dataclass, field

from rooms.model import GroupSettings, LeaveReason, MediaKind, Member, Waiting


@dataclass(frozen=True, slots=True)
class SessionOpened:
    session_id: str
    opened_by: str
    at: float


@dataclass(frozen=True, slots=True)
class SessionClosed:
    session_id: str
    ended_by: str | None
    at: float


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """A person entered the room (a new stay, which starts an attendance record)."""

    member: Member
    admitted_by: str | None
    # When they began waiting in the lobby for this stay (None: they walked straight in).
    waited_since: float | None = None


@dataclass(frozen=True, slots=True)
class MemberUpdated:
    """A member's fields changed: media flags, hand, connection, or the connection holding their place."""

    member: Member
    # Whether their camera or connection may have changed: what attendance records (a hand or a microphone does
    # not). A note for the records, not part of what happened: events compare without it.
    recorded: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True)
class MemberResumed:
    """A member came back on a new connection (``previous_peer_id``) without passing the lobby."""

    member: Member
    previous_peer_id: str


@dataclass(frozen=True, slots=True)
class MemberLeft:
    user_id: str
    peer_id: str
    reason: LeaveReason
    at: float
    to_lobby: bool = False


@dataclass(frozen=True, slots=True)
class WaitingStarted:
    """Someone entered the lobby (on ``waiting.peer_id``) and waits for admission."""

    waiting: Waiting


@dataclass(frozen=True, slots=True)
class LobbyChanged:
    lobby: tuple[Waiting, ...]


@dataclass(frozen=True, slots=True)
class Admitted:
    user_id: str
    peer_id: str
    by: str | None


@dataclass(frozen=True, slots=True)
class Denied:
    user_id: str
    peer_id: str
    by: str | None


@dataclass(frozen=True, slots=True)
class Removed:
    """A facilitator (``by``), or the program's administration (None), removed this person: every connection of
    theirs leaves the room."""

    user_id: str
    by: str | None


@dataclass(frozen=True, slots=True)
class Muted:
    user_id: str
    kind: MediaKind
    by: str


@dataclass(frozen=True, slots=True)
class UnmuteRequested:
    user_id: str
    kind: MediaKind
    by: str


@dataclass(frozen=True, slots=True)
class HandQueueChanged:
    queue: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LockChanged:
    locked: bool
    by: str


@dataclass(frozen=True, slots=True)
class LobbySettingChanged:
    enabled: bool
    by: str


@dataclass(frozen=True, slots=True)
class RoomEnded:
    """The session is over for everyone still in the room or the lobby (their peer ids are named); ``by`` is None
    when the group was archived."""

    by: str | None
    peer_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The program's administration changed the group's settings while its room is live."""

    settings: GroupSettings


@dataclass(frozen=True, slots=True)
class MediaForwarded:
    """The room grew past what a mesh carries: from now on its media goes through the forwarder."""


Event = (
    MediaForwarded
    | SessionOpened
    | SessionClosed
    | MemberJoined
    | MemberUpdated
    | MemberResumed
    | MemberLeft
    | WaitingStarted
    | LobbyChanged
    | Admitted
    | Denied
    | Removed
    | Muted
    | UnmuteRequested
    | HandQueueChanged
    | LockChanged
    | LobbySettingChanged
    | SettingsChanged
    | RoomEnded
)
