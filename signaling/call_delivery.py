"""Carrying out call events on the wire. Every event of a call goes to every connection of both people
(``u:<user>`` rooms, on every node), so each device knows where the call stands; ``call:incoming`` goes to the
callee's alone. A device ignores the calls it does not take part in.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from rooms.calls import Answered, Call, CallEvent, Declined, Ended, Ringing, SideAway, SideBack

log = logging.getLogger("haven.calls")


def _both(call: Call) -> list[str]:
    return [f"u:{call.caller.user_id}", f"u:{call.callee.user_id}"]


class CallDelivery:
    def __init__(self, sio: socketio.AsyncServer, ring_seconds: float) -> None:
        self.sio = sio
        self.ring_seconds = ring_seconds

    def incoming(self, call: Call) -> dict[str, Any]:
        return {
            "call_id": call.call_id,
            "from": {"user_id": call.caller.user_id, "display_name": call.caller.display_name},
            "ring_seconds": self.ring_seconds,
        }

    async def deliver(self, events: list[CallEvent]) -> None:
        """The change is stored already: one event failing to go out must not keep the others from going."""
        for event in events:
            try:
                await self._deliver_one(event)
            except Exception:
                log.exception("delivering a call event failed", extra={"event": type(event).__name__})

    async def _deliver_one(self, event: CallEvent) -> None:
        match event:
            case Ringing(call=call):
                await self.sio.emit("call:incoming", self.incoming(call), to=f"u:{call.callee.user_id}")
            case Answered(call=call):
                answered_by = call.callee.peer_id
                for side, other in ((call.caller, call.callee), (call.callee, call.caller)):
                    await self.sio.emit(
                        "call:accepted",
                        {"call_id": call.call_id, "peer_id": other.peer_id, "answered_by": answered_by},
                        to=f"u:{side.user_id}",
                    )
            case Declined(call=call):
                await self.sio.emit("call:declined", {"call_id": call.call_id}, to=_both(call))
            case Ended(call=call):
                reason = None if call.reason is None else call.reason.value
                await self.sio.emit("call:ended", {"call_id": call.call_id, "reason": reason}, to=_both(call))
            case SideAway(call=call, user_id=user_id):
                await self.sio.emit("call:reconnecting", {"call_id": call.call_id, "user_id": user_id}, to=_both(call))
            case SideBack(call=call, user_id=user_id):
                role = call.role_of(user_id)
                assert role is not None
                await self.sio.emit(
                    "call:resumed",
                    {"call_id": call.call_id, "user_id": user_id, "peer_id": call.side(role).peer_id},
                    to=_both(call),
                )
