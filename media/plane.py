"""The forwarder inside the node's own process: the embedded default, and one node that serves its rooms itself.

Every room goes to the one ``Forwarder`` here; its peer id names this process's forwarder, so a client that
holds another (a restarted node's) is told its offer reached nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from media.forwarder import Forwarder
from media.network import MediaNetwork
from media.room import Seat
from rooms.model import Member, Room


class LocalPlane:
    def __init__(self, *, network: MediaNetwork, mesh_limit: int, video_limit: int | None) -> None:
        self.mesh_limit = mesh_limit
        self.network = network
        self.video_limit = video_limit
        self.peer_id = f"forwarder-{secrets.token_hex(6)}"
        self._key = secrets.token_bytes(16)
        self._forwarder: Forwarder | None = None

    def connect(self, send: Any, moved: Any = None, refresh: Any = None) -> None:
        self._forwarder = Forwarder(network=self.network, send=send, video_limit=self.video_limit)

    async def start(self) -> None:
        """Nothing runs in the background: the forwarder's rooms have their own tasks."""

    @property
    def running(self) -> Forwarder:
        assert self._forwarder is not None, "connect() first"
        return self._forwarder

    def room_peer(self, room_id: str) -> str:
        """The forwarder's peer id in one room: this process's, and the room's own (rooms never share one)."""
        tag = hashlib.blake2s(room_id.encode(), key=self._key, digest_size=6).hexdigest()
        return f"{self.peer_id}-{tag}"

    async def forwarder(self, room_id: str) -> str:
        return self.room_peer(room_id)

    async def sync(self, room_id: str, room: Room | None) -> None:
        seats = None if room is None else [Seat.of(m) for m in room.members]
        await self.running.sync(room_id, self.room_peer(room_id), seats)

    async def signal(self, room: Room, to: str, member: Member, payload: dict[str, Any]) -> None:
        if room.room_id not in self.running.rooms:
            await self.sync(room.room_id, room)  # this process started after the room went to the forwarder
        await self.running.signal(room.room_id, to, Seat.of(member), payload)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per worker (here the one in this process): its counters and what it holds now."""
        return {"0": self.running.stats() if self._forwarder is not None else {}}

    def serving(self) -> list[str]:
        return list(self._forwarder.rooms) if self._forwarder is not None else []

    async def close(self) -> None:
        if self._forwarder is not None:
            await self._forwarder.close()
