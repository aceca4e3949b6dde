"""What the rest of the server tells the live side (and the little it asks it), owned by the live side.

The REST API calls these after its change is committed. Each takes effect on every node: through the live
state every node shares (room and call documents), the fan-out (``session:ended``, disconnects), and, for a notice
lost on the way, the connections' own re-checks (``signaling.sessions``). None of them raises for an outage of
the live state: the change is committed, and the re-checks converge on it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class AccessChange(StrEnum):
    """Why an account's live connections end; the value is the ``session:ended`` code."""

    DISABLED = "account_disabled"
    SIGNED_OUT = "signed_out"
    ROLE_CHANGED = "role_changed"


class LiveStateUnavailable(Exception):
    """Live state (presence, calls) cannot be read for a moment."""


class LiveControl(Protocol):
    async def account_changed(self, user_id: str, change: AccessChange) -> None:
        """End every connection of the account with ``session:ended``; when it is disabled, its places in
        rooms and calls end as if it had left."""

    async def membership_removed(self, group_id: str, user_id: str) -> None:
        """The person is no longer in the group: out of its live room and lobby, as removed."""

    async def group_changed(self, group_id: str) -> None:
        """The group was archived or its settings changed: its live room ends or takes the new settings."""

    async def pairing_ended(self, pairing_id: str, people: tuple[str, str]) -> None:
        """The pairing ended: the two people's call ends."""

    async def contact_status(self, user_id: str) -> str:
        """``online``, ``in_call`` or ``offline``; raises LiveStateUnavailable when that cannot be told."""
