"""The background work of each node: heartbeats, retiring the connections of dead nodes, and announcing
members whose grace period ran out. Every node sweeps; compare-and-set makes each change happen once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from signaling.group_rooms import GroupRooms
from signaling.presence import Connection, Presence
from signaling.room_store import RoomStore, StoreUnavailable

log = logging.getLogger("haven.sweeper")


class Sweeper:
    def __init__(
        self,
        rooms: GroupRooms,
        presence: Presence,
        store: RoomStore,
        interval_seconds: float,
        local_connections: Callable[[], list[Connection]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rooms = rooms
        self.presence = presence
        self.store = store
        self.interval = interval_seconds
        self.local_connections = local_connections
        self.clock = clock
        self.available = True

    async def run(self) -> None:
        while True:
            try:
                if not self.available:
                    # Redis may have restarted empty: write this node's connections again first.
                    await self.presence.reassert(self.local_connections(), self.clock())
                    log.info("live state store is back")
                    self.available = True
                await self.sweep()
            except StoreUnavailable:
                if self.available:
                    log.warning("live state store unavailable")
                self.available = False
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> None:
        now = self.clock()
        await self.presence.heartbeat(now)
        for connection in await self.presence.claim_expired(now):
            if connection.room_id is not None:
                await self.rooms.disconnected(connection.user_id, connection.sid, connection.room_id)
        for room_id in await self.store.room_ids():
            await self.rooms.expire(room_id)
