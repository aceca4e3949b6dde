"""What a program's members tell their facilitators privately: check-ins and "I need support".

``lobby:checkin`` (a participant's 1 to 5 rating and an optional note, while waiting in the lobby or before
joining) and ``support:request`` (from someone holding a place in the room or its lobby) go only to the
facilitators' Socket.IO room of that group room (``f:<room>``), never to the members' room: nobody else ever
receives them. Each is stored, with its audit row, before it is acknowledged or delivered; notes never reach
the logs. ``support:acknowledge`` (a facilitator) tells the facilitators and every connection of the requester.

Authorization comes first, as everywhere: someone not enrolled in the group (or a group that does not exist) is
``not_authorized`` whatever else is wrong.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import socketio

from rooms.document import from_document
from rooms.model import Role, Room
from signaling import wire
from signaling.acks import Ack, SignalingError, not_authorized, ok
from signaling.connection import LocalConnection
from signaling.delivery import facilitators_room
from signaling.rate_limit import TokenBucket
from signaling.room_store import RoomStore
from signaling.seams import Enrolment, GroupDirectory, ProgramRecords

# A check-in or a call for support is a deliberate act: a few in a row are fine, a stream is not.
SIGNALS_PER_SECOND = 0.2
SIGNAL_BURST = 5.0
MAX_TRACKED_SENDERS = 50_000
# Ratings at or below this are flagged for the facilitators.
FLAGGED_AT_MOST = 2


def _note(note: str | None) -> str | None:
    return note if note is not None and note.strip() else None


class Program:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        store: RoomStore,
        groups: GroupDirectory,
        records: ProgramRecords,
        clock: Callable[[], float] = time.time,
        throttle_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sio = sio
        self.store = store
        self.groups = groups
        self.records = records
        self.clock = clock
        self.throttle_clock = throttle_clock
        self._senders: OrderedDict[str, TokenBucket] = OrderedDict()

    async def _enrolment(self, conn: LocalConnection, room_id: str, refusal: str) -> Enrolment:
        enrolment = await self.groups.enrolment(room_id, conn.account.user_id)
        if enrolment is None:
            raise not_authorized(refusal)
        return enrolment

    async def _room(self, room_id: str) -> Room | None:
        document = await self.store.read(room_id)
        return None if document is None else from_document(document)

    def _throttle(self, user_id: str) -> None:
        bucket = self._senders.get(user_id)
        if bucket is None:
            bucket = self._senders[user_id] = TokenBucket(SIGNALS_PER_SECOND, SIGNAL_BURST)
            while len(self._senders) > MAX_TRACKED_SENDERS:
                self._senders.popitem(last=False)
        self._senders.move_to_end(user_id)
        if not bucket.take(self.throttle_clock()):
            raise SignalingError("rate_limited", "You have sent several of these just now; wait a moment.")

    async def _to_facilitators(self, event: str, room_id: str, data: dict[str, Any]) -> None:
        await self.sio.emit(event, data, to=facilitators_room(room_id))

    # -- events -------------------------------------------------------------------------------------------

    async def checkin(self, conn: LocalConnection, body: wire.CheckIn) -> Ack:
        room_id, user_id = str(body.room_id), conn.account.user_id
        enrolment = await self._enrolment(conn, room_id, "Only the group's participants can check in.")
        if enrolment.role is not Role.PARTICIPANT:
            raise not_authorized("Only the group's participants check in.")
        self._throttle(user_id)
        room = await self._room(room_id)
        at = self.clock()
        note = _note(body.note)
        stored = await self.records.checkin(
            room_id, user_id, None if room is None else room.session_id, body.rating, note, at
        )
        await self._to_facilitators(
            "lobby:checkin",
            room_id,
            {
                "room_id": room_id,
                "id": stored.id,
                "user_id": user_id,
                "display_name": conn.account.display_name,
                "rating": body.rating,
                "note": note,
                "flagged": body.rating <= FLAGGED_AT_MOST,
                "at": stored.at,
            },
        )
        return ok(id=stored.id, at=stored.at)

    async def request_support(self, conn: LocalConnection, body: wire.SupportRequest) -> Ack:
        room_id, user_id = str(body.room_id), conn.account.user_id
        await self._enrolment(conn, room_id, "Only the group's members can ask its facilitators for support.")
        room = await self._room(room_id)
        if room is None or (room.member(user_id) is None and room.waiting(user_id) is None):
            raise SignalingError("not_in_room", "Join the room (or its lobby) to ask the facilitators for support.")
        self._throttle(user_id)
        note = _note(body.note)
        stored = await self.records.support_request(room_id, user_id, room.session_id, note, self.clock())
        await self._to_facilitators(
            "support:requested",
            room_id,
            {
                "room_id": room_id,
                "id": stored.id,
                "user_id": user_id,
                "display_name": conn.account.display_name,
                "note": note,
                "at": stored.at,
            },
        )
        return ok(id=stored.id, at=stored.at)

    async def acknowledge(self, conn: LocalConnection, body: wire.SupportRef) -> Ack:
        room_id, user_id = str(body.room_id), conn.account.user_id
        enrolment = await self._enrolment(conn, room_id, "Only the group's facilitators can acknowledge.")
        if enrolment.role is not Role.FACILITATOR:
            raise not_authorized("Only the group's facilitators can acknowledge.")
        done = await self.records.acknowledge(room_id, str(body.id), user_id, self.clock())
        if done is None:
            raise SignalingError("not_found", "The group has no such support request.")
        message = {"room_id": room_id, "id": done.request_id, "by": done.by, "at": done.at}
        if done.new:
            message["by_name"] = conn.account.display_name
            await self._to_facilitators("support:acknowledged", room_id, message)
            await self.sio.emit("support:acknowledged", message, to=f"u:{done.user_id}")
        return ok(by=done.by, at=done.at, already=not done.new)
