"""Putting the real-time server into the aiohttp application: the Socket.IO server with its client manager,
the room-state store and presence for the deployment (memory, or Redis), the namespace and the sweeper.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from rooms.calls import from_document as call_document
from server.config import Settings
from signaling import json_codec, liveness
from signaling.access import LiveAccess
from signaling.admission import Admission
from signaling.call_lines import Lines
from signaling.calls import Calls
from signaling.chat import Chat
from signaling.connection import LocalConnection
from signaling.contacts import ContactStatus
from signaling.control import LiveControl
from signaling.fallback_store import FallbackRoomStore
from signaling.fan_out import FanOut
from signaling.group_rooms import GroupRooms
from signaling.namespace import HavenNamespace
from signaling.presence import MemoryPresence, Presence, RedisPresence
from signaling.program import Program
from signaling.restoring_store import RestoringStore
from signaling.room_entries import LocalManager
from signaling.room_store import Document, MemoryRoomStore, RedisRoomStore, RoomStore
from signaling.seams import (
    Accounts,
    CallRecords,
    ChatRepository,
    GroupDirectory,
    IceServers,
    MediaPlane,
    PairingDirectory,
    ProgramRecords,
    RoomRecords,
)
from signaling.sessions import Sessions
from signaling.sweeper import Sweeper
from signaling.transport import GuardedServer
from signaling.wire import MAX_FRAME_BYTES

log = logging.getLogger("haven.signaling")
DRAIN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Backends:
    """What the rest of the server gives the live side: the durable data it reads and writes, and ICE servers."""

    accounts: Accounts
    groups: GroupDirectory
    pairings: PairingDirectory
    room_records: RoomRecords
    call_records: CallRecords
    chat: ChatRepository
    ice_servers: IceServers
    # The group-room forwarder; None leaves every room a mesh.
    media: MediaPlane | None = None
    # Check-ins and support requests; None leaves those events unknown.
    program: ProgramRecords | None = None


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
    sessions: Sessions
    # The interface the REST side tells the live side what changed through.
    control: LiveControl
    sweep_seconds: float


SIGNALING = web.AppKey("signaling", Signaling)
# The server pings each client every PING_SECONDS and drops one silent for PING_TIMEOUT_SECONDS more: a client
# that vanished without closing (a dropped network) is noticed within 20 s.
PING_SECONDS = 10
PING_TIMEOUT_SECONDS = 10
# Connects wait in a queue this many times longer, for this many times longer, than requests (a refused connect has
# paid for its WebSocket handshake already, and would pay again).
CONNECT_QUEUE_FACTOR = 16
CONNECT_WAIT_FACTOR = 4


def _manager(settings: Settings) -> socketio.AsyncManager:
    if settings.redis_url is None:
        return LocalManager()
    return FanOut(settings.redis_url, channel=f"{settings.redis_prefix}socketio")


def build(settings: Settings, redis: aioredis.Redis | None, backends: Backends) -> Signaling:
    sio = GuardedServer(
        async_mode="aiohttp",
        client_manager=_manager(settings),
        cors_allowed_origins=list(settings.allowed_origins),
        transports=["websocket"],
        max_http_buffer_size=MAX_FRAME_BYTES,
        ping_interval=PING_SECONDS,
        ping_timeout=PING_TIMEOUT_SECONDS,
        logger=False,
        engineio_logger=False,
        json=json_codec.Codec,
    )
    liveness.install(sio.eio)
    store: RoomStore
    call_store: RoomStore
    line_store: RoomStore
    presence: Presence
    if redis is None:
        store, call_store, line_store = MemoryRoomStore(), MemoryRoomStore(), MemoryRoomStore()
        status_store: RoomStore = MemoryRoomStore()
        presence = MemoryPresence(settings.node_id, ttl_seconds=settings.presence_ttl_seconds)
    else:
        prefix = settings.redis_prefix
        store = FallbackRoomStore(RedisRoomStore(redis, prefix=prefix))
        # Calls are not acted on while Redis is away: their media is peer to peer and goes on, and acts on a call
        # (answering, hanging up) wait for it. Live calls are remembered, to be written back if Redis lost them.
        call_store = RestoringStore(RedisRoomStore(redis, prefix=prefix, kind="call"), keep=_live_call)
        line_store = RedisRoomStore(redis, prefix=prefix, kind="line")
        status_store = RedisRoomStore(redis, prefix=prefix, kind="status")
        presence = RedisPresence(redis, settings.node_id, prefix=prefix, ttl_seconds=settings.presence_ttl_seconds)
    ice_servers = backends.ice_servers
    rooms = GroupRooms(
        sio=sio,
        store=store,
        presence=presence,
        groups=backends.groups,
        records=backends.room_records,
        ice_servers=ice_servers,
        grace_seconds=settings.grace_seconds,
        media=backends.media,
    )
    chat = Chat(sio, backends.chat, backends.groups, backends.pairings, store, records=backends.room_records)
    lines = Lines(line_store, call_store)
    contacts = ContactStatus(sio, backends.pairings, presence, lines, status_store)
    calls = Calls(
        sio=sio,
        store=call_store,
        lines=lines,
        presence=presence,
        pairings=backends.pairings,
        records=backends.call_records,
        contacts=contacts,
        ice_servers=ice_servers,
        in_group_room=rooms.holds_place,
        ring_seconds=settings.call_ring_seconds,
        grace_seconds=settings.grace_seconds,
    )
    connections: dict[str, LocalConnection] = {}
    access = LiveAccess(
        sio=sio,
        presence=presence,
        rooms=rooms,
        calls=calls,
        contacts=contacts,
        groups=backends.groups,
        local_sids=lambda user_id: [c.sid for c in connections.values() if c.account.user_id == user_id],
    )
    turn = bool(settings.turn_urls and settings.turn_secret)
    sessions = Sessions(
        sio=sio,
        accounts=backends.accounts,
        connections=connections,
        end_access=access.account_changed,
        ice_servers=ice_servers,
        # Fresh credentials at least every half of their lifetime, so none runs out in a long session.
        ice_refresh_seconds=settings.turn_ttl_seconds / 2 if turn else None,
    )
    program = None
    if backends.program is not None:
        program = Program(sio=sio, store=store, groups=backends.groups, records=backends.program)
    namespace = HavenNamespace(
        program=program,
        rooms=rooms,
        chat=chat,
        calls=calls,
        contacts=contacts,
        accounts=backends.accounts,
        sessions=sessions,
        presence=presence,
        connections=connections,
        allowed_origins=settings.allowed_origins,
        max_connections_per_user=settings.max_connections_per_user,
        max_queued_packets=settings.max_queued_packets,
        admission=Admission(
            limit=settings.max_in_flight,
            queue_limit=settings.admission_queue,
            wait_seconds=settings.admission_wait_ms / 1000,
        ),
        connect_admission=Admission(
            limit=settings.max_in_flight,
            queue_limit=CONNECT_QUEUE_FACTOR * settings.admission_queue,
            wait_seconds=CONNECT_WAIT_FACTOR * settings.admission_wait_ms / 1000,
        ),
    )
    sio.register_namespace(namespace)
    sio.on_refused = namespace.refused_packet
    sweeper = Sweeper(
        rooms=rooms,
        calls=calls,
        contacts=contacts,
        presence=presence,
        store=store,
        interval_seconds=settings.sweep_ms / 1000,
        presence_ttl_seconds=settings.presence_ttl_seconds,
        local_connections=namespace.local_connections,
        drop_slow_readers=namespace.drop_slow_readers,
    )
    return Signaling(
        sio, namespace, rooms, calls, contacts, store, presence, sweeper, sessions, access, settings.sweep_ms / 1000
    )


def _live_call(document: Document) -> bool:
    return call_document(document).live


def attach(app: web.Application, signaling: Signaling) -> None:
    app[SIGNALING] = signaling
    signaling.sio.attach(app, socketio_path="socket.io")
    app.cleanup_ctx.append(_lifetime)
    # On shutdown, before aiohttp waits for open handlers (WebSockets never finish on their own).
    app.on_shutdown.append(_drain)


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    signaling = app[SIGNALING]
    media = signaling.rooms.media
    if media is not None:
        await media.start()
    tasks = [
        asyncio.create_task(signaling.sweeper.run(), name="haven-sweeper"),
        asyncio.create_task(signaling.sessions.run(min(1.0, signaling.sweep_seconds)), name="haven-sessions"),
    ]
    yield
    signaling.sweeper.stopping = signaling.sessions.stopping = True
    # A cancel that lands while redis-py's own timeout fires can be swallowed (Python 3.11), so the loops also
    # stop at their next turn, and a task still running is cancelled again.
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    await app[SIGNALING].sio.shutdown()
    await app[SIGNALING].namespace.stop_background()
    if media is not None:
        await media.close()


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
