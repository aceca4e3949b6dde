"""A room's forwarder shared by every node: a lease in Redis names the node serving the room's media, and the
other nodes pass their members' signals and the room's changes to it over Redis pub/sub.

The lease (``<prefix>media:room:<room id>`` = ``<node id> <forwarder peer id>``) lives ``LEASE_SECONDS`` and the
serving node renews it every ``RENEW_SECONDS``. When a node dies its leases lapse; every node checks the rooms it
has seen every ``WATCH_SECONDS``, and the first to find a lease gone or changed places the room again (on itself)
and has its members told the forwarder's new peer id (``moved``), so a room's media is back within the lease's
life plus a check. The forwarder's own messages to members go out through Socket.IO's fan-out, from any node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from media.errors import raise_refusal
from media.plane import LocalPlane
from media.pool import WorkerPool
from rooms.document import from_document, to_document
from rooms.errors import NegotiationConflict, NotAuthorized, RoomError
from rooms.model import Member, Room

log = logging.getLogger("haven.media")
LEASE_SECONDS = 8
RENEW_SECONDS = 2.0
WATCH_SECONDS = 1.0
# The rooms served here are synced again from the stored state on every this many renewals (6 s).
REFRESH_EVERY = 3
REQUEST_TIMEOUT = 10.0
Moved = Callable[[str], Awaitable[None]]
# Renew a lease that is ours or has lapsed; leave another node's alone. KEYS[1] lease; ARGV: ours, seconds.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
  return 1
end
return 0
"""


def _text(value: bytes | str | None) -> str:
    """A lease value as text ("" when there is none)."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


class ClusterPlane:
    def __init__(self, *, redis: aioredis.Redis, node_id: str, prefix: str, local: LocalPlane | WorkerPool) -> None:
        self.redis = redis
        self.node_id = node_id
        self.prefix = prefix
        self.local = local
        self.mesh_limit = local.mesh_limit
        self.moved: Moved | None = None
        self.refresh: Moved | None = None
        self._seen: dict[str, str] = {}  # room id -> the forwarder peer id this node last announced
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def _lease_key(self, room_id: str) -> str:
        return f"{self.prefix}media:room:{room_id}"

    def _channel(self, node_id: str) -> str:
        return f"{self.prefix}media:node:{node_id}"

    def connect(self, send: Any, moved: Moved, refresh: Moved) -> None:
        self.local.connect(send, self._moved_here)
        self.moved = moved
        self.refresh = refresh

    async def _moved_here(self, room_id: str) -> None:
        """One of this node's workers died: its room takes a new forwarder peer id here, and the lease says so."""
        with contextlib.suppress(Exception):
            await self.redis.set(
                self._lease_key(room_id), f"{self.node_id} {self.local.room_peer(room_id)}", ex=LEASE_SECONDS
            )
        self._seen.pop(room_id, None)
        if self.moved is not None:
            await self.moved(room_id)

    async def start(self) -> None:
        """Begin serving requests from other nodes, renewing this node's leases and watching the others'."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="haven-media-listen"),
            asyncio.create_task(self._renew(), name="haven-media-renew"),
            asyncio.create_task(self._watch(), name="haven-media-watch"),
        ]

    # -- placement -----------------------------------------------------------------------------------------

    async def _lease(self, room_id: str) -> tuple[str, str]:
        """(serving node, forwarder peer id), placing the room on this node when no node serves it."""
        key = self._lease_key(room_id)
        mine = f"{self.node_id} {self.local.room_peer(room_id)}"
        for _ in range(3):
            value = await self.redis.get(key)
            if value is not None:
                node, _, peer_id = _text(value).partition(" ")
                return node, peer_id
            if await self.redis.set(key, mine, nx=True, ex=LEASE_SECONDS):
                return self.node_id, self.local.room_peer(room_id)
        raise NegotiationConflict("The room's media is being placed; try again.")

    async def forwarder(self, room_id: str) -> str:
        _, peer_id = await self._lease(room_id)
        self._seen[room_id] = peer_id
        return peer_id

    async def sync(self, room_id: str, room: Room | None) -> None:
        if room is None:
            self._seen.pop(room_id, None)
            node = await self._serving(room_id)
            if node is None:
                return
        else:
            node, _ = await self._lease(room_id)
        if node == self.node_id:
            await self.local.sync(room_id, room)
            if room is None:
                await self.redis.delete(self._lease_key(room_id))
        else:
            await self._publish(
                node, {"op": "sync", "room_id": room_id, "room": None if room is None else to_document(room)}
            )

    async def _serving(self, room_id: str) -> str | None:
        value = await self.redis.get(self._lease_key(room_id))
        if value is None:
            return None
        return _text(value).partition(" ")[0]

    async def signal(self, room: Room, to: str, member: Member, payload: dict[str, Any]) -> None:
        node, peer_id = await self._lease(room.room_id)
        if to != peer_id:
            raise NotAuthorized("You can only signal to peers in your room or call.")
        if node == self.node_id:
            await self.local.signal(room, to, member, payload)
            return
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            await self._publish(
                node,
                {
                    "op": "signal",
                    "id": request_id,
                    "reply": self.node_id,
                    "room": to_document(room),
                    "to": to,
                    "user_id": member.user_id,
                    "payload": payload,
                },
            )
            reply = await asyncio.wait_for(future, REQUEST_TIMEOUT)
        except TimeoutError as exc:
            raise NegotiationConflict("The forwarder did not answer; try again.") from exc
        finally:
            self._waiting.pop(request_id, None)
        raise_refusal(reply)

    async def _publish(self, node: str, message: dict[str, Any]) -> None:
        await self.redis.publish(self._channel(node), json.dumps(message))

    # -- serving other nodes -------------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self._channel(self.node_id))
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        asyncio.create_task(self._handle(json.loads(message["data"])))  # noqa: RUF006 - short-lived
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("the forwarder's request channel failed; subscribing again")
                await asyncio.sleep(1.0)

    async def _handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        try:
            if op == "reply":
                future = self._waiting.get(message.get("id", ""))
                if future is not None and not future.done():
                    future.set_result(message)
            elif op == "sync":
                # Messages between nodes may arrive out of order: the room as stored now is what counts.
                if self.refresh is not None:
                    await self.refresh(message["room_id"])
                else:
                    document = message.get("room")
                    room = None if document is None else from_document(document)
                    await self.local.sync(message["room_id"], room)
            elif op == "signal":
                await self._serve_signal(message)
        except Exception:
            log.exception("a forwarder request from another node failed", extra={"op": op})

    async def _serve_signal(self, message: dict[str, Any]) -> None:
        room = from_document(message["room"])
        member = room.member(message["user_id"])
        reply: dict[str, Any] = {"op": "reply", "id": message["id"]}
        try:
            if member is None:
                raise NotAuthorized("You can only signal to peers in your room or call.")
            await self.local.signal(room, message["to"], member, message["payload"])
        except RoomError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        await self._publish(message["reply"], reply)

    async def _renew(self) -> None:
        renewals = 0
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            renewals += 1
            serving = self.local.serving()
            if not serving:
                continue
            try:
                kept = await self._keep(serving)
            except Exception:
                log.warning("renewing the forwarder leases failed", extra={"rooms": len(serving)})
                continue
            for room_id in serving:
                if room_id not in kept:
                    # Another node serves the room now (this one was too slow to renew): let it go here.
                    with contextlib.suppress(Exception):
                        await self.local.sync(room_id, None)
            # Changes other nodes sent here travel by pub/sub, which may lose one: the rooms served here are synced
            # again from the stored state, so a removal or mute lost on the way holds within seconds.
            if self.refresh is not None and kept and renewals % REFRESH_EVERY == 0:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(RENEW_SECONDS):
                        await asyncio.gather(*(self.refresh(r) for r in kept), return_exceptions=True)

    async def _keep(self, room_ids: list[str]) -> list[str]:
        """Renew this node's leases on ``room_ids`` in one round trip (each atomically: only while it is still
        ours, or lapsed); returns the rooms still served here."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                mine = f"{self.node_id} {self.local.room_peer(room_id)}"
                pipe.eval(_RENEW, 1, self._lease_key(room_id), mine, str(LEASE_SECONDS))
            kept = await pipe.execute(raise_on_error=False)
        # A renewal that failed (an error for that room alone) is not a lease lost: the next round tries again.
        return [room_id for room_id, won in zip(room_ids, kept, strict=True) if won or isinstance(won, Exception)]

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            seen = list(self._seen.items())
            if not seen:
                continue
            try:
                values = await self.redis.mget([self._lease_key(room_id) for room_id, _ in seen])
            except Exception:
                log.warning("checking the rooms' forwarders failed", extra={"rooms": len(seen)})
                continue
            for (room_id, announced), value in zip(seen, values, strict=True):
                text = _text(value)
                if (not text or text.partition(" ")[2] != announced) and self._seen.get(room_id) == announced:
                    del self._seen[room_id]
                    if self.moved is not None:
                        try:
                            await self.moved(room_id)
                        except Exception:
                            log.exception("placing a room's forwarder again failed", extra={"room_id": room_id})

    def stats(self) -> dict[str, dict[str, int]]:
        return self.local.stats()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for room_id in self.local.serving():
            with contextlib.suppress(Exception):
                mine = f"{self.node_id} {self.local.room_peer(room_id)}"
                key = self._lease_key(room_id)
                value = await self.redis.get(key)
                if _text(value) == mine:
                    await self.redis.delete(key)
        await self.local.close()
