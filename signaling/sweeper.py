"""The background work of each node: heartbeats, retiring the connections of dead nodes, announcing members
whose grace period ran out, and converging after Redis was unreachable. Each room and call is swept by one
live node (``signaling.sharing``), and compare-and-set makes each change happen once even when two nodes briefly
sweep the same one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from signaling.calls import Calls
from signaling.contacts import ContactStatus
from signaling.fallback_store import FallbackRoomStore
from signaling.group_rooms import GroupRooms
from signaling.presence import Connection, Presence
from signaling.room_store import RoomStore, StoreUnavailable
from signaling.sharing import share_of

log = logging.getLogger("haven.sweeper")
# Connections' Socket.IO rooms are repaired on every this many sweeps (what it repairs, a lost pub/sub message, is
# rare; reading every local room each second was most of an idle node's work).
ALIGN_EVERY = 5


class Sweeper:
    def __init__(
        self,
        *,
        rooms: GroupRooms,
        calls: Calls,
        contacts: ContactStatus,
        presence: Presence,
        store: RoomStore,
        interval_seconds: float,
        presence_ttl_seconds: float,
        local_connections: Callable[[], list[Connection]],
        drop_slow_readers: Callable[[], Awaitable[int]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rooms = rooms
        self.calls = calls
        self.contacts = contacts
        self.presence = presence
        self.store = store
        self.interval = interval_seconds
        self.presence_ttl = presence_ttl_seconds
        self.local_connections = local_connections
        self.drop_slow_readers = drop_slow_readers
        self.clock = clock
        self.available = True
        # Set at shutdown: the loop ends at its next turn even if a cancel was lost on the way.
        self.stopping = False
        # When set, the time after which every node has written its connections again after an outage.
        self.verify_at: float | None = None
        self._sweeps = 0

    async def run(self) -> None:
        while not self.stopping:
            try:
                await self.sweep()
            except StoreUnavailable:
                if self.available:
                    log.warning("live state store unavailable")
                self.available = False
                if isinstance(self.store, FallbackRoomStore):
                    self.store.went_down()
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.interval)

    def _store_down(self) -> bool:
        return isinstance(self.store, FallbackRoomStore) and self.store.down

    async def sweep(self) -> None:
        now = self.clock()
        # First, and whatever Redis does: a client that stopped reading must not hold memory.
        if self.drop_slow_readers is not None:
            await self.drop_slow_readers()
        await self.presence.heartbeat(now)
        if not self.available or self._store_down():
            await self._recover(now)
        for connection in await self.presence.claim_expired(now):
            try:
                if connection.room_id is not None:
                    await self.rooms.disconnected(connection.user_id, connection.sid, connection.room_id)
                await self.calls.connection_closed(connection.user_id, connection.sid)
                if not await self.presence.of_user(connection.user_id, now):
                    await self.contacts.announce(connection.user_id)
            except Exception:
                # Presence has let go of it already; a failure here must not lose the others' departures.
                log.exception("retiring a dead connection failed", extra={"room_id": connection.room_id})
        room_ids = await self.store.room_ids()
        if self.verify_at is not None and now >= self.verify_at:
            self.verify_at = None
            for room_id in room_ids:
                await self.rooms.verify(room_id)
                await self.rooms.resend_state(room_id)
        mine = share_of(self.presence.node_id, await self.presence.live_nodes(now))
        await self.rooms.expire_due([room_id for room_id in room_ids if mine(room_id)])
        self._sweeps += 1
        if self._sweeps % ALIGN_EVERY == 1:
            await self.rooms.align(self.local_connections())
        await self.calls.sweep(now, mine)

    async def _recover(self, now: float) -> None:
        """Redis answers again (it may have restarted empty): write back this node's connections and rooms,
        then, once every node had a chance to do the same, drop members nobody holds any more."""
        local = self.local_connections()
        await self.presence.reassert(local, now)
        if isinstance(self.store, FallbackRoomStore):
            peers = {c.sid for c in local}
            written = await self.store.recover(
                lambda room_id, stored, mine: self.rooms.merge(room_id, stored, mine, peers),
                lambda document: self.rooms.holds(document, peers),
            )
            for room_id in written:
                await self.rooms.resend_state(room_id)
        await self.calls.restore(now)
        self.available = True
        # Set at shutdown: the loop ends at its next turn even if a cancel was lost on the way.
        self.stopping = False
        self.verify_at = now + self.presence_ttl + self.interval
        log.info("live state store is back; state written again")
