"""Group room state: who is in the room and the lobby, their media flags, hands, lock and the open session.

Everything is immutable; transitions (``rooms.transitions``) return a new ``Room`` and the events it caused.
Identity is the person (``user_id``), not the connection: ``peer_id`` is the connection currently holding
the person's place, and changes when they come back on another connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Role(StrEnum):
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


class LeaveReason(StrEnum):
    LEFT = "left"
    REMOVED = "removed"
    CONNECTION_LOST = "connection_lost"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Person:
    """Who is acting, as the server knows them (from the token and the database, never from a payload)."""

    user_id: str
    display_name: str
    role: Role


@dataclass(frozen=True, slots=True)
class GroupSettings:
    capacity: int
    lobby_enabled: bool = True
    self_unmute_allowed: bool = True
    # Whether participants may share their screen (facilitators always may: a worksheet, a slide).
    screen_share_allowed: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    display_name: str
    role: Role
    peer_id: str
    joined_at: float
    admitted_by: str | None = None
    audio: bool = True
    video: bool = True
    # Who turned the kind off, when a facilitator did; cleared when the member may turn it on again.
    audio_muted_by: str | None = None
    video_muted_by: str | None = None
    connected: bool = True
    disconnected_at: float | None = None
    # True while the member's video is their shared screen instead of their camera.
    screen: bool = False

    def muted_by(self, kind: MediaKind) -> str | None:
        return self.audio_muted_by if kind is MediaKind.AUDIO else self.video_muted_by

    def with_media(self, kind: MediaKind, on: bool, muted_by: str | None) -> Member:
        if kind is MediaKind.AUDIO:
            return replace(self, audio=on, audio_muted_by=muted_by)
        return replace(self, video=on, video_muted_by=muted_by)


@dataclass(frozen=True, slots=True)
class Waiting:
    """Someone in the lobby, waiting for a facilitator to admit them."""

    user_id: str
    display_name: str
    peer_id: str
    since: float
    # True when a facilitator removed them earlier in this session: only a facilitator lets them back.
    removed_before: bool = False
    # True when a facilitator sent them back to the lobby: they wait for admission even with the lobby off.
    held: bool = False


@dataclass(frozen=True, slots=True)
class Room:
    room_id: str
    settings: GroupSettings
    members: tuple[Member, ...] = ()
    lobby: tuple[Waiting, ...] = ()
    hands: tuple[str, ...] = ()
    locked: bool = False
    session_id: str | None = None
    opened_at: float | None = None
    barred: frozenset[str] = field(default_factory=frozenset)
    # True once the room's media goes through the forwarder; it stays so for the rest of the session.
    forwarded: bool = False

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)

    def waiting(self, user_id: str) -> Waiting | None:
        return next((w for w in self.lobby if w.user_id == user_id), None)

    def facilitators_present(self) -> bool:
        return any(m.role is Role.FACILITATOR and m.connected for m in self.members)

    @property
    def is_full(self) -> bool:
        return len(self.members) >= self.settings.capacity

    @property
    def is_empty(self) -> bool:
        return not self.members and not self.lobby

    def with_member(self, member: Member) -> Room:
        """The room with ``member`` replacing the one of the same person, or appended."""
        if self.member(member.user_id) is None:
            return replace(self, members=(*self.members, member))
        return replace(self, members=tuple(member if m.user_id == member.user_id else m for m in self.members))

    def without_member(self, user_id: str) -> Room:
        return replace(
            self,
            members=tuple(m for m in self.members if m.user_id != user_id),
            hands=tuple(h for h in self.hands if h != user_id),
        )

    def without_waiting(self, user_id: str) -> Room:
        return replace(self, lobby=tuple(w for w in self.lobby if w.user_id != user_id))
