"""Putting the real-time server into the aiohttp application: the Socket.IO server with its client manager,
the room-state store and presence for the deployment (memory, or Redis), the namespace and the sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from server.config import Settings
from signaling.call_lines import Lines
from signaling.calls import Calls
from signaling.chat import Chat
from signaling.contacts import ContactStatus
from signaling.fallback_store import FallbackRoomStore
from signaling.fan_out import FanOut
from signaling.group_rooms import GroupRooms
from signaling.namespace import HavenNamespace
from signaling.presence import MemoryPresence, Presence, RedisPresence
from signaling.room_store import MemoryRoomStore, RedisRoomStore, RoomStore
from signaling.seams import CallRecords, ChatRepository, Directory, IceServers, RoomRecords
from signaling.sweeper import Sweeper
from signaling.wire import MAX_FRAME_BYTES

log = logging.getLogger("haven.signaling")
DRAIN_SECONDS = 10.0


@dataclass
class Signaling:
    sio: socketio.AsyncServer
    namespace: HavenNamespace
    rooms: GroupRooms
    calls: Calls
    contacts: ContactStatus
    store: RoomStore
    presence: Presence
    sweeper: Sweeper


SIGNALING = web.AppKey("signaling", Signaling)


def _manager(settings: Settings) -> socketio.AsyncManager | None:
    if settings.redis_url is None:
        return None
    return FanOut(settings.redis_url, channel=f"{settings.redis_prefix}socketio")


def build(
    settings: Settings,
    redis: aioredis.Redis | None,
    directory: Directory,
    records: RoomRecords,
    ice_servers: IceServers,
    chat_repository: ChatRepository,
    call_records: CallRecords,
) -> Signaling:
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=_manager(settings),
        cors_allowed_origins=list(settings.allowed_origins),
        transports=["websocket"],
        max_http_buffer_size=MAX_FRAME_BYTES,
        ping_interval=10,
        ping_timeout=10,
        logger=False,
        engineio_logger=False,
    )
    store: RoomStore
    call_store: RoomStore
    line_store: RoomStore
    presence: Presence
    if redis is None:
        store, call_store, line_store = MemoryRoomStore(), MemoryRoomStore(), MemoryRoomStore()
        presence = MemoryPresence(settings.node_id, ttl_seconds=settings.presence_ttl_seconds)
    else:
        prefix = settings.redis_prefix
        store = FallbackRoomStore(RedisRoomStore(redis, prefix=prefix))
        # Calls have no fallback copy: their media is peer to peer and goes on while Redis is away; only acts on
        # a call (answering, hanging up) wait for it.
        call_store = RedisRoomStore(redis, prefix=prefix, kind="call")
        line_store = RedisRoomStore(redis, prefix=prefix, kind="line")
        presence = RedisPresence(redis, settings.node_id, prefix=prefix, ttl_seconds=settings.presence_ttl_seconds)
    rooms = GroupRooms(sio, store, presence, directory, records, ice_servers, settings.grace_seconds)
    chat = Chat(sio, chat_repository, directory, store)
    lines = Lines(line_store, call_store)
    contacts = ContactStatus(sio, directory, presence, lines)
    calls = Calls(
        sio,
        call_store,
        lines,
        presence,
        directory,
        call_records,
        contacts,
        ice_servers,
        rooms.holds_place,
        settings.call_ring_seconds,
        settings.grace_seconds,
        settings.call_ice_policy,
    )
    namespace = HavenNamespace(
        rooms,
        chat,
        calls,
        contacts,
        directory,
        presence,
        settings.allowed_origins,
        settings.max_connections_per_user,
        settings.max_queued_packets,
    )
    sio.register_namespace(namespace)
    sweeper = Sweeper(
        rooms,
        calls,
        contacts,
        presence,
        store,
        settings.sweep_ms / 1000,
        settings.presence_ttl_seconds,
        namespace.local_connections,
        namespace.drop_slow_readers,
    )
    return Signaling(sio, namespace, rooms, calls, contacts, store, presence, sweeper)


def attach(app: web.Application, signaling: Signaling) -> None:
    app[SIGNALING] = signaling
    signaling.sio.attach(app, socketio_path="socket.io")
    app.cleanup_ctx.append(_lifetime)
    # On shutdown, before aiohttp waits for open handlers (WebSockets never finish on their own).
    app.on_shutdown.append(_drain)


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(app[SIGNALING].sweeper.run(), name="haven-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[SIGNALING].sio.shutdown()
    await app[SIGNALING].namespace.stop_background()


async def _drain(app: web.Application) -> None:
    await drain(app[SIGNALING])


async def drain(signaling: Signaling) -> None:
    """Stop taking connections and close this node's, so clients reconnect to another node within their
    grace period; bounded in time whether or not Redis answers."""
    namespace = signaling.namespace
    namespace.draining = True
    sids = list(namespace.connections)
    if sids:
        log.info("draining connections", extra={"count": len(sids)})
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            await asyncio.gather(*(signaling.sio.disconnect(sid) for sid in sids), return_exceptions=True)
    except TimeoutError:
        log.warning("drain deadline passed", extra={"left": len(namespace.connections)})
