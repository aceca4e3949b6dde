"""Carrying out room events on the wire: who hears what, and which Socket.IO rooms connections are in.

Socket.IO rooms used: ``r:<room>`` every member's connection, ``f:<room>`` facilitators' connections. A
peer id is the connection's Socket.IO session id (never the transport's), so it addresses one connection
on whichever node holds it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from rooms.events import (
    Admitted,
    Denied,
    Event,
    HandQueueChanged,
    LobbyChanged,
    LobbySettingChanged,
    LockChanged,
    MediaForwarded,
    MemberJoined,
    MemberLeft,
    MemberResumed,
    MemberUpdated,
    Muted,
    Removed,
    RoomEnded,
    SettingsChanged,
    UnmuteRequested,
    WaitingStarted,
)
from rooms.model import LeaveReason, Member, Role, Room
from signaling import views

log = logging.getLogger("haven.rooms")
EntryFor = Callable[[Room, str], Awaitable[dict[str, Any]]]
MediaFor = Callable[[Room, str], Awaitable[dict[str, Any]]]


def members_room(room_id: str) -> str:
    return f"r:{room_id}"


def facilitators_room(room_id: str) -> str:
    return f"f:{room_id}"


class Delivery:
    def __init__(self, sio: socketio.AsyncServer, entry_for: EntryFor, media_for: MediaFor) -> None:
        self.sio = sio
        self.entry_for = entry_for
        self.media_for = media_for

    async def _emit(self, event: str, data: dict[str, Any], to: str) -> None:
        await self.sio.emit(event, data, to=to)

    async def _enter(self, member: Member, room_id: str) -> None:
        await self.sio.enter_room(member.peer_id, members_room(room_id))
        if member.role is Role.FACILITATOR:
            await self.sio.enter_room(member.peer_id, facilitators_room(room_id))

    async def _exit(self, peer_id: str, room_id: str) -> None:
        await self.sio.leave_room(peer_id, members_room(room_id))
        await self.sio.leave_room(peer_id, facilitators_room(room_id))

    async def state(self, room: Room) -> None:
        """The whole room, to its members (and with the lobby, to its facilitators)."""
        await self._emit(
            "room:state",
            {"room_id": room.room_id, "room": views.room_view(room, Role.PARTICIPANT)},
            members_room(room.room_id),
        )
        await self._emit(
            "room:state",
            {"room_id": room.room_id, "room": views.room_view(room, Role.FACILITATOR)},
            facilitators_room(room.room_id),
        )

    async def deliver(self, room_id: str, room: Room | None, events: list[Event], origin: str | None) -> None:
        """Send what each event means to those it concerns. ``origin`` is the connection that asked.

        The change is already stored: one event failing to go out must not keep the others from going.
        """
        # When a session ends everyone leaves at once: each hears of every departure before any of them goes.
        ending: list[str] = []
        # Whoever enters with this change learns the media mode from their entry; room:media is for the others.
        entering = {e.member.user_id for e in events if isinstance(e, MemberJoined)}
        entering |= {e.user_id for e in events if isinstance(e, Admitted)}
        for event in events:
            if isinstance(event, MediaForwarded):
                await self._media_changed(room, entering)
                continue
            try:
                await self._deliver_one(room_id, room, event, origin, ending)
            except Exception:
                log.exception(
                    "delivering a room event failed", extra={"room_id": room_id, "event": type(event).__name__}
                )
        for peer_id in ending:
            await self._exit(peer_id, room_id)

    async def _media_changed(self, room: Room | None, entering: set[str]) -> None:
        if room is None:
            return
        for member in room.members:
            if member.user_id in entering:
                continue
            try:
                media = await self.media_for(room, member.user_id)
                await self._emit("room:media", {"room_id": room.room_id, "media": media}, member.peer_id)
            except Exception:
                log.exception("announcing the media mode failed", extra={"room_id": room.room_id})

    async def _deliver_one(
        self, room_id: str, room: Room | None, event: Event, origin: str | None, ending: list[str]
    ) -> None:
        everyone = members_room(room_id)
        match event:
            case MemberJoined(member=member):
                # Announced before the newcomer enters, so the newcomer learns of itself from its entry.
                participant = _participant(room, member)
                await self._emit("room:participant_joined", {"room_id": room_id, "participant": participant}, everyone)
                await self._enter(member, room_id)
            case MemberResumed(member=member, previous_peer_id=previous):
                if previous != member.peer_id:
                    await self._exit(previous, room_id)
                    await self._emit("room:superseded", {"room_id": room_id}, previous)
                await self._enter(member, room_id)
                await self._emit(
                    "room:participant_updated",
                    {"room_id": room_id, "participant": _participant(room, member)},
                    everyone,
                )
            case MemberUpdated(member=member):
                current = room.member(member.user_id) if room else None
                await self._emit(
                    "room:participant_updated",
                    {"room_id": room_id, "participant": _participant(room, current or member)},
                    everyone,
                )
            case MemberLeft(user_id=user_id, peer_id=peer_id, reason=reason, to_lobby=to_lobby):
                left: dict[str, Any] = {"room_id": room_id, "user_id": user_id, "reason": reason.value}
                if to_lobby:
                    left["to_lobby"] = True
                if reason is LeaveReason.ENDED:
                    await self._emit("room:participant_left", left, everyone)
                    ending.append(peer_id)
                else:
                    await self._exit(peer_id, room_id)
                    await self._emit("room:participant_left", left, everyone)
            case WaitingStarted(waiting=waiting) if waiting.peer_id != origin:
                await self._emit("room:waiting", {"room_id": room_id}, waiting.peer_id)
            case LobbyChanged(lobby=lobby):
                waiting_view = [views.waiting(w) for w in lobby]
                await self._emit(
                    "room:lobby", {"room_id": room_id, "waiting": waiting_view}, facilitators_room(room_id)
                )
            case Admitted(user_id=user_id, peer_id=peer_id) if room is not None:
                await self._emit("room:admitted", {"room_id": room_id, **await self.entry_for(room, user_id)}, peer_id)
            case Denied(peer_id=peer_id):
                await self._emit("room:denied", {"room_id": room_id}, peer_id)
            case Removed(user_id=user_id):
                # Every connection of the person, on every node: their old tokens and devices too.
                await self._emit("room:removed", {"room_id": room_id}, f"u:{user_id}")
            case Muted(user_id=user_id, kind=kind):
                target = room.member(user_id) if room else None
                if target is not None:
                    await self._emit("room:muted", {"room_id": room_id, "kind": kind.value}, target.peer_id)
            case UnmuteRequested(user_id=user_id, kind=kind):
                target = room.member(user_id) if room else None
                if target is not None:
                    await self._emit("room:unmute_requested", {"room_id": room_id, "kind": kind.value}, target.peer_id)
            case HandQueueChanged(queue=queue):
                await self._emit("hand:queue", {"room_id": room_id, "queue": list(queue)}, everyone)
            case LockChanged(locked=locked):
                await self._emit("room:locked", {"room_id": room_id, "locked": locked}, everyone)
            case LobbySettingChanged(enabled=enabled):
                await self._emit("room:settings", {"room_id": room_id, "lobby_enabled": enabled}, everyone)
            case SettingsChanged(settings=settings):
                await self._emit("room:settings", {"room_id": room_id, **views.settings(settings)}, everyone)
            case RoomEnded(peer_ids=peer_ids):
                for peer_id in peer_ids:
                    await self._emit("room:ended", {"room_id": room_id}, peer_id)
            case _:
                pass


def _participant(room: Room | None, member: Member) -> dict[str, Any]:
    return views.participant(member, room.hands if room is not None else ())
