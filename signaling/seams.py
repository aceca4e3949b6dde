"""What the signaling layer needs from the rest of the server, as small protocols the server implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

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


class Directory(Protocol):
    async def account_for_token(self, token: str) -> Account | None:
        """The active account a valid, unexpired token names; None for anything else."""

    async def enrolment(self, group_id: str, user_id: str) -> Enrolment | None:
        """None when the group does not exist, is archived, or the user is not enrolled in it."""

    async def set_lobby_enabled(self, group_id: str, enabled: bool) -> None: ...

    async def chat_last_seq(self, conversation: str) -> int: ...


class RoomRecords(Protocol):
    async def record(self, group_id: str, events: list[Event]) -> None:
        """Write the durable side of ``events``: sessions, attendance."""

    async def audit(
        self, actor_id: str, action: str, outcome: str, group_id: str, target_id: str | None, detail: dict[str, Any]
    ) -> None: ...


class IceServers(Protocol):
    def __call__(self, user_id: str) -> list[dict[str, Any]]:
        """STUN/TURN servers for this user's WebRTC connections, TURN with fresh time-limited credentials."""
