"""Group rooms over Socket.IO: applies ``rooms`` transitions through the room-state store, then carries out
their events (fan-out, durable records) and answers the client.

Every change goes through ``_apply``: load the document, run the pure transition, compare-and-set, and only
after the write succeeded deliver what happened. The node that wins the write is the one that delivers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import socketio

from rooms import administration, transitions
from rooms import media as topology
from rooms.document import from_document, grace_over, member_places, to_document
from rooms.errors import RoomError, RoomNotOpen
from rooms.events import Event, LobbySettingChanged
from rooms.model import Person, Role, Room
from rooms.reconcile import reconcile
from signaling import ice_privacy, wire
from signaling.acks import Ack, SignalingError, not_authorized, ok
from signaling.coalesce import Coalesced
from signaling.connection import LocalConnection
from signaling.delivery import Delivery, facilitators_room, members_room
from signaling.presence import Connection, Presence
from signaling.room_store import Document, RoomStore
from signaling.seams import AuditNote, Enrolment, GroupDirectory, GroupState, IceServers, MediaPlane, RoomRecords
from signaling.views import MESH_LIMIT, entry_payload, media_view

log = logging.getLogger("haven.rooms")
Change = Callable[[Room | None], transitions.Result]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class GroupRooms:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        store: RoomStore,
        presence: Presence,
        groups: GroupDirectory,
        records: RoomRecords,
        ice_servers: IceServers,
        grace_seconds: float,
        media: MediaPlane | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sio = sio
        self.store = store
        self.presence = presence
        self.groups = groups
        self.records = records
        self.ice_servers = ice_servers
        self.grace_seconds = grace_seconds
        self.clock = clock
        self.media = media
        # One forwarder sync at a time per room, shared by the changes that ask for one meanwhile.
        self._media_refresh = Coalesced(self._refresh_media)
        self.delivery = Delivery(sio, self._entry_for, self._media_for)
        if media is not None:
            media.connect(self._media_send, self._media_moved, self._media_refresh)

    # -- the one way state changes -------------------------------------------------------------------------

    async def _apply(
        self,
        room_id: str,
        change: Change,
        origin: str | None = None,
        audit: Callable[[Room | None], AuditNote] | None = None,
    ) -> tuple[Room | None, list[Event]]:
        def on_document(document: Document | None) -> tuple[Document | None, tuple[Room | None, list[Event]]]:
            room = None if document is None else from_document(document)
            new_room, events = topology.settle(*change(room), None if self.media is None else self.media.mesh_limit)
            if not events and new_room == room:
                return document, (room, [])
            return (None if new_room is None else to_document(new_room)), (new_room, events)

        new_room, events = await self.store.update(room_id, on_document)
        if events:
            await self._carry_out(room_id, new_room, events, origin, None if audit is None else audit(new_room))
            await self._sync_media(room_id, new_room)
        elif audit is not None:
            await self._write_audit(room_id, audit(new_room))
        return new_room, events

    async def _sync_media(self, room_id: str, room: Room | None) -> None:
        """Keep the forwarder in step with the room: who is in it and what each may send.

        Changes finish their delivery in any order, so each sync sends the room as stored now, one at a time per
        room: an older change finishing last cannot undo a newer mute or removal at the forwarder.
        """
        if self.media is None or (room is not None and not room.forwarded):
            return
        try:
            await self._media_refresh(room_id)
        except Exception:
            log.exception("updating the forwarder failed", extra={"room_id": room_id})

    async def _refresh_media(self, room_id: str) -> None:
        """Sync the forwarder with the room as stored now (also every few seconds, from the serving node)."""
        document = await self.store.read(room_id)
        room = None if document is None else from_document(document)
        if self.media is not None and (room is None or room.forwarded):
            await self.media.sync(room_id, room)

    async def _media_moved(self, room_id: str) -> None:
        """The room's forwarder changed (its node went away): place it again and tell every member where."""
        document = await self.store.read(room_id)
        room = None if document is None else from_document(document)
        if room is None or not room.forwarded or self.media is None:
            return
        await self.media.sync(room_id, room)
        for member in room.members:
            media = await self._media_for(room, member.user_id)
            await self.sio.emit("room:media", {"room_id": room_id, "media": media}, to=member.peer_id)

    async def _media_send(self, room_id: str, to: str, event: str, data: dict[str, Any]) -> None:
        await self.sio.emit(event, data, to=members_room(room_id) if to == "room" else to)

    async def _carry_out(
        self, room_id: str, room: Room | None, events: list[Event], origin: str | None, audit: AuditNote | None = None
    ) -> None:
        try:
            await self.records.record(room_id, events, audit, room)
        except Exception:
            # The room goes on; the gap in the records is logged (by ids only) for the operator.
            log.exception("recording room events failed", extra={"room_id": room_id})
        await self.delivery.deliver(room_id, room, events, origin)
        for event in events:
            if isinstance(event, LobbySettingChanged):
                try:
                    await self.groups.set_lobby_enabled(room_id, event.enabled)
                except Exception:
                    log.exception("storing the lobby setting failed", extra={"room_id": room_id})

    async def _entry_for(self, room: Room, user_id: str) -> dict[str, Any]:
        # The room as stored now, read after the newcomer entered the members' Socket.IO room: whoever joined since
        # the newcomer's own change is listed, whoever joins later is announced to it (in a large room joins overlap).
        document = await self.store.read(room.room_id)
        if document is not None and (now := from_document(document)).member(user_id) is not None:
            room = now
        member = room.member(user_id)
        assert member is not None
        last_seq = await self.groups.chat_last_seq(f"room:{room.room_id}")
        return entry_payload(room, member, await self._media_for(room, user_id), last_seq)

    async def _media_for(self, room: Room, user_id: str) -> dict[str, Any]:
        forwarder = None
        if room.forwarded and self.media is not None:
            forwarder = await self.media.forwarder(room.room_id)
        mesh_limit = MESH_LIMIT if self.media is None else self.media.mesh_limit
        return media_view(self.ice_servers(user_id), self.ice_servers.transport_policy, mesh_limit, forwarder)

    async def _actor(self, conn: LocalConnection, room_id: str) -> Person:
        """The acting person with their role in this group, from the database."""
        enrolment = await self.groups.enrolment(room_id, conn.account.user_id)
        if enrolment is None:
            raise not_authorized("Only a facilitator can do that.")
        return Person(conn.account.user_id, conn.account.display_name, enrolment.role)

    async def _audit(
        self, conn: LocalConnection, action: str, outcome: str, room_id: str, target: str | None = None, **detail: Any
    ) -> None:
        await self._write_audit(room_id, AuditNote(conn.account.user_id, action, outcome, target, detail))

    async def _write_audit(self, room_id: str, note: AuditNote) -> None:
        try:
            await self.records.audit(note.actor_id, note.action, note.outcome, room_id, note.target_id, note.detail)
        except Exception:
            log.exception("audit write failed", extra={"action": note.action})

    async def _moderate(
        self, conn: LocalConnection, action: str, room_id: str, target: str | None, make: Callable[[Person], Change]
    ) -> Ack:
        """Run a facilitator's command; every attempt, allowed or refused, is audited."""
        try:
            actor = await self._actor(conn, room_id)
            await self._apply(room_id, make(actor), origin=conn.sid)
        except (RoomError, SignalingError) as exc:
            await self._audit(conn, action, exc.code, room_id, target)
            raise
        await self._audit(conn, action, "success", room_id, target)
        return ok()

    # -- entering and leaving ------------------------------------------------------------------------------

    async def join(self, conn: LocalConnection, body: wire.RoomRef) -> Ack:
        async with conn.membership:
            return await self._join(conn, str(body.room_id))

    async def _join(self, conn: LocalConnection, room_id: str) -> Ack:
        if conn.room_id is not None and conn.room_id != room_id and await self._still_in(conn, conn.room_id):
            raise SignalingError("conflict", "Leave the room you are in first.")
        now = self.clock()
        enrolment = await self.groups.enrolment(room_id, conn.account.user_id, joining_at=now)
        if enrolment is None:
            await self._audit(conn, "room.join", "not_authorized", room_id)
            raise not_authorized("You are not enrolled in this group.")
        person = Person(conn.account.user_id, conn.account.display_name, enrolment.role)
        session_id = enrolment.session_id or str(uuid.uuid4())
        agreement = enrolment.agreement
        opens_at = await self._opening(room_id, person, enrolment, now) if agreement is None else None

        def change(room: Room | None) -> transitions.Result:
            if agreement is not None and (
                room is None or (room.member(person.user_id) is None and room.waiting(person.user_id) is None)
            ):
                # Someone who already holds a place (a reconnect) keeps it; a newcomer accepts the agreement first.
                raise SignalingError(
                    "agreement_required",
                    "Read and accept the group's agreement before you join.",
                    agreement={"version": agreement.version, "text": agreement.text},
                )
            return transitions.join(
                room, room_id, enrolment.settings, person, conn.sid, self.clock(), session_id, opens_at
            )

        def audited(room: Room | None) -> AuditNote:
            # Written with the join's own records, in their transaction.
            entered = room is not None and room.member(person.user_id) is not None
            return AuditNote(person.user_id, "room.join", "joined" if entered else "waiting")

        try:
            room, _ = await self._apply(room_id, change, origin=conn.sid, audit=audited)
        except (RoomError, SignalingError) as exc:
            await self._audit(conn, "room.join", exc.code, room_id)
            if isinstance(exc, RoomNotOpen):
                next_open = exc.extra.get("opens_at")
                when = None if not isinstance(next_open, int | float) else _iso(next_open)
                raise SignalingError(exc.code, exc.message, opens_at=when) from None
            raise
        conn.room_id = room_id
        await self.presence.set_room(conn.sid, room_id)
        assert room is not None
        member = room.member(person.user_id)
        if member is None:
            return ok(
                status="waiting", room={"room_id": room_id}, self={"peer_id": conn.sid, "user_id": person.user_id}
            )
        return ok(**await self._entry_for(room, person.user_id))

    async def _opening(self, room_id: str, person: Person, enrolment: Enrolment, now: float) -> float | None:
        """When a scheduled group's room next opens to this participant, None when they may come now. The
        schedule is read only when the room has no open session and they hold no place there (a running session
        is open to its members whatever the clock says)."""
        if person.role is not Role.PARTICIPANT or not enrolment.scheduled:
            return None
        document = await self.store.read(room_id)
        if document is not None:
            room = from_document(document)
            if room.session_id is not None or room.waiting(person.user_id) is not None:
                return None
        return await self.groups.opening(room_id, now)

    async def _still_in(self, conn: LocalConnection, room_id: str) -> bool:
        """Whether this connection still holds a place (room or lobby) there; others may have ended it."""
        return await self.holds_place(room_id, conn.account.user_id, conn.sid)

    async def holds_place(self, room_id: str, user_id: str, sid: str) -> bool:
        """Whether connection ``sid`` holds this person's place in the room or its lobby."""
        document = await self.store.read(room_id)
        if document is None:
            return False
        room = from_document(document)
        member, waiting = room.member(user_id), room.waiting(user_id)
        return (member is not None and member.peer_id == sid) or (waiting is not None and waiting.peer_id == sid)

    async def in_room(self, conn: LocalConnection) -> bool:
        """Whether this connection holds a place in a group room (or its lobby) now."""
        return conn.room_id is not None and await self._still_in(conn, conn.room_id)

    async def leave(self, conn: LocalConnection, body: wire.RoomRef) -> Ack:
        async with conn.membership:
            return await self._leave(conn, str(body.room_id))

    async def _leave(self, conn: LocalConnection, room_id: str) -> Ack:
        await self._apply(room_id, lambda r: transitions.leave(r, conn.account.user_id, self.clock()), origin=conn.sid)
        if conn.room_id == room_id:
            conn.room_id = None
            await self.presence.set_room(conn.sid, None)
        return ok()

    async def disconnected(self, user_id: str, sid: str, room_id: str) -> None:
        """A connection is gone (closed, or its node died): its member keeps their place for the grace period."""
        await self._apply(room_id, lambda r: transitions.disconnect(r, user_id, sid, self.clock()))

    async def expire(self, room_id: str) -> None:
        await self._apply(room_id, lambda r: transitions.expire(r, self.clock(), self.grace_seconds))

    async def expire_due(self, room_ids: list[str]) -> None:
        """Announce the members whose grace ran out, among ``room_ids``: all read in one round trip, and only the
        rooms where someone is due are changed."""
        now = self.clock()
        for room_id, document in (await self.store.read_many(room_ids)).items():
            if document is not None and grace_over(document, now, self.grace_seconds):
                await self.expire(room_id)

    # -- what the program's administration changed --------------------------------------------------------

    async def withdraw(self, room_id: str, user_id: str) -> None:
        """The person was taken out of the group: out of its live room and lobby at once, as removed."""
        await self._apply(room_id, lambda r: administration.withdraw(r, user_id, self.clock()))

    async def regroup(self, room_id: str, group: GroupState | None) -> None:
        """The group changed: archived (or gone), its live room ends; otherwise the room takes its settings."""
        if group is None or group.archived:
            await self._apply(room_id, lambda r: administration.close(r, self.clock()))
        else:
            await self._apply(room_id, lambda r: administration.apply_settings(r, group.settings, self.clock()))

    async def leave_as(self, room_id: str, user_id: str) -> None:
        """The person's access ended: they leave the room or its lobby as if they had left."""

        def change(room: Room | None) -> transitions.Result:
            if room is None or (room.member(user_id) is None and room.waiting(user_id) is None):
                return room, []
            return transitions.leave(room, user_id, self.clock())

        await self._apply(room_id, change)

    # -- facilitators ----------------------------------------------------------------------------------------

    async def admit(self, conn: LocalConnection, body: wire.Target) -> Ack:
        room_id, target = str(body.room_id), str(body.user_id)
        return await self._moderate(
            conn, "room.admit", room_id, target, lambda a: lambda r: transitions.admit(r, a, target, self.clock())
        )

    async def deny(self, conn: LocalConnection, body: wire.Target) -> Ack:
        room_id, target = str(body.room_id), str(body.user_id)
        return await self._moderate(
            conn, "room.deny", room_id, target, lambda a: lambda r: transitions.deny(r, a, target, self.clock())
        )

    async def mute(self, conn: LocalConnection, body: wire.MuteBody) -> Ack:
        room_id, target, kind = str(body.room_id), str(body.user_id), body.kind
        return await self._moderate(
            conn, f"room.mute.{kind.value}", room_id, target, lambda a: lambda r: transitions.mute(r, a, target, kind)
        )

    async def ask_to_unmute(self, conn: LocalConnection, body: wire.MuteBody) -> Ack:
        room_id, target, kind = str(body.room_id), str(body.user_id), body.kind
        return await self._moderate(
            conn,
            f"room.ask_unmute.{kind.value}",
            room_id,
            target,
            lambda a: lambda r: transitions.request_unmute(r, a, target, kind),
        )

    async def remove(self, conn: LocalConnection, body: wire.Target) -> Ack:
        room_id, target = str(body.room_id), str(body.user_id)
        return await self._moderate(
            conn, "room.remove", room_id, target, lambda a: lambda r: transitions.remove(r, a, target, self.clock())
        )

    async def send_to_lobby(self, conn: LocalConnection, body: wire.Target) -> Ack:
        room_id, target = str(body.room_id), str(body.user_id)
        return await self._moderate(
            conn,
            "room.send_to_lobby",
            room_id,
            target,
            lambda a: lambda r: transitions.send_to_lobby(r, a, target, self.clock()),
        )

    async def lock(self, conn: LocalConnection, body: wire.LockBody) -> Ack:
        room_id, locked = str(body.room_id), body.locked
        return await self._moderate(
            conn,
            "room.lock" if locked else "room.unlock",
            room_id,
            None,
            lambda a: lambda r: transitions.lock(r, a, locked),
        )

    async def set_lobby(self, conn: LocalConnection, body: wire.LobbyBody) -> Ack:
        room_id, enabled = str(body.room_id), body.enabled
        return await self._moderate(
            conn,
            "room.lobby_on" if enabled else "room.lobby_off",
            room_id,
            None,
            lambda a: lambda r: transitions.set_lobby(r, a, enabled, self.clock()),
        )

    async def end(self, conn: LocalConnection, body: wire.RoomRef) -> Ack:
        room_id = str(body.room_id)
        return await self._moderate(
            conn, "room.end", room_id, None, lambda a: lambda r: transitions.end(r, a, self.clock())
        )

    # -- members --------------------------------------------------------------------------------------------

    async def set_media(self, conn: LocalConnection, body: wire.MediaBody) -> Ack:
        room_id, kind, enabled = str(body.room_id), body.kind, body.enabled
        await self._apply(
            room_id, lambda r: transitions.set_media(r, conn.account.user_id, kind, enabled), origin=conn.sid
        )
        return ok()

    async def share_screen(self, conn: LocalConnection, body: wire.ScreenBody) -> Ack:
        room_id, sharing = str(body.room_id), body.sharing
        await self._apply(
            room_id, lambda r: transitions.share_screen(r, conn.account.user_id, sharing), origin=conn.sid
        )
        return ok()

    async def raise_hand(self, conn: LocalConnection, body: wire.RoomRef) -> Ack:
        room_id = str(body.room_id)
        await self._apply(room_id, lambda r: transitions.raise_hand(r, conn.account.user_id), origin=conn.sid)
        return ok()

    async def lower_hand(self, conn: LocalConnection, body: wire.LowerHand) -> Ack:
        room_id = str(body.room_id)
        target = None if body.user_id is None else str(body.user_id)
        if target is None or target == conn.account.user_id:
            person = Person(conn.account.user_id, conn.account.display_name, Role.PARTICIPANT)
            await self._apply(room_id, lambda r: transitions.lower_hand(r, person, None), origin=conn.sid)
            return ok()
        return await self._moderate(
            conn, "room.lower_hand", room_id, target, lambda a: lambda r: transitions.lower_hand(r, a, target)
        )

    # -- after an outage of the store ---------------------------------------------------------------------

    def merge(self, room_id: str, stored: Document | None, local: Document, local_peers: set[str]) -> Document | None:
        room = reconcile(None if stored is None else from_document(stored), from_document(local), local_peers)
        return None if room is None else to_document(room)

    @staticmethod
    def holds(document: Document, local_peers: set[str]) -> bool:
        """Whether this node must write the room back after an outage: it holds someone's place (member or
        waiting), or a member's place is kept for their grace period (no node holds their connection, so every
        node that has the room writes it back, and the store cannot lose it to whichever node is first)."""
        room = from_document(document)
        return any(m.peer_id in local_peers or not m.connected for m in room.members) or any(
            w.peer_id in local_peers for w in room.lobby
        )

    async def verify(self, room_id: str) -> None:
        """Treat as dropped everyone (in the room or the lobby) whose connection no node holds any more."""
        document = await self.store.read(room_id)
        if document is None:
            return
        now = self.clock()
        room = from_document(document)
        places = [(m.user_id, m.peer_id) for m in room.members if m.connected] + [
            (w.user_id, w.peer_id) for w in room.lobby
        ]
        for user_id, peer_id in places:
            live = {c.sid for c in await self.presence.of_user(user_id, now)}
            if peer_id not in live:
                await self.disconnected(user_id, peer_id, room_id)

    async def align(self, connections: list[Connection]) -> None:
        """Put this node's connections in exactly the Socket.IO rooms their places call for.

        Entering or leaving a room for a connection on another node travels over pub/sub, which delivers at
        most once; each node repairs its own connections from the stored rooms, with local calls only. The rooms
        are read in one round trip, and a connection that entered or left a room while they were being read is
        left as it is (it acted on something newer than this read).
        """
        by_room: dict[str, list[Connection]] = {}
        for connection in connections:
            if connection.room_id is not None:
                by_room.setdefault(connection.room_id, []).append(connection)
        manager = self.sio.manager
        mark = manager.watermark() if hasattr(manager, "watermark") else None
        try:
            documents = await self.store.read_many(list(by_room))
        finally:
            recent = manager.touched_since(mark) if mark is not None else set()
        entered = self._entered_rooms()
        for room_id, held_here in by_room.items():
            document = documents.get(room_id)
            places = {} if document is None else member_places(document)
            for connection in held_here:
                place = places.get(connection.user_id)
                wanted = set()
                if place is not None and place[0] == connection.sid:
                    wanted.add(members_room(room_id))
                    if place[1] == Role.FACILITATOR.value:
                        wanted.add(facilitators_room(room_id))
                current = entered.get(connection.sid, set())
                for name in wanted - current:
                    if (connection.sid, name) not in recent:
                        manager.basic_enter_room(connection.sid, "/", name)
                for name in current - wanted:
                    if (connection.sid, name) not in recent:
                        manager.basic_leave_room(connection.sid, "/", name)

    def _entered_rooms(self) -> dict[str, set[str]]:
        """The member and facilitator rooms (``r:``, ``f:``) each local connection is in, from one pass over the
        Socket.IO rooms (asking per connection would scan every room for each)."""
        entered: dict[str, set[str]] = {}
        for name, sids in self.sio.manager.rooms.get("/", {}).items():
            if isinstance(name, str) and name[:2] in ("r:", "f:"):
                for sid in sids:
                    entered.setdefault(sid, set()).add(name)
        return entered

    async def resend_state(self, room_id: str) -> None:
        """Send everyone in the room the whole state, so clients that missed events converge."""
        document = await self.store.read(room_id)
        if document is not None:
            await self.delivery.state(from_document(document))

    # -- WebRTC ---------------------------------------------------------------------------------------------

    async def relay(self, conn: LocalConnection, body: wire.RtcSignal) -> Ack:
        """Relay an offer, answer or candidate to a peer in the same room, and nowhere else."""
        room_id = conn.room_id
        if room_id is None:
            raise not_authorized("You can only signal to peers in your room or call.")
        document = await self.store.read(room_id)
        room = None if document is None else from_document(document)
        if room is None:
            raise not_authorized("You can only signal to peers in your room or call.")
        sender = room.member(conn.account.user_id)
        peers = {m.peer_id for m in room.members}
        if sender is None or sender.peer_id != conn.sid or body.to == conn.sid:
            raise not_authorized("You can only signal to peers in your room or call.")
        signal = ice_privacy.screened(body, self.ice_servers.transport_policy)
        if body.to not in peers:
            if room.forwarded and self.media is not None:
                payload = wire.relayed(conn.sid, signal)
                await self.media.signal(room, body.to, sender, payload)
                return ok()
            raise not_authorized("You can only signal to peers in your room or call.")
        await self.sio.emit("rtc:signal", wire.relayed(conn.sid, signal), to=body.to)
        return ok()
