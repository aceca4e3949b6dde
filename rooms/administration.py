"""Changes to a live room that come from the program's administration rather than from anyone in the room: a
person no longer enrolled, a group archived, its settings changed. Pure, like ``rooms.transitions``; each takes
the room as it is (None when nobody is in it) and changes nothing when it does not concern the room.
"""

from __future__ import annotations

from dataclasses import replace

from rooms.events import Event, MemberLeft, MemberUpdated, RoomEnded, SettingsChanged
from rooms.model import GroupSettings, LeaveReason, Role, Room
from rooms.transitions import Result, admit_waiting, settled, take_out


def withdraw(room: Room | None, user_id: str, now: float) -> Result:
    """The person was taken out of the group: they leave the room or its lobby at once, as removed."""
    if room is None:
        return None, []
    if room.member(user_id) is None and room.waiting(user_id) is None:
        return room, []
    return take_out(room, user_id, None, now)


def close(room: Room | None, now: float) -> Result:
    """The group was archived: the session ends for everyone in the room and the lobby."""
    if room is None:
        return None, []
    peers = tuple(m.peer_id for m in room.members) + tuple(w.peer_id for w in room.lobby)
    events: list[Event] = [RoomEnded(None, peers)]
    events += [MemberLeft(m.user_id, m.peer_id, LeaveReason.ENDED, now) for m in room.members]
    return settled(replace(room, members=(), lobby=(), hands=()), events, now)


def apply_settings(room: Room | None, settings: GroupSettings, now: float) -> Result:
    """The group's settings changed: the live room takes them at once. Nobody already in the room is turned out
    by a lower capacity; turning the lobby off lets those waiting in, as a facilitator's switch does."""
    if room is None or room.settings == settings:
        return room, []
    lobby_opened = room.settings.lobby_enabled and not settings.lobby_enabled
    room = replace(room, settings=settings)
    events: list[Event] = [SettingsChanged(settings)]
    if not settings.screen_share_allowed:
        # Participants sharing their screen stop when the group stops allowing it (their clients put the camera back).
        for member in room.members:
            if member.screen and member.role is not Role.FACILITATOR:
                stopped = replace(member, screen=False)
                room = room.with_member(stopped)
                events.append(MemberUpdated(stopped, False))
    if lobby_opened:
        room = admit_waiting(room, None, now, events)
    return room, events
