"""A forwarder: the group rooms whose media one worker serves.

Its three verbs are all the node needs: ``sync`` a room with its state after every change (``None`` when the
room is gone), pass a member's ``signal`` on, and ``close``. What it has to say to members (answers, its own
offers, who is speaking) goes out through ``send``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from media.counters import Counters
from media.network import MediaNetwork
from media.room import ForwardedRoom, Seat
from rooms.errors import NotAuthorized

log = logging.getLogger("haven.media")
# (room id, peer id or "room" for every member, event, data)
Send = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


class Forwarder:
    def __init__(
        self,
        *,
        network: MediaNetwork,
        send: Send,
        video_limit: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.network = network
        self._send = send
        self.video_limit = video_limit
        self.clock = clock
        self.counters = Counters()
        self.rooms: dict[str, ForwardedRoom] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _room(self, room_id: str, peer_id: str) -> ForwardedRoom:
        room = self.rooms.get(room_id)
        if room is None or room.peer_id != peer_id:

            async def send(to: str, event: str, data: dict[str, Any]) -> None:
                await self._send(room_id, to, event, data)

            room = ForwardedRoom(
                room_id,
                peer_id=peer_id,
                network=self.network,
                send=send,
                counters=self.counters,
                video_limit=self.video_limit,
                clock=self.clock,
            )
            self.rooms[room_id] = room
        return room

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    async def sync(self, room_id: str, peer_id: str, seats: list[Seat] | None) -> None:
        """The room's members now; ``None`` ends the room's media. One request at a time per room."""
        async with self._lock(room_id):
            await self._sync(room_id, peer_id, seats)
        if seats is None and room_id not in self.rooms and not self._lock(room_id).locked():
            self._locks.pop(room_id, None)

    async def _sync(self, room_id: str, peer_id: str, seats: list[Seat] | None) -> None:
        room = self.rooms.get(room_id)
        if seats is None:
            if room is not None:
                del self.rooms[room_id]
                await room.close()
            return
        if room is not None and room.peer_id != peer_id:
            del self.rooms[room_id]
            await room.close()
        await self._room(room_id, peer_id).sync(seats)

    async def signal(self, room_id: str, peer_id: str, seat: Seat, payload: dict[str, Any]) -> None:
        async with self._lock(room_id):
            room = self.rooms.get(room_id)
            if room is None or room.peer_id != peer_id:
                raise NotAuthorized("You can only signal to peers in your room or call.")
            await room.signal(seat, payload)

    def stats(self) -> dict[str, int]:
        return {
            **self.counters.snapshot(),
            "rooms": len(self.rooms),
            "members": sum(len(r.links) for r in self.rooms.values()),
        }

    async def close(self) -> None:
        for room_id in list(self.rooms):
            await self.sync(room_id, "", None)
        self._locks.clear()
