"""One encoding per fan-out: an event sent to a room is encoded once and the same frame goes to every recipient.

python-socketio encodes an emit once per node but starts a task per recipient to queue it, and its Redis manager
publishes the event as data that every other node decodes and encodes again. Here an emit without a callback is
encoded once where it starts; the frame is queued to each local recipient in turn (queueing never waits: each
connection's writer drains its own queue), and the other nodes receive the encoded frame itself.
"""

from __future__ import annotations

import logging
from typing import Any

from engineio import packet as eio_packet
from socketio import packet

log = logging.getLogger("haven.fan_out")
# Marks a published emit that carries its encoded frame (absent from python-socketio's own messages).
FRAME = "haven_frame"


class SharedPackets:
    """A mixin for python-socketio's client managers."""

    server: Any
    # Frames queued to local recipients by this node (one per delivery).
    frames_sent: int = 0

    def _frame(self, event: str, data: Any, namespace: str) -> str | None:
        """The encoded Socket.IO frame of an event with one JSON payload; None where the library must do it."""
        if isinstance(data, (tuple, list, bytes)) or packet.Packet.data_is_binary(data):
            return None
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, data]).encode()
        return encoded if isinstance(encoded, str) else None

    def _ends_place(self, event: Any) -> bool:
        """Whether ``event`` tells its recipients their place in a room ended (see ``room_entries``)."""
        return False

    def _place_ended(self, sid: str) -> None:
        """Told to ``sid``: its place in a room ended."""

    async def _send_frame(self, frame: str, namespace: str, room: Any, skip_sid: Any, event: Any = None) -> None:
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        message = eio_packet.Packet(eio_packet.MESSAGE, frame)
        ends_place = self._ends_place(event)
        for sid, eio_sid in self.get_participants(namespace, room):  # type: ignore[attr-defined]
            if sid not in skip:
                if ends_place:
                    self._place_ended(sid)
                self.frames_sent += 1
                try:
                    await self.server._send_eio_packet(eio_sid, message)
                except Exception:  # one recipient going away must not cost the others their copy
                    log.debug("a recipient could not be sent a frame", exc_info=True)


class LocalPackets(SharedPackets):
    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        namespace = namespace or "/"
        frame = None if callback is not None else self._frame(event, data, namespace)
        if frame is None or namespace not in self.rooms:  # type: ignore[attr-defined]
            await super().emit(  # type: ignore[misc]
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
            )
            return
        await self._send_frame(frame, namespace, to or room, skip_sid, event)


class PublishedPackets(SharedPackets):
    host_id: str

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        namespace = namespace or "/"
        frame = None if callback is not None or kwargs.get("ignore_queue") else self._frame(event, data, namespace)
        if frame is None:
            await super().emit(  # type: ignore[misc]
                event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
            )
            return
        room = to or room
        if namespace in self.rooms:  # type: ignore[attr-defined]
            await self._send_frame(frame, namespace, room, skip_sid, event)
        message = {
            "method": "emit",
            "event": event,
            FRAME: frame,
            "namespace": namespace,
            "room": room,
            "skip_sid": skip_sid,
            "host_id": self.host_id,
        }
        await self._publish(message)  # type: ignore[attr-defined]

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        frame = message.get(FRAME)
        if not isinstance(frame, str):
            await super()._handle_emit(message)  # type: ignore[misc]
            return
        namespace = message.get("namespace") or "/"
        if namespace in self.rooms:  # type: ignore[attr-defined]
            await self._send_frame(frame, namespace, message.get("room"), message.get("skip_sid"), message.get("event"))
