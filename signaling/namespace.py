"""The Socket.IO namespace: authentication at connect, then every event validated, rate-limited, authorized
and answered with an acknowledgement in the protocol's shape. Unknown events are answered too; reserved and
malformed ones never get here (``signaling.transport``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any

import socketio
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from rooms.errors import RoomError
from signaling import wire
from signaling.acks import Ack, SignalingError, fail, refusal
from signaling.admission import Admission
from signaling.calls import Calls
from signaling.chat import Chat
from signaling.connection import LocalConnection
from signaling.contacts import ContactStatus
from signaling.group_rooms import GroupRooms
from signaling.presence import Connection, Presence
from signaling.program import Program
from signaling.room_store import StoreConflict, StoreUnavailable
from signaling.seams import Accounts
from signaling.sessions import Sessions
from signaling.stats import SignalingStats

log = logging.getLogger("haven.signaling")
MAX_TOKEN_CHARS = 4096
# Output a connection may have waiting beyond the kernel's buffers before it is cut off.
MAX_BUFFERED_BYTES = 4 * 1024 * 1024

Handler = Callable[[LocalConnection, Any], Awaitable[Ack]]
# Only these accounts can be paired (mentor and mentee), so only their comings and goings concern contacts.
PAIRED_ROLES = frozenset({"mentor", "participant"})
# Acts for which the account is read again when its last read is not recent: moderation, calls, messages.
PRIVILEGED_EVENTS = frozenset(
    {
        "room:admit",
        "room:deny",
        "room:mute",
        "room:ask_unmute",
        "room:remove",
        "room:send_to_lobby",
        "room:lock",
        "room:lobby",
        "room:end",
        "hand:lower",
        "call:invite",
        "call:accept",
        "call:resume",
        "chat:send",
        "chat:delete",
        "support:acknowledge",
    }
)
# What is let through without admission: cheap, touching neither the database nor a room document, and (for
# ``rtc:signal``) order-sensitive, so a retry must not let a later signal overtake it.
UNADMITTED_EVENTS = frozenset({"rtc:signal", "chat:typing", "rtc:ice_servers"})
# The database not answering (down, or slower than its timeouts): refused at once as unavailable.
DATABASE_OUTAGES = (OperationalError, InterfaceError, PoolTimeout, TimeoutError, ConnectionError)


def refuse(code: str, message: str, **extra: Any) -> socketio.exceptions.ConnectionRefusedError:
    """A refused connect; the client's ``connect_error`` carries ``data`` = {code, message, ...extra}."""
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message, **extra})


def busy(retry_after_ms: int) -> Ack:
    ack = fail("busy", "Haven is busy for a moment; send this again after retry_after_ms.")
    ack["error"]["retry_after_ms"] = retry_after_ms
    return ack


class HavenNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(
        self,
        *,
        rooms: GroupRooms,
        chat: Chat,
        calls: Calls,
        contacts: ContactStatus,
        accounts: Accounts,
        sessions: Sessions,
        presence: Presence,
        connections: dict[str, LocalConnection],
        allowed_origins: Collection[str],
        max_connections_per_user: int,
        max_queued_packets: int = 512,
        admission: Admission | None = None,
        connect_admission: Admission | None = None,
        program: Program | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("/")
        self.rooms = rooms
        self.calls = calls
        self.contacts = contacts
        self.accounts = accounts
        self.sessions = sessions
        self.presence = presence
        self.allowed_origins = frozenset(allowed_origins)
        self.max_connections_per_user = max_connections_per_user
        self.max_queued_packets = max_queued_packets
        self.admission = admission or Admission(limit=32, queue_limit=256, wait_seconds=2.0)
        # Connects are admitted apart: by the time one is refused its WebSocket handshake is already paid for, so
        # they may wait longer in a longer queue rather than come back and pay it again.
        self.connect_admission = connect_admission or Admission(limit=32, queue_limit=4096, wait_seconds=8.0)
        self.stats = SignalingStats()
        self.clock = clock
        self.connections = connections
        self.draining = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.handlers: dict[str, tuple[type[wire.Payload], Handler]] = {
            "room:join": (wire.RoomRef, self._join_room),
            "room:leave": (wire.RoomRef, rooms.leave),
            "room:admit": (wire.Target, rooms.admit),
            "room:deny": (wire.Target, rooms.deny),
            "room:mute": (wire.MuteBody, rooms.mute),
            "room:ask_unmute": (wire.MuteBody, rooms.ask_to_unmute),
            "room:remove": (wire.Target, rooms.remove),
            "room:send_to_lobby": (wire.Target, rooms.send_to_lobby),
            "room:lock": (wire.LockBody, rooms.lock),
            "room:lobby": (wire.LobbyBody, rooms.set_lobby),
            "room:end": (wire.RoomRef, rooms.end),
            "room:media": (wire.MediaBody, rooms.set_media),
            "room:screen": (wire.ScreenBody, rooms.share_screen),
            "hand:raise": (wire.RoomRef, rooms.raise_hand),
            "hand:lower": (wire.LowerHand, rooms.lower_hand),
            "rtc:signal": (wire.RtcSignal, self._signal),
            "call:invite": (wire.CallInvite, self._invite),
            "call:accept": (wire.CallRef, self._accept),
            "call:decline": (wire.CallRef, calls.decline),
            "call:cancel": (wire.CallRef, calls.cancel),
            "call:hangup": (wire.CallRef, calls.hangup),
            "call:resume": (wire.CallRef, self._resume),
            "chat:send": (wire.ChatSend, chat.send),
            "chat:history": (wire.ChatHistory, chat.history),
            "chat:delete": (wire.ChatDelete, chat.delete),
            "chat:typing": (wire.ChatTyping, chat.typing),
            "chat:read": (wire.ChatRead, chat.read),
            "session:refresh": (wire.SessionRefresh, sessions.refresh),
            "rtc:ice_servers": (wire.NoFields, sessions.ice),
        }
        if program is not None:
            self.handlers |= {
                "lobby:checkin": (wire.CheckIn, program.checkin),
                "support:request": (wire.SupportRequest, program.request_support),
                "support:acknowledge": (wire.SupportRef, program.acknowledge),
            }

    async def drop_slow_readers(self) -> int:
        """Cut off connections whose unsent output passed the bound (a client that stopped reading), so
        that no client's backlog grows without limit; returns how many were dropped."""
        dropped = 0
        sockets = self.server.eio.sockets
        for conn in list(self.connections.values()):
            eio_sid = self.server.manager.eio_sid_from_sid(conn.sid, "/")
            socket = sockets.get(eio_sid)
            queued = socket.queue.qsize() if socket is not None else 0
            buffered = (
                conn.transport.get_write_buffer_size() if isinstance(conn.transport, asyncio.WriteTransport) else 0
            )
            if queued > self.max_queued_packets or buffered > MAX_BUFFERED_BYTES:
                log.info("dropping a client that stopped reading", extra={"queued": queued, "buffered": buffered})
                self.stats.slow_clients_dropped += 1
                if socket is not None:
                    # Close without waiting for the backlog to drain (it never would), then cut the TCP link.
                    await socket.close(wait=False, abort=True)
                if isinstance(conn.transport, asyncio.WriteTransport):
                    conn.transport.abort()
                dropped += 1
        return dropped

    def local_connections(self) -> list[Connection]:
        """This node's connections as presence records (to write them again after Redis lost them)."""
        node = self.presence.node_id
        return [Connection(c.sid, c.account.user_id, node, c.room_id) for c in self.connections.values()]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            return await self._connect(*args[:3])
        if event == "disconnect":
            return await self._disconnect(args[0])
        started = time.monotonic()
        ack = await self._event(event, args[0], args[1] if len(args) > 1 else None, len(args) > 2)
        if event in self.handlers:
            outcome = ack.get("status", "ok") if ack.get("ok") else ack["error"]["code"]
            self.stats.answered(event, str(outcome), time.monotonic() - started)
        return ack

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin not in self.allowed_origins:
            raise refuse("not_authorized", "This origin may not connect to Haven.")
        if self.draining:
            raise refuse("unavailable", "This server is restarting; connect again.")
        if not await self.connect_admission.enter():
            raise refuse(
                "busy",
                "Haven is busy for a moment; connect again after retry_after_ms.",
                retry_after_ms=self.connect_admission.retry_after_ms(),
            )
        started = time.monotonic()
        try:
            transport = getattr(environ.get("aiohttp.request"), "transport", None)
            if self.draining or (transport is not None and transport.is_closing()):
                # Drained, or its client gave up, while it waited: nothing to do for it here.
                self.connect_admission.abandoned()
                raise refuse("unavailable", "This server is restarting; connect again.")
            await self._connect_admitted(sid, environ, auth)
        finally:
            self.connect_admission.leave(time.monotonic() - started)

    async def _connect_admitted(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        grant = None
        if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS:
            try:
                grant = await self.accounts.grant(token)
            except DATABASE_OUTAGES:
                log.warning("database unavailable at connect")
                raise refuse("unavailable", "Haven cannot check your sign-in for a moment; connect again.") from None
        if grant is None:
            raise refuse("not_authenticated", "Sign in again: the token is missing, invalid or expired.")
        account = grant.account
        now = self.clock()
        first = False
        too_many = refuse("rate_limited", "Too many connections for this account; close another one first.")
        try:
            held = len(await self.presence.of_user(account.user_id, now))
            if held >= self.max_connections_per_user:
                raise too_many
            await self.presence.add(Connection(sid, account.user_id, self.presence.node_id), now)
            first = held == 0
        except StoreUnavailable:
            log.warning("presence unavailable at connect")
            # Without presence this node still holds the cap for what it can see: its own connections.
            mine = sum(1 for c in self.connections.values() if c.account.user_id == account.user_id)
            if mine >= self.max_connections_per_user:
                raise too_many from None
        request = environ.get("aiohttp.request")
        transport = getattr(request, "transport", None)
        conn = LocalConnection(sid, account, now, transport=transport)
        conn.granted(grant, now)
        conn.ice_refresh_at = self.sessions.ice_due(now)
        self.connections[sid] = conn
        await self.enter_room(sid, f"u:{account.user_id}")
        if account.role in PAIRED_ROLES:
            # After the handler returns, so that the client has its CONNECT before anything addressed to it.
            self._background(self._arrived(conn, first))

    async def _arrived(self, conn: LocalConnection, first: bool) -> None:
        try:
            await self.calls.ring_new_device(conn)
        except StoreUnavailable:
            log.warning("call state unavailable at connect")
        if first:
            await self.contacts.announce(conn.account.user_id)

    async def _disconnect(self, sid: str) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        # Wait for a join or leave in flight on this connection, so its outcome is what gets cleaned up.
        async with conn.membership:
            room_id = conn.room_id
            try:
                gone = await self.presence.remove(sid)
                room_id = room_id or (gone.room_id if gone else None)
            except StoreUnavailable:
                log.warning("presence unavailable at disconnect")
            if room_id is not None:
                try:
                    await self.rooms.disconnected(conn.account.user_id, sid, room_id)
                except StoreUnavailable:
                    log.warning("room store unavailable at disconnect", extra={"room_id": room_id})
        if conn.account.role in PAIRED_ROLES:
            await self._departed(conn)

    async def _departed(self, conn: LocalConnection) -> None:
        user_id = conn.account.user_id
        try:
            if conn.call_id is not None:
                await self.calls.connection_closed(user_id, conn.sid, conn.call_id)
            if not await self.presence.of_user(user_id, self.clock()):
                await self.contacts.announce(user_id)
        except StoreUnavailable:
            log.warning("live state unavailable at disconnect")

    # -- the crossings of group rooms and calls: one connection is in a room or a call, never both ----------

    async def _join_room(self, conn: LocalConnection, body: wire.RoomRef) -> Ack:
        if await self.calls.current(conn) is not None:
            raise SignalingError("conflict", "End your call before joining a group room.")
        return await self.rooms.join(conn, body)

    async def _invite(self, conn: LocalConnection, body: wire.CallInvite) -> Ack:
        if await self.rooms.in_room(conn):
            raise SignalingError("conflict", "Leave the group room before calling.")
        return await self.calls.invite(conn, body)

    async def _accept(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        if await self.rooms.in_room(conn):
            raise SignalingError("conflict", "Leave the group room before answering.")
        return await self.calls.accept(conn, body)

    async def _resume(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        if await self.rooms.in_room(conn):
            raise SignalingError("conflict", "Leave the group room before going back to the call.")
        return await self.calls.resume(conn, body)

    async def _signal(self, conn: LocalConnection, body: wire.RtcSignal) -> Ack:
        call = await self.calls.current(conn)
        if call is not None:
            return await self.calls.relay(conn, body, call)
        return await self.rooms.relay(conn, body)

    async def _event(self, event: str, sid: str, payload: Any, extra_args: bool) -> Ack:
        conn = self.connections.get(sid)
        if conn is None or conn.ending:
            return fail("not_authenticated", "This connection is not signed in.")
        now = self.clock()
        candidate = event == "rtc:signal" and isinstance(payload, dict) and payload.get("type") == "candidate"
        if not (conn.candidates if candidate else conn.bucket).take(now):
            self._strike(conn)
            return fail("rate_limited", "Too many requests; slow down.")
        spec = self.handlers.get(event)
        if spec is None:
            self._strike(conn)
            return fail("unknown_event", f"Haven has no event named '{str(event)[:64]}'.")
        model, handler = spec
        try:
            if extra_args:
                raise wire.WireError("Send one payload object per event.")
            body = wire.parse(model, payload)
        except wire.WireError as exc:
            self._strike(conn)
            return fail("invalid_request", str(exc))
        if event in UNADMITTED_EVENTS:
            return await self._handle(event, conn, handler, body)
        if not await self.admission.enter():
            return busy(self.admission.retry_after_ms())
        started = time.monotonic()
        try:
            if conn.sid not in self.connections:
                # The client left while this waited for a slot: nobody is there to be answered.
                self.admission.abandoned()
                return fail("not_authenticated", "This connection is not signed in.")
            return await self._handle(event, conn, handler, body)
        finally:
            self.admission.leave(time.monotonic() - started)

    async def _handle(self, event: str, conn: LocalConnection, handler: Handler, body: Any) -> Ack:
        try:
            if event in PRIVILEGED_EVENTS:
                await self.sessions.verify(conn)
            return await handler(conn, body)
        except (RoomError, SignalingError) as exc:
            return refusal(exc)
        except StoreUnavailable:
            return fail("unavailable", "Live room state is unreachable for a moment; try again.")
        except DATABASE_OUTAGES:
            log.warning("database unavailable", extra={"event": event})
            return fail("unavailable", "Haven's records are unreachable for a moment; try again.")
        except StoreConflict:
            return fail("conflict", "The room is changing fast; try again.")
        except Exception:
            log.exception("event handler failed", extra={"event": event})
            return fail("internal_error", "Something went wrong on our side.")

    def refused_packet(self, sid: str) -> None:
        """The transport refused something this connection sent (a reserved name, a malformed packet)."""
        conn = self.connections.get(sid)
        if conn is not None:
            self._strike(conn)

    def _strike(self, conn: LocalConnection) -> None:
        """A client that keeps breaking the protocol or the limits is disconnected."""
        if conn.strikes.add(self.clock()):
            log.info("disconnecting a client that keeps violating the protocol")
            self._background(self._cut_off(conn))

    async def _cut_off(self, conn: LocalConnection) -> None:
        """Close the connection down to its TCP link, not only its Socket.IO session: a client past its
        allowance keeps nothing open here, and is not waited for to answer a closing handshake."""
        eio_sid = self.server.manager.eio_sid_from_sid(conn.sid, "/")
        if eio_sid is None:
            await self.disconnect(conn.sid)
        else:
            await self.server.eio.disconnect(eio_sid)
        if isinstance(conn.transport, asyncio.WriteTransport):
            conn.transport.abort()

    async def stop_background(self) -> None:
        """Cancel and await the work started for connections (announcements, disconnects) at shutdown."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
