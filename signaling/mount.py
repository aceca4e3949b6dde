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
from signaling.chat import Chat
from signaling.fallback_store import FallbackRoomStore
from signaling.fan_out import FanOut
from signaling.group_rooms import GroupRooms
from signaling.namespace import HavenNamespace
from signaling.presence import MemoryPresence, Presence, RedisPresence
from signaling.room_store import MemoryRoomStore, RedisRoomStore, RoomStore
from signaling.seams import ChatRepository, Directory, IceServers, RoomRecords
from signaling.sweeper import Sweeper
from signaling.wire import MAX_FRAME_BYTES

log = logging.getLogger("haven.signaling")
DRAIN_SECONDS = 10.0


@dataclass
class Signaling:
    sio: socketio.AsyncServer
    namespace: HavenNamespace
    rooms: GroupRooms
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
    presence: Presence
    if redis is None:
        store = MemoryRoomStore()
        presence = MemoryPresence(settings.node_id, ttl_seconds=settings.presence_ttl_seconds)
    else:
        store = FallbackRoomStore(RedisRoomStore(redis, prefix=settings.redis_prefix))
        presence = RedisPresence(
            redis, settings.node_id, prefix=settings.redis_prefix, ttl_seconds=settings.presence_ttl_seconds
        )
    rooms = GroupRooms(sio, store, presence, directory, records, ice_servers, settings.grace_seconds)
    chat = Chat(sio, chat_repository, directory, store)
    namespace = HavenNamespace(
        rooms,
        chat,
        directory,
        presence,
        settings.allowed_origins,
        settings.max_connections_per_user,
        settings.max_queued_packets,
    )
    sio.register_namespace(namespace)
    sweeper = Sweeper(
        rooms,
        presence,
        store,
        settings.sweep_ms / 1000,
        settings.presence_ttl_seconds,
        namespace.local_connections,
        namespace.drop_slow_readers,
    )
    return Signaling(sio, namespace, rooms, store, presence, sweeper)


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
