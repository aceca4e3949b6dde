"""Group room transitions: each takes the room, a command's arguments and the time, and returns the new room
and the events it caused. A refused command raises a ``RoomError`` and changes nothing.

``None`` stands for a room with nothing in it (no document); a transition that empties the room returns None.
"""

from __future__ import annotations

from dataclasses import replace

from rooms import permissions
from rooms.errors import NotAuthorized, NotFound, NotInRoom, RoomFull, RoomLocked, RoomNotOpen
from rooms.events import (
    Admitted,
    Denied,
    Event,
    HandQueueChanged,
    LobbyChanged,
    LobbySettingChanged,
    LockChanged,
    MemberJoined,
    MemberLeft,
    MemberResumed,
    MemberUpdated,
    Muted,
    Removed,
    RoomEnded,
    SessionClosed,
    SessionOpened,
    UnmuteRequested,
    WaitingStarted,
)
from rooms.model import GroupSettings, LeaveReason, MediaKind, Member, Person, Role, Room, Waiting

Result = tuple[Room | None, list[Event]]


def settled(room: Room, events: list[Event], now: float, ended_by: str | None = None) -> Result:
    """Close the session when nobody is left in the room; drop the document when nobody waits either."""
    if not room.members and room.session_id is not None:
        events.append(SessionClosed(room.session_id, ended_by, now))
        # A removal bars a person for the rest of the session only; the lock belongs to the session too.
        lobby = tuple(replace(w, removed_before=False, held=False) for w in room.lobby)
        room = replace(room, session_id=None, opened_at=None, barred=frozenset(), locked=False, hands=(), lobby=lobby)
    if room.is_empty:
        return None, events
    return room, events


def _enter(room: Room, member: Member, events: list[Event], waited_since: float | None = None) -> Room:
    events.append(MemberJoined(member, member.admitted_by, waited_since))
    return room.with_member(member)


def admit_waiting(room: Room, by: str | None, now: float, events: list[Event]) -> Room:
    """With the lobby off and a facilitator present, everyone waiting (but the removed) comes in, in order."""
    if room.settings.lobby_enabled or not room.facilitators_present():
        return room
    admitted = False
    for waiting in room.lobby:
        if waiting.removed_before or waiting.held or room.is_full:
            continue
        room = room.without_waiting(waiting.user_id)
        member = Member(waiting.user_id, waiting.display_name, Role.PARTICIPANT, waiting.peer_id, now, admitted_by=by)
        room = _enter(room, member, events, waiting.since)
        events.append(Admitted(waiting.user_id, waiting.peer_id, by))
        admitted = True
    if admitted:
        events.append(LobbyChanged(room.lobby))
    return room


def join(
    room: Room | None,
    room_id: str,
    settings: GroupSettings,
    person: Person,
    peer_id: str,
    now: float,
    session_id: str,
    opens_at: float | None = None,
) -> Result:
    """A facilitator enters (opening a session if none is open); a participant enters or waits in the lobby.

    A person who already has a place (they dropped, or joined from another connection) resumes it on
    ``peer_id`` without passing the lobby. ``session_id`` names the session if this join opens one.
    ``settings`` are the group's current ones (an administrator may have changed them since the room opened).
    ``opens_at`` is set when the group's schedule keeps its room closed to participants now: until a facilitator
    opens a session, a participant is refused (the time is when the next scheduled session opens, or ``inf``).
    """
    room = Room(room_id, settings) if room is None else replace(room, settings=settings)
    events: list[Event] = []
    existing = room.member(person.user_id)
    if existing is not None:
        resumed = replace(existing, peer_id=peer_id, connected=True, disconnected_at=None)
        events.append(MemberResumed(resumed, existing.peer_id))
        room = room.with_member(resumed)
        if person.role is Role.FACILITATOR:
            room = admit_waiting(room, person.user_id, now, events)
        return room, events

    waiting = room.waiting(person.user_id)
    if person.role is Role.FACILITATOR:
        if room.is_full:
            raise RoomFull("The room is full.")
        if waiting is not None:
            room = room.without_waiting(person.user_id)
            events.append(LobbyChanged(room.lobby))
        if room.session_id is None:
            room = replace(room, session_id=session_id, opened_at=now)
            events.append(SessionOpened(session_id, person.user_id, now))
        room = _enter(room, Member(person.user_id, person.display_name, person.role, peer_id, now), events)
        return admit_waiting(room, person.user_id, now, events), events

    if room.locked:
        raise RoomLocked("The room is locked. A facilitator can unlock it.")
    if opens_at is not None and room.session_id is None and waiting is None:
        raise RoomNotOpen(
            "The room opens shortly before the next scheduled session.",
            opens_at=None if opens_at == float("inf") else opens_at,
        )
    removed = person.user_id in room.barred
    held = waiting is not None and waiting.held
    if room.settings.lobby_enabled or removed or held or not room.facilitators_present():
        # Someone already waiting who joins again (another connection) keeps their place in the queue.
        since = waiting.since if waiting else now
        entry = Waiting(person.user_id, person.display_name, peer_id, since, removed, held)
        if waiting is None:
            room = replace(room, lobby=(*room.lobby, entry))
        else:
            room = replace(room, lobby=tuple(entry if w.user_id == person.user_id else w for w in room.lobby))
        events += [WaitingStarted(entry), LobbyChanged(room.lobby)]
        return room, events
    if room.is_full:
        raise RoomFull("The room is full.")
    if waiting is not None:
        # They waited (the room was full, or they were sent to the lobby) and now walk in: not in both places.
        room = room.without_waiting(person.user_id)
        events.append(LobbyChanged(room.lobby))
    member = Member(person.user_id, person.display_name, person.role, peer_id, now)
    return _enter(room, member, events, None if waiting is None else waiting.since), events


def leave(room: Room | None, user_id: str, now: float, reason: LeaveReason = LeaveReason.LEFT) -> Result:
    """A member leaves the room, or a waiting person leaves the lobby."""
    if room is None:
        raise NotInRoom("You are not in this room.")
    member = room.member(user_id)
    events: list[Event] = []
    if member is not None:
        had_hand = user_id in room.hands
        room = room.without_member(user_id)
        events.append(MemberLeft(user_id, member.peer_id, reason, now))
        if had_hand:
            events.append(HandQueueChanged(room.hands))
        return settled(room, events, now)
    if room.waiting(user_id) is not None:
        room = room.without_waiting(user_id)
        events.append(LobbyChanged(room.lobby))
        return settled(room, events, now)
    raise NotInRoom("You are not in this room.")


def disconnect(room: Room | None, user_id: str, peer_id: str, now: float) -> Result:
    """A connection dropped. A member keeps their place for the grace period; a waiting person leaves."""
    if room is None:
        return None, []
    member = room.member(user_id)
    if member is not None and member.peer_id == peer_id and member.connected:
        dropped = replace(member, connected=False, disconnected_at=now)
        return room.with_member(dropped), [MemberUpdated(dropped)]
    waiting = room.waiting(user_id)
    if waiting is not None and waiting.peer_id == peer_id:
        room = room.without_waiting(user_id)
        return settled(room, [LobbyChanged(room.lobby)], now)
    # A connection that no longer holds the place (superseded) changes nothing.
    return room, []


def expire(room: Room | None, now: float, grace_seconds: float) -> Result:
    """Members who stayed disconnected for the whole grace period are announced as left."""
    if room is None:
        return None, []
    events: list[Event] = []
    current: Room | None = room
    for member in room.members:
        if current is None or member.connected or member.disconnected_at is None:
            continue
        if now - member.disconnected_at >= grace_seconds:
            current, more = leave(current, member.user_id, now, LeaveReason.CONNECTION_LOST)
            events += more
    return current, events


def admit(room: Room | None, actor: Person, user_id: str, now: float) -> Result:
    room = _moderated(room, actor)
    waiting = room.waiting(user_id)
    if waiting is None:
        raise NotFound("That person is not waiting in the lobby.")
    if room.is_full:
        raise RoomFull("The room is full.")
    room = replace(room.without_waiting(user_id), barred=room.barred - {user_id})
    events: list[Event] = []
    member = Member(user_id, waiting.display_name, Role.PARTICIPANT, waiting.peer_id, now, admitted_by=actor.user_id)
    room = _enter(room, member, events, waiting.since)
    events += [Admitted(user_id, waiting.peer_id, actor.user_id), LobbyChanged(room.lobby)]
    return room, events


def deny(room: Room | None, actor: Person, user_id: str, now: float) -> Result:
    room = _moderated(room, actor)
    waiting = room.waiting(user_id)
    if waiting is None:
        raise NotFound("That person is not waiting in the lobby.")
    room = room.without_waiting(user_id)
    return settled(room, [Denied(user_id, waiting.peer_id, actor.user_id), LobbyChanged(room.lobby)], now)


def mute(room: Room | None, actor: Person, user_id: str, kind: MediaKind) -> Result:
    """A facilitator turns a member's microphone or camera off. Nobody can turn anyone else's on."""
    room = _moderated(room, actor)
    target = permissions.target_member(room, user_id)
    muted = target.with_media(kind, False, actor.user_id)
    if kind is MediaKind.VIDEO:
        muted = replace(muted, screen=False)  # the shared screen travels as the video: it ends with it
    return room.with_member(muted), [Muted(user_id, kind, actor.user_id), MemberUpdated(muted, kind is MediaKind.VIDEO)]


def request_unmute(room: Room | None, actor: Person, user_id: str, kind: MediaKind) -> Result:
    """A facilitator asks a member to unmute; this lifts the facilitator's mute so the member may, if they wish."""
    room = _moderated(room, actor)
    target = permissions.target_member(room, user_id)
    allowed = target.with_media(kind, target.audio if kind is MediaKind.AUDIO else target.video, None)
    return room.with_member(allowed), [UnmuteRequested(user_id, kind, actor.user_id), MemberUpdated(allowed, False)]


def set_media(room: Room | None, user_id: str, kind: MediaKind, on: bool) -> Result:
    """A member turns their own microphone or camera on or off."""
    room = _room(room)
    member = permissions.require_member(room, user_id)
    if on and member.muted_by(kind) is not None and not room.settings.self_unmute_allowed:
        raise NotAuthorized(f"A facilitator turned your {kind.value} off; they can ask you to turn it back on.")
    changed = member.with_media(kind, on, None if on else member.muted_by(kind))
    if changed == member:
        return room, []
    return room.with_member(changed), [MemberUpdated(changed, kind is MediaKind.VIDEO)]


def share_screen(room: Room | None, user_id: str, sharing: bool) -> Result:
    """A member starts or stops showing their screen as their video. Facilitators always may; participants only
    where the group allows it. Stopping is always allowed."""
    room = _room(room)
    member = permissions.require_member(room, user_id)
    if sharing and member.role is not Role.FACILITATOR and not room.settings.screen_share_allowed:
        raise NotAuthorized("This group does not let participants share their screen.")
    if sharing and member.video_muted_by is not None:
        raise NotAuthorized("A facilitator turned your video off; they can ask you to turn it back on.")
    if member.screen == sharing:
        return room, []
    changed = replace(member, screen=sharing)
    return room.with_member(changed), [MemberUpdated(changed, False)]


def remove(room: Room | None, actor: Person, user_id: str, now: float) -> Result:
    """A facilitator removes a participant, who is barred from the rest of the session unless re-admitted."""
    room = _moderated(room, actor)
    target = room.member(user_id)
    waiting = room.waiting(user_id)
    if target is None and waiting is None:
        raise NotFound("That person is not in the room or the lobby.")
    if target is not None:
        permissions.require_removable(target)
    return take_out(room, user_id, actor.user_id, now)


def take_out(room: Room, user_id: str, by: str | None, now: float) -> Result:
    """Take the person out of the room and its lobby, barred for the rest of the session; ``by`` the facilitator
    who removed them, or None when the program's administration did."""
    target, waiting = room.member(user_id), room.waiting(user_id)
    events: list[Event] = [Removed(user_id, by)]
    room = replace(room, barred=room.barred | {user_id})
    if target is not None:
        had_hand = user_id in room.hands
        room = room.without_member(user_id)
        events.append(MemberLeft(user_id, target.peer_id, LeaveReason.REMOVED, now))
        if had_hand:
            events.append(HandQueueChanged(room.hands))
    if waiting is not None:
        room = room.without_waiting(user_id)
        events.append(LobbyChanged(room.lobby))
    return settled(room, events, now, ended_by=by)


def send_to_lobby(room: Room | None, actor: Person, user_id: str, now: float) -> Result:
    """A facilitator moves a participant back to the lobby, from where they can be admitted again."""
    room = _moderated(room, actor)
    target = permissions.target_member(room, user_id)
    permissions.require_removable(target)
    if not target.connected:
        # Nobody waits without a connection (the lobby would show, and let in, someone who is not there):
        # a dropped member sent away leaves now, as they would have when the grace period ran out.
        return leave(room, user_id, now, LeaveReason.CONNECTION_LOST)
    had_hand = user_id in room.hands
    room = room.without_member(user_id)
    entry = Waiting(user_id, target.display_name, target.peer_id, now, held=True)
    room = replace(room, lobby=(*room.lobby, entry))
    events: list[Event] = [MemberLeft(user_id, target.peer_id, LeaveReason.REMOVED, now, to_lobby=True)]
    if had_hand:
        events.append(HandQueueChanged(room.hands))
    events += [WaitingStarted(entry), LobbyChanged(room.lobby)]
    return room, events


def lock(room: Room | None, actor: Person, locked: bool) -> Result:
    room = _moderated(room, actor)
    if room.locked == locked:
        return room, []
    return replace(room, locked=locked), [LockChanged(locked, actor.user_id)]


def set_lobby(room: Room | None, actor: Person, enabled: bool, now: float) -> Result:
    """A facilitator turns the group's lobby on or off; turning it off lets everyone waiting in."""
    room = _moderated(room, actor)
    if room.settings.lobby_enabled == enabled:
        return room, []
    room = replace(room, settings=replace(room.settings, lobby_enabled=enabled))
    events: list[Event] = [LobbySettingChanged(enabled, actor.user_id)]
    return admit_waiting(room, actor.user_id, now, events), events


def end(room: Room | None, actor: Person, now: float) -> Result:
    """A facilitator ends the session for everyone in the room and the lobby."""
    room = _moderated(room, actor)
    peers = tuple(m.peer_id for m in room.members) + tuple(w.peer_id for w in room.lobby)
    events: list[Event] = [RoomEnded(actor.user_id, peers)]
    events += [MemberLeft(m.user_id, m.peer_id, LeaveReason.ENDED, now) for m in room.members]
    room = replace(room, members=(), lobby=(), hands=())
    return settled(room, events, now, ended_by=actor.user_id)


def raise_hand(room: Room | None, user_id: str) -> Result:
    room = _room(room)
    member = permissions.require_member(room, user_id)
    if user_id in room.hands:
        return room, []
    room = replace(room, hands=(*room.hands, user_id))
    return room, [HandQueueChanged(room.hands), MemberUpdated(member, False)]


def lower_hand(room: Room | None, actor: Person, user_id: str | None = None) -> Result:
    """Lower one's own hand, or (a facilitator) anyone's."""
    target_id = user_id or actor.user_id
    if target_id != actor.user_id:
        room = _moderated(room, actor)
        target = permissions.target_member(room, target_id)
    else:
        room = _room(room)
        target = permissions.require_member(room, target_id)
    if target_id not in room.hands:
        return room, []
    room = replace(room, hands=tuple(h for h in room.hands if h != target_id))
    return room, [HandQueueChanged(room.hands), MemberUpdated(target, False)]


def _room(room: Room | None) -> Room:
    if room is None:
        raise NotInRoom("Nobody is in this room; join it first.")
    return room


def _moderated(room: Room | None, actor: Person) -> Room:
    """The room a facilitator acts on. Anyone else is refused first, even when nobody is in the room."""
    if actor.role is not Role.FACILITATOR:
        raise NotAuthorized("Only a facilitator can do that.")
    room = _room(room)
    permissions.require_facilitator(room, actor)
    return room
