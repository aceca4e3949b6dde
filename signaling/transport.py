"""The Socket.IO server with a guard on what clients may send, before anything is dispatched.

python-socketio hands an EVENT packet named ``connect`` or ``disconnect`` to the namespace's own connect and
disconnect handlers like any other event, so a client could sign in again, reset its limits or forget its room
by sending ``42["disconnect"]``. Packets it cannot decode (nesting beyond the JSON decoder's depth, an event that
is not a list headed by a string, binary attachments, which Haven's protocol never uses) raised outside any
handler. Here every such packet is refused in the protocol's own shape: an ``invalid_request`` acknowledgement
when the client asked for one, and a strike against the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import socketio
from socketio import packet

from signaling.acks import fail

log = logging.getLogger("haven.signaling")

# Names Socket.IO (server or clients) keeps for itself; none may arrive as an event.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "error", "message", "newListener", "removeListener"}
)
# Called with the Socket.IO session id of a connection that sent something refused here.
OnRefused = Callable[[str], None]


# No event of Haven's nests deeper than a few levels; anything past this is refused before it is looked at.
MAX_DEPTH = 32


def event_problem(data: Any) -> str | None:
    """Why an EVENT packet's data cannot be dispatched, or None when it can."""
    if not isinstance(data, list) or not data:
        return "An event is a list headed by its name."
    name = data[0]
    if not isinstance(name, str):
        return "An event's name must be a string."
    if name in RESERVED_EVENTS:
        return f"'{name}' is reserved by Socket.IO and cannot be sent as an event."
    if too_deep(data[1:], MAX_DEPTH):
        return f"Payloads may nest at most {MAX_DEPTH} levels deep."
    return None


def too_deep(value: Any, limit: int) -> bool:
    """Whether JSON ``value`` nests lists and objects more than ``limit`` levels deep (walked without recursion,
    stopping at the first branch past the limit)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        deeper: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                deeper.extend(item.values())
            elif isinstance(item, list):
                deeper.extend(item)
        if not deeper:
            return False
        level = [item for item in deeper if isinstance(item, dict | list)]
        if not level:
            return False
    return True


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """``socketio.AsyncServer`` that decodes each client packet once, refuses what Haven never accepts, and
    dispatches the rest exactly as the library does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_refused: OnRefused | None = None

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str):
            # A binary frame: Haven never asks for attachments, so there is nothing it could belong to.
            await self._refuse(eio_sid, "/", None, "Binary payloads are not accepted.")
            return
        try:
            pkt = self.packet_class(encoded_packet=data)
        except (ValueError, TypeError, RecursionError):
            await self._refuse(eio_sid, "/", None, "The packet cannot be decoded.")
            return
        namespace = pkt.namespace or "/"
        kind = pkt.packet_type
        if kind == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif kind == packet.EVENT:
            problem = event_problem(pkt.data)
            if problem is None:
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
            else:
                await self._refuse(eio_sid, namespace, pkt.id, problem)
        elif kind == packet.ACK:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)
        elif kind == packet.BINARY_EVENT:
            await self._refuse(eio_sid, namespace, pkt.id, "Binary payloads are not accepted.")
        else:
            await self._refuse(eio_sid, namespace, None, "Unexpected packet type.")

    async def _refuse(self, eio_sid: str, namespace: str, ack_id: int | None, message: str) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        log.info("refused a malformed or reserved packet")
        if ack_id is not None:
            reply = self.packet_class(
                packet.ACK, namespace=namespace, id=ack_id, data=[fail("invalid_request", message)]
            )
            await self._send_packet(eio_sid, reply)
        if self.on_refused is not None:
            self.on_refused(sid)
