"""One-on-one calls over Socket.IO: applies ``rooms.call_transitions`` to the call's live document with
compare-and-set, then carries out what happened (records, fan-out, contacts' status) and answers the client.

A call's document lives in its own store (``call`` documents in Redis, or memory), so any node can serve either
side; each person's line (``signaling.call_lines``) makes "already in a call" exact across nodes. The node that
wins a write delivers its events, as for group rooms.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from rooms import call_transitions
from rooms.calls import Answered, Call, CallEvent, CallState, Ended, Side, from_document, to_document
from rooms.errors import RoomError
from signaling import ice_privacy, wire
from signaling.acks import Ack, SignalingError, not_authorized, ok
from signaling.call_delivery import CallDelivery
from signaling.call_lines import Lines
from signaling.connection import LocalConnection
from signaling.contacts import IN_CALL, ContactStatus
from signaling.presence import Presence
from signaling.restoring_store import RestoringStore
from signaling.room_store import Document, RoomStore
from signaling.seams import CallRecords, IceServers, PairingDirectory

log = logging.getLogger("haven.calls")
Change = Callable[[Call | None], tuple[Call | None, list[CallEvent]]]
# An ended call's document stays this long, so that a late act on it is told the call ended.
KEEP_ENDED_SECONDS = 60.0
# Whether a connection holds a place (member or waiting) in a group room, from the room store.
InGroupRoom = Callable[[str, str, str], Awaitable[bool]]


class Calls:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        store: RoomStore,
        lines: Lines,
        presence: Presence,
        pairings: PairingDirectory,
        records: CallRecords,
        contacts: ContactStatus,
        ice_servers: IceServers,
        in_group_room: InGroupRoom,
        ring_seconds: float,
        grace_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sio = sio
        self.store = store
        self.lines = lines
        self.presence = presence
        self.pairings = pairings
        self.records = records
        self.contacts = contacts
        self.ice_servers = ice_servers
        self.in_group_room = in_group_room
        self.ring_seconds = ring_seconds
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.delivery = CallDelivery(sio, ring_seconds)

    def _media(self, user_id: str) -> dict[str, Any]:
        # TURN credentials are issued afresh for each call and each side.
        policy = self.ice_servers.transport_policy
        return {"mode": "p2p", "ice_servers": self.ice_servers(user_id), "ice_transport_policy": policy}

    # -- the one way a call changes -----------------------------------------------------------------------

    async def _apply(self, call_id: str, change: Change) -> Call | None:
        def on_document(document: Document | None) -> tuple[Document | None, tuple[Call | None, list[CallEvent]]]:
            call = None if document is None else from_document(document)
            new_call, events = change(call)
            if not events:
                return document, (call, [])
            return (None if new_call is None else to_document(new_call)), (new_call, events)

        call, events = await self.store.update(call_id, on_document)
        if events:
            await self._carry_out(events)
        return call

    async def _carry_out(self, events: list[CallEvent]) -> None:
        try:
            await self.records.record(events)
        except Exception:
            # The call goes on; the gap in the records is logged (by ids only) for the operator.
            log.exception("recording call events failed")
        await self.delivery.deliver(events)
        for event in events:
            if isinstance(event, Ended):
                call = event.call
                for user_id in call.people():
                    try:
                        await self.lines.release(user_id, call.call_id)
                    except Exception:
                        # A line naming an ended call counts as free; nothing is stuck.
                        log.warning("releasing a line failed", extra={"call_id": call.call_id})
            if isinstance(event, Answered):
                for user_id in event.call.people():
                    await self.contacts.announce(user_id, IN_CALL)
            elif isinstance(event, Ended) and event.call.answered_at is not None:
                for user_id in event.call.people():
                    await self.contacts.announce(user_id)

    async def _audit(
        self, conn: LocalConnection, action: str, outcome: str, call_id: str | None, target: str | None = None
    ) -> None:
        try:
            await self.records.audit(conn.account.user_id, action, outcome, call_id, target)
        except Exception:
            log.exception("audit write failed", extra={"action": action})

    async def _act(self, conn: LocalConnection, action: str, call_id: str, change: Change) -> Call:
        """Run a person's command on a call; every attempt, allowed or refused, is audited."""
        try:
            call = await self._apply(call_id, change)
        except (RoomError, SignalingError) as exc:
            await self._audit(conn, action, exc.code, call_id)
            raise
        assert call is not None
        await self._audit(conn, action, "success", call_id)
        return call

    # -- ringing -----------------------------------------------------------------------------------------

    async def invite(self, conn: LocalConnection, body: wire.CallInvite) -> Ack:
        me, callee_id = conn.account.user_id, str(body.user_id)
        contact = await self.pairings.contact(me, callee_id)
        if contact is None:
            await self._audit(conn, "call.invite", "not_authorized", None, callee_id)
            raise not_authorized("You can call only the people you are paired with.")
        call_id = str(uuid.uuid4())
        now = self.clock()
        claimed: list[str] = []
        try:
            busy = await self._in_group_session(callee_id, now)
            for user_id in sorted((me, callee_id)):
                if user_id == callee_id:
                    if not busy and await self.lines.claim(callee_id, call_id, now):
                        claimed.append(callee_id)
                    else:
                        busy = True
                    continue
                # Once the callee is busy the caller's line is only looked at: taking it then could make a call
                # placed to the caller at this very moment find them busy for nothing.
                if await self.lines.busy(me, now) if busy else not await self.lines.claim(me, call_id, now):
                    await self._audit(conn, "call.invite", "conflict", None, callee_id)
                    raise SignalingError("conflict", "You are already in a call; end it first.")
                if not busy:
                    claimed.append(me)
            call, events = call_transitions.invite(
                call_id,
                contact.pairing_id,
                Side(me, conn.account.display_name, conn.sid),
                Side(contact.user_id, contact.display_name),
                now,
                busy,
            )
            # The row exists before anyone can answer, so every later update finds it.
            try:
                await self.records.opened(call)
            except Exception as exc:
                log.exception("recording a call failed")
                raise SignalingError("unavailable", "Calls cannot be placed for a moment; try again.") from exc
            if call.live:
                await self.store.update(call_id, lambda _: (to_document(call), None))
        except BaseException:
            for user_id in claimed:
                await self.lines.release(user_id, call_id)
            raise
        if not call.live:
            for user_id in claimed:
                await self.lines.release(user_id, call_id)
        conn.call_id = call_id
        await self.delivery.deliver(events)
        await self._audit(conn, "call.invite", call.state.value if call.live else "busy", call_id, callee_id)
        result: dict[str, Any] = {"call_id": call_id, "state": call.state.value, "media": self._media(me)}
        if call.reason is not None:
            result["reason"] = call.reason.value
        return ok(**result)

    async def _in_group_session(self, user_id: str, now: float) -> bool:
        for connection in await self.presence.of_user(user_id, now):
            if connection.room_id is not None and await self.in_group_room(connection.room_id, user_id, connection.sid):
                return True
        return False

    async def ring_new_device(self, conn: LocalConnection) -> None:
        """A connection that arrives while a call to this person rings rings too."""
        call = await self.lines.holder(conn.account.user_id)
        if call is not None and call.state is CallState.RINGING and call.callee.user_id == conn.account.user_id:
            await self.sio.emit("call:incoming", self.delivery.incoming(call), to=conn.sid)

    # -- acting on a call --------------------------------------------------------------------------------

    async def accept(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        me, call_id = conn.account.user_id, str(body.call_id)
        call = await self._act(
            conn, "call.accept", call_id, lambda c: call_transitions.accept(c, me, conn.sid, self.clock())
        )
        conn.call_id = call_id
        return ok(call_id=call_id, peer_id=call.caller.peer_id, media=self._media(me))

    async def decline(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        me = conn.account.user_id
        await self._act(
            conn, "call.decline", str(body.call_id), lambda c: call_transitions.decline(c, me, self.clock())
        )
        return ok()

    async def cancel(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        me = conn.account.user_id
        await self._act(conn, "call.cancel", str(body.call_id), lambda c: call_transitions.cancel(c, me, self.clock()))
        return ok()

    async def hangup(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        me = conn.account.user_id
        await self._act(conn, "call.hangup", str(body.call_id), lambda c: call_transitions.hangup(c, me, self.clock()))
        return ok()

    async def resume(self, conn: LocalConnection, body: wire.CallRef) -> Ack:
        me, call_id = conn.account.user_id, str(body.call_id)
        call = await self._act(
            conn,
            "call.resume",
            call_id,
            lambda c: call_transitions.resume(c, me, conn.sid, self.clock(), self.grace_seconds),
        )
        conn.call_id = call_id
        role = call.role_of(me)
        assert role is not None
        return ok(call_id=call_id, role=role.value, peer_id=call.other(role).peer_id, media=self._media(me))

    async def current(self, conn: LocalConnection) -> Call | None:
        """The live call this connection takes part in (ringing as its caller, or answered), if any."""
        if conn.call_id is None:
            return None
        call = await self.lines.call(conn.call_id)
        if call is None or not call.live or conn.sid not in (call.caller.peer_id, call.callee.peer_id):
            return None
        return call

    # -- WebRTC ------------------------------------------------------------------------------------------

    async def relay(self, conn: LocalConnection, body: wire.RtcSignal, call: Call) -> Ack:
        """Relay an offer, answer or candidate to the other side of ``call`` (this connection's, from
        ``current``) while it is answered, and nowhere else."""
        role = call.role_of(conn.account.user_id)
        if role is None or call.state is not CallState.ANSWERED:
            raise not_authorized("You can only signal to the other side of your call.")
        other = call.other(role)
        # A side that is away has no connection in the call: its old peer id is nobody's.
        if call.side(role).peer_id != conn.sid or body.to != other.peer_id or other.away_since is not None:
            raise not_authorized("You can only signal to the other side of your call.")
        signal = ice_privacy.screened(body, self.ice_servers.transport_policy)
        await self.sio.emit("rtc:signal", wire.relayed(conn.sid, signal), to=body.to)
        return ok()

    # -- connections and time ----------------------------------------------------------------------------

    async def connection_closed(self, user_id: str, sid: str, call_id: str | None = None) -> None:
        """A connection of this person closed (here, or on a node that died): its call learns of it."""
        if call_id is None:
            line = await self.lines.holder(user_id)
            if line is None:
                return
            call_id = line.call_id
        await self._apply(
            call_id, lambda c: (c, []) if c is None else call_transitions.connection_closed(c, sid, self.clock())
        )

    async def end_line(self, user_id: str) -> None:
        """This person's access ended: the call on their line (ringing or answered) ends as if they hung up."""
        call = await self.lines.holder(user_id)
        if call is None or not call.live:
            return
        with contextlib.suppress(RoomError):  # it ended meanwhile
            await self._apply(
                call.call_id,
                lambda c: (c, []) if c is None or not c.live else call_transitions.hangup(c, user_id, self.clock()),
            )

    async def pairing_ended(self, pairing_id: str, people: tuple[str, str]) -> None:
        """A pairing ended: a call between the two may not go on."""
        for user_id in people:
            call = await self.lines.holder(user_id)
            if call is not None and call.pairing_id == pairing_id:
                await self._apply(
                    call.call_id, lambda c: (c, []) if c is None else call_transitions.terminate(c, self.clock())
                )

    async def restore(self, now: float) -> None:
        """After Redis was away: write back the live calls it lost, and their lines, so their timers run on."""
        if not isinstance(self.store, RestoringStore):
            return
        for call_id in await self.store.restore():
            call = await self.lines.call(call_id)
            if call is not None and call.live:
                for user_id in call.people():
                    await self.lines.claim(user_id, call_id, now)

    async def sweep(self, now: float, mine: Callable[[str], bool] = lambda call_id: True) -> None:
        """End calls that rang out or whose side stayed away too long; forget calls that ended a while ago. Only
        the calls ``mine`` picks (this node's share) are looked at."""
        call_ids = [call_id for call_id in await self.store.room_ids() if mine(call_id)]
        for call_id, document in (await self.store.read_many(call_ids)).items():
            if document is None:
                continue
            call = from_document(document)
            if not call.live:
                if call.ended_at is not None and now >= call.ended_at + KEEP_ENDED_SECONDS:
                    await self.store.update(call_id, _forget_ended)
                continue
            await self._apply(
                call_id,
                lambda c: (
                    (c, [])
                    if c is None
                    else call_transitions.expire(c, self.clock(), self.ring_seconds, self.grace_seconds)
                ),
            )


def _forget_ended(document: Document | None) -> tuple[Document | None, None]:
    if document is not None and from_document(document).live:
        return document, None
    return None, None
