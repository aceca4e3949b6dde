"""Access that ends, ends on live connections: the live side of ``signaling.control.LiveControl``.

Whatever node the administrator's request reached does the work for every node: room and call documents are
shared, ``session:ended`` goes to the person's ``u:<user>`` room across nodes, and a disconnect of a connection
held by another node travels there over the fan-out. Fan-out delivers at most once; a lost notice is caught by
the connections' own re-checks (``signaling.sessions``) within their period.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import socketio

from signaling.calls import Calls
from signaling.contacts import ContactStatus
from signaling.control import AccessChange, LiveStateUnavailable
from signaling.group_rooms import GroupRooms
from signaling.presence import Presence
from signaling.room_store import StoreConflict, StoreUnavailable
from signaling.seams import GroupDirectory

log = logging.getLogger("haven.access")

ENDED_MESSAGES = {
    "token_expired": "Your sign-in has expired; sign in again.",
    AccessChange.DISABLED.value: "This account has been disabled.",
    AccessChange.SIGNED_OUT.value: "The password of this account changed; sign in again.",
    AccessChange.ROLE_CHANGED.value: "Your role in the program changed; connect again.",
}
# The live state a change may fail to reach for a moment; the re-checks converge on it afterwards.
LIVE_OUTAGES = (StoreUnavailable, StoreConflict)


def ended(code: str) -> dict[str, str]:
    """The ``session:ended`` payload for a code."""
    return {"code": code, "message": ENDED_MESSAGES[code]}


class LiveAccess:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        presence: Presence,
        rooms: GroupRooms,
        calls: Calls,
        contacts: ContactStatus,
        groups: GroupDirectory,
        local_sids: Callable[[str], list[str]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sio = sio
        self.presence = presence
        self.rooms = rooms
        self.calls = calls
        self.contacts = contacts
        self.groups = groups
        self.local_sids = local_sids
        self.clock = clock

    async def account_changed(self, user_id: str, change: AccessChange) -> None:
        sids = set(self.local_sids(user_id))
        room_ids: set[str] = set()
        try:
            for connection in await self.presence.of_user(user_id, self.clock()):
                sids.add(connection.sid)
                if connection.room_id is not None:
                    room_ids.add(connection.room_id)
        except StoreUnavailable:
            log.warning("presence unavailable while ending an account's connections")
        if change is AccessChange.DISABLED:
            # Gone for good: the places end now rather than after a grace period.
            for room_id in room_ids:
                await self._quietly(self.rooms.leave_as(room_id, user_id))
            await self._quietly(self.calls.end_line(user_id))
        await self.sio.emit("session:ended", ended(change.value), to=f"u:{user_id}")
        for sid in sids:
            await self.sio.disconnect(sid)

    async def membership_removed(self, group_id: str, user_id: str) -> None:
        await self._quietly(self.rooms.withdraw(group_id, user_id))

    async def group_changed(self, group_id: str) -> None:
        group = await self.groups.group(group_id)
        await self._quietly(self.rooms.regroup(group_id, group))

    async def pairing_ended(self, pairing_id: str, people: tuple[str, str]) -> None:
        await self._quietly(self.calls.pairing_ended(pairing_id, people))

    async def contact_status(self, user_id: str) -> str:
        try:
            return await self.contacts.status(user_id)
        except StoreUnavailable:
            raise LiveStateUnavailable from None

    @staticmethod
    async def _quietly(work: Awaitable[None]) -> None:
        try:
            await work
        except LIVE_OUTAGES:
            log.warning("live state unavailable while applying an administrator's change")
