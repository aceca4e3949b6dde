"""Contacts' status: whether the people paired with someone are online, in a call or offline, and telling
them when it changes.

Status is derived, never stored: ``in_call`` when the person's line holds an answered call, ``online`` when any
node holds a connection of theirs, else ``offline``. Changes are announced by whichever node saw them, to every
connection of each contact (``u:<user>`` rooms span the nodes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import socketio

from rooms.calls import CallState
from signaling.call_lines import Lines
from signaling.presence import Presence
from signaling.room_store import Document, RoomStore
from signaling.seams import PairingDirectory

log = logging.getLogger("haven.calls")

ONLINE = "online"
OFFLINE = "offline"
IN_CALL = "in_call"


class ContactStatus:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        pairings: PairingDirectory,
        presence: Presence,
        lines: Lines,
        announced: RoomStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sio = sio
        self.pairings = pairings
        self.presence = presence
        self.lines = lines
        # The status last announced for each person who is not offline, so that two nodes seeing the same change
        # at once (two connections closing together) announce it once.
        self.announced = announced
        self.clock = clock

    async def status(self, user_id: str) -> str:
        call = await self.lines.holder(user_id)
        if call is not None and call.state is CallState.ANSWERED:
            return IN_CALL
        return ONLINE if await self.presence.of_user(user_id, self.clock()) else OFFLINE

    async def announce(self, user_id: str, status: str | None = None) -> None:
        """Tell this person's contacts where they stand now (``status`` when the caller knows it already); a
        failure is logged, never raised (it is a hint)."""
        try:
            contacts = await self.pairings.contacts(user_id)
            if not contacts:
                return
            status = status or await self.status(user_id)
            if not await self.announced.update(user_id, lambda last: _record(last, status)):
                return
            await self.sio.emit(
                "contact:status", {"user_id": user_id, "status": status}, to=[f"u:{c.user_id}" for c in contacts]
            )
        except Exception:
            log.exception("announcing a contact's status failed")


def _record(last: Document | None, status: str) -> tuple[Document | None, bool]:
    """Note ``status`` as announced (offline is the absence of a note); True when it differs from the last one."""
    if (OFFLINE if last is None else last.get("status")) == status:
        return last, False
    return (None if status == OFFLINE else {"status": status}), True
