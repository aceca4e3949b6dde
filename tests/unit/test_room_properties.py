"""Random command sequences against a group room: whatever anyone does, the room stays coherent.

The test keeps its own small record beside the room (live connections, who was barred, how each member got in),
and after every command checks the room against it and the command's events against the change they describe.
Actors are mostly people for whom a command means something, and sometimes anyone: a participant moderating,
someone absent, a stranger. Time is a counter the test advances.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rooms import document
from rooms import transitions as t
from rooms.errors import NotAuthorized, NotInRoom, RoomError, RoomFull
from rooms.events import (
    Admitted,
    Event,
    HandQueueChanged,
    LobbyChanged,
    LockChanged,
    MemberJoined,
    MemberLeft,
    MemberResumed,
    MemberUpdated,
    Removed,
    RoomEnded,
    SessionClosed,
    SessionOpened,
)
from rooms.model import GroupSettings, MediaKind, Member, Person, Role, Room

T = TypeVar("T")
Command = Callable[[Room | None], t.Result]

ROOM_ID = "group-7"
GRACE = 30
WIRE_CODES = {"not_authorized", "not_found", "room_locked", "room_full", "not_in_room", "conflict"}

FACILITATORS = [Person("fay", "Fay", Role.FACILITATOR), Person("fred", "Fred", Role.FACILITATOR)]
PARTICIPANTS = [Person(f"p{n}", f"Participant {n}", Role.PARTICIPANT) for n in range(1, 4)]
PEOPLE = FACILITATORS + PARTICIPANTS
ROLES = {p.user_id: p.role for p in PEOPLE}
# Someone who never joins: a target nobody can find, an actor nobody knows.
STRANGER = Person("stranger", "Stranger", Role.PARTICIPANT)
ANYONE = [*PEOPLE, STRANGER]
ANY_ID = [p.user_id for p in ANYONE]


def members_of(room: Room | None) -> dict[str, Member]:
    return {} if room is None else {m.user_id: m for m in room.members}


def is_on(member: Member, kind: MediaKind) -> bool:
    return member.audio if kind is MediaKind.AUDIO else member.video


class GroupRoom(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.room: Room | None = None
        self.group = GroupSettings(capacity=1)
        self.now = 0
        self.count = 0
        self.live: dict[str, set[str]] = {p.user_id: set() for p in PEOPLE}
        # Who a facilitator barred this session, and how each member got in (who admitted them; None: walked in).
        self.barred: set[str] = set()
        self.admitted_by: dict[str, str | None] = {}

    @initialize(capacity=st.integers(2, 6), lobby=st.booleans(), self_unmute=st.booleans())
    def a_group(self, capacity: int, lobby: bool, self_unmute: bool) -> None:
        self.group = GroupSettings(capacity, lobby, self_unmute)

    # Carrying out a command and checking what it did

    def apply(self, command: str, step: Command) -> RoomError | None:
        """Run one command; return its refusal, if it was refused, after checking it changed nothing."""
        before = self.room
        snapshot = None if before is None else document.to_document(before)
        try:
            after, events = step(before)
        except RoomError as error:
            refusal = error
        else:
            self.check_events(command, before, after, events)
            self.follow(events)
            self.room = after
            return None
        assert refusal.code in WIRE_CODES
        assert refusal.message
        assert self.room is before
        assert (None if before is None else document.to_document(before)) == snapshot
        return refusal

    def check_events(self, command: str, before: Room | None, after: Room | None, events: list[Event]) -> None:
        # The events describe the change to the roster exactly: replayed on the old roster they give the new one.
        roster = members_of(before)
        for event in events:
            if isinstance(event, MemberJoined):
                assert event.member.user_id not in roster
                assert event.admitted_by == event.member.admitted_by
                roster[event.member.user_id] = event.member
            elif isinstance(event, MemberLeft):
                assert roster.pop(event.user_id).peer_id == event.peer_id
            elif isinstance(event, MemberUpdated | MemberResumed):
                assert event.member.user_id in roster
                roster[event.member.user_id] = event.member
        assert roster == members_of(after)

        joined = [e for e in events if isinstance(e, MemberJoined)]
        admissions = {(e.user_id, e.by) for e in events if isinstance(e, Admitted)}
        assert admissions <= {(e.member.user_id, e.admitted_by) for e in joined}
        for entered in joined:
            person = entered.member.user_id
            assert person not in self.barred or command == "admit", f"{person} was barred and came in by {command}"
            # Someone a facilitator sent back to the lobby waits for admission, lobby or no lobby.
            held = before is not None and any(w.user_id == person and w.held for w in before.lobby)
            assert not held or command == "admit", f"{person} was held in the lobby and came in by {command}"
            if entered.member.role is Role.FACILITATOR:
                continue
            if entered.admitted_by is None:
                # Only with the lobby off and a facilitator there may a participant walk in.
                assert not self.group.lobby_enabled
                assert before is not None
                assert before.facilitators_present()
            else:
                assert (person, entered.admitted_by) in admissions

        old_session = None if before is None else before.session_id
        new_session = None if after is None else after.session_id
        opened = [e.session_id for e in events if isinstance(e, SessionOpened)]
        closed = [e.session_id for e in events if isinstance(e, SessionClosed)]
        if old_session == new_session:
            assert opened == closed == []
        else:
            assert closed == ([old_session] if old_session else [])
            assert opened == ([new_session] if new_session else [])

        ended = any(isinstance(e, RoomEnded) for e in events)
        old_lobby = [] if before is None else [(w.user_id, w.peer_id) for w in before.lobby]
        new_lobby = [] if after is None else [(w.user_id, w.peer_id) for w in after.lobby]
        if old_lobby != new_lobby and not ended:
            announced = [e.lobby for e in events if isinstance(e, LobbyChanged)]
            assert announced
            assert [(w.user_id, w.peer_id) for w in announced[-1]] == new_lobby

        if before is not None and after is not None and old_session == new_session:
            if before.hands != after.hands:
                queues = [e.queue for e in events if isinstance(e, HandQueueChanged)]
                assert queues
                assert queues[-1] == after.hands
            if before.locked != after.locked:
                assert [e.locked for e in events if isinstance(e, LockChanged)] == [after.locked]

    def follow(self, events: list[Event]) -> None:
        """Keep the test's own record of bars and admissions from the events."""
        for event in events:
            if isinstance(event, MemberJoined):
                self.admitted_by[event.member.user_id] = event.admitted_by
                self.barred.discard(event.member.user_id)
            elif isinstance(event, MemberLeft):
                del self.admitted_by[event.user_id]
            elif isinstance(event, SessionClosed):
                self.barred.clear()
            elif isinstance(event, Removed):
                self.barred.add(event.user_id)

    def facilitator_only(self, actor: Person, refusal: RoomError | None) -> None:
        """Authorization comes before anything else: anyone but a facilitator is refused as such."""
        if actor.role is not Role.FACILITATOR:
            assert isinstance(refusal, NotAuthorized), refusal

    # Choosing who acts and on whom: mostly people for whom the command means something, sometimes anyone

    def pick(self, data: st.DataObject, likely: list[T], anyone: list[T]) -> T:
        if likely and data.draw(st.sampled_from(["likely", "likely", "likely", "anyone"])) == "likely":
            return data.draw(st.sampled_from(likely))
        return data.draw(st.sampled_from(anyone))

    def has_facilitator(self) -> bool:
        return any(m.role is Role.FACILITATOR for m in members_of(self.room).values())

    def moderator(self, data: st.DataObject) -> Person:
        present = members_of(self.room)
        return self.pick(data, [p for p in FACILITATORS if p.user_id in present], ANYONE)

    def member(self, data: st.DataObject) -> Person:
        present = members_of(self.room)
        return self.pick(data, [p for p in PEOPLE if p.user_id in present], ANYONE)

    def participant_member(self, data: st.DataObject) -> str:
        participants = [m for m in members_of(self.room).values() if m.role is Role.PARTICIPANT]
        # Those whose connection dropped count twice: their place is held for someone who is not there.
        likely = [m.user_id for m in participants] + [m.user_id for m in participants if not m.connected]
        return self.pick(data, likely, ANY_ID)

    def waiting(self, data: st.DataObject) -> str:
        lobby = [] if self.room is None else [w.user_id for w in self.room.lobby]
        # The first in the queue is the usual one to be let in.
        return self.pick(data, lobby[:1] * 2 + lobby, ANY_ID)

    # What happens next: any action that can happen now, the common ones more often

    def held(self) -> set[tuple[str, str]]:
        if self.room is None:
            return set()
        return {(m.user_id, m.peer_id) for m in self.room.members} | {(w.user_id, w.peer_id) for w in self.room.lobby}

    def actions(self) -> list[str]:
        room = self.room
        # Hypothesis draws the first entry most often: let that be the action that keeps the room busy.
        menu = ["a_participant_joins", "a_facilitator_joins", "a_participant_joins", "someone_else_tries_to_moderate"]
        if any(self.live.values()):
            menu += ["a_connection_drops"]
        if room is not None:
            menu += ["leave", "time_passes"]
        if room is not None and room.members:
            menu += ["media", "media", "hands"]
        if self.has_facilitator():
            menu += [
                "a_facilitator_removes_someone",
                "a_facilitator_sends_someone_to_the_lobby",
                "a_facilitator_changes_the_room",
                "a_facilitator_ends_the_session",
            ]
        if self.has_facilitator() and room is not None and room.lobby:
            menu += ["a_facilitator_answers_the_lobby"] * 3
        return menu

    @rule(data=st.data())
    def someone_acts(self, data: st.DataObject) -> None:
        # One rule drawing from a menu rather than a rule per action: Hypothesis switches rules off at random
        # (swarm testing), which starves the long chains (remove, come back, lobby off, ...) that matter here.
        action = data.draw(st.sampled_from(self.actions()), label="action")
        getattr(self, action)(data)

    # Commands

    def join(self, person: Person) -> None:
        self.count += 1
        peer, session = f"{person.user_id}-{self.count}", f"session-{self.count}"
        self.live[person.user_id].add(peer)
        self.apply("join", lambda room: t.join(room, ROOM_ID, self.group, person, peer, self.now, session))

    def a_facilitator_joins(self, data: st.DataObject) -> None:
        self.join(data.draw(st.sampled_from(FACILITATORS)))

    def a_participant_joins(self, data: st.DataObject) -> None:
        self.join(data.draw(st.sampled_from(PARTICIPANTS)))

    def leave(self, data: st.DataObject) -> None:
        assert self.room is not None
        present = [m.user_id for m in self.room.members] + [w.user_id for w in self.room.lobby]
        user_id = self.pick(data, present, ANY_ID)
        refusal = self.apply("leave", lambda room: t.leave(room, user_id, self.now))
        assert (refusal is None) == (user_id in present)

    def a_connection_drops(self, data: st.DataObject) -> None:
        live = sorted((user_id, peer) for user_id, peers in self.live.items() for peer in peers)
        # Mostly a connection holding a place; sometimes one a newer connection superseded, or one refused.
        user_id, peer = self.pick(data, [c for c in live if c in self.held()], live)
        self.live[user_id].discard(peer)
        was = members_of(self.room).get(user_id)
        assert self.apply("disconnect", lambda room: t.disconnect(room, user_id, peer, self.now)) is None
        if was is not None and was.peer_id != peer:
            assert members_of(self.room)[user_id] == was

    def time_passes(self, data: st.DataObject) -> None:
        """The clock moves and the server's timer expires whoever stayed away for the grace period."""
        self.now += data.draw(st.integers(0, 2 * GRACE))
        gone = {m.user_id for m in members_of(self.room).values() if m.disconnected_at is not None}
        gone = {u for u in gone if self.now - (members_of(self.room)[u].disconnected_at or 0) >= GRACE}
        # The sweeper's quick test on the stored form agrees with the transition: due exactly when someone goes.
        stored = None if self.room is None else document.to_document(self.room)
        assert (stored is not None and document.grace_over(stored, self.now, GRACE)) == bool(gone)
        assert self.apply("expire", lambda room: t.expire(room, self.now, GRACE)) is None
        assert not gone & set(members_of(self.room))

    def a_facilitator_answers_the_lobby(self, data: st.DataObject) -> None:
        let_in = data.draw(st.sampled_from([True, True, False]))
        actor, whom = self.moderator(data), self.waiting(data)
        command = t.admit if let_in else t.deny
        refusal = self.apply("admit" if let_in else "deny", lambda room: command(room, actor, whom, self.now))
        self.facilitator_only(actor, refusal)
        if refusal is None and let_in:
            assert members_of(self.room)[whom].admitted_by == actor.user_id
        elif refusal is None:
            assert self.room is not None
            assert self.room.waiting(whom) is None
        elif isinstance(refusal, RoomFull):
            assert self.room is not None
            assert self.room.is_full

    def a_facilitator_removes_someone(self, data: st.DataObject) -> None:
        actor = self.moderator(data)
        whom = self.participant_member(data) if data.draw(st.booleans()) else self.waiting(data)
        refusal = self.apply("remove", lambda room: t.remove(room, actor, whom, self.now))
        self.facilitator_only(actor, refusal)
        if refusal is None:
            assert ROLES[whom] is Role.PARTICIPANT
            assert self.room is not None
            assert whom not in members_of(self.room)
            assert self.room.waiting(whom) is None
            assert whom in self.room.barred

    def a_facilitator_sends_someone_to_the_lobby(self, data: st.DataObject) -> None:
        actor, whom = self.moderator(data), self.participant_member(data)
        was = members_of(self.room).get(whom)
        refusal = self.apply("send_to_lobby", lambda room: t.send_to_lobby(room, actor, whom, self.now))
        self.facilitator_only(actor, refusal)
        if refusal is None:
            assert self.room is not None
            assert was is not None
            assert whom not in members_of(self.room)
            assert (self.room.waiting(whom) is not None) == was.connected

    def a_facilitator_changes_the_room(self, data: st.DataObject) -> None:
        what, on = data.draw(st.sampled_from(["lock", "lobby"])), data.draw(st.booleans())
        actor = self.moderator(data)
        if what == "lock":
            refusal = self.apply("lock", lambda room: t.lock(room, actor, on))
        else:
            refusal = self.apply("set_lobby", lambda room: t.set_lobby(room, actor, on, self.now))
        self.facilitator_only(actor, refusal)
        if refusal is None:
            assert self.room is not None
            assert (self.room.locked if what == "lock" else self.room.settings.lobby_enabled) is on
            if what == "lobby":
                # The group's setting is kept by the caller and handed to the next join, as the server does.
                self.group = self.room.settings

    def a_facilitator_ends_the_session(self, data: st.DataObject) -> None:
        actor = self.moderator(data)
        refusal = self.apply("end", lambda room: t.end(room, actor, self.now))
        self.facilitator_only(actor, refusal)
        if refusal is None:
            assert self.room is None

    def media(self, data: st.DataObject) -> None:
        """A facilitator mutes or asks to unmute; a member turns their own on or off."""
        kind, how = data.draw(st.sampled_from(list(MediaKind))), data.draw(st.sampled_from(["mute", "ask", "own"]))
        if how == "own":
            person, on = self.member(data), data.draw(st.booleans())
            was = members_of(self.room).get(person.user_id)
            refusal = self.apply("set_media", lambda room: t.set_media(room, person.user_id, kind, on))
            if was is None:
                assert isinstance(refusal, NotInRoom)
            elif on and was.muted_by(kind) is not None and not self.group.self_unmute_allowed:
                assert isinstance(refusal, NotAuthorized)
            else:
                assert refusal is None
                assert is_on(members_of(self.room)[person.user_id], kind) is on
            return
        actor = self.moderator(data)
        whom = self.pick(data, list(members_of(self.room)), ANY_ID)
        was = members_of(self.room).get(whom)
        command = t.mute if how == "mute" else t.request_unmute
        refusal = self.apply(command.__name__, lambda room: command(room, actor, whom, kind))
        self.facilitator_only(actor, refusal)
        if refusal is None:
            now = members_of(self.room)[whom]
            assert was is not None
            if how == "mute":
                assert (is_on(now, kind), now.muted_by(kind)) == (False, actor.user_id)
            else:
                # Nobody can turn anyone else's microphone or camera on: the block lifts, the media stays as it was.
                assert (now.audio, now.video, now.muted_by(kind)) == (was.audio, was.video, None)

    def hands(self, data: st.DataObject) -> None:
        how = data.draw(st.sampled_from(["raise", "lower own", "lower another's"]))
        assert self.room is not None
        queue = self.room.hands
        if how == "raise":
            person = self.member(data)
            if self.apply("raise_hand", lambda room: t.raise_hand(room, person.user_id)) is None:
                assert self.room is not None
                assert self.room.hands == (queue if person.user_id in queue else (*queue, person.user_id))
            return
        actor = self.member(data) if how == "lower own" else self.moderator(data)
        whom = None if how == "lower own" else self.pick(data, list(queue), ANY_ID)
        refusal = self.apply("lower_hand", lambda room: t.lower_hand(room, actor, whom))
        if whom is not None and whom != actor.user_id:
            self.facilitator_only(actor, refusal)
        if refusal is None:
            assert self.room is not None
            lowered = whom or actor.user_id
            assert self.room.hands == tuple(h for h in queue if h != lowered)

    def someone_else_tries_to_moderate(self, data: st.DataObject) -> None:
        """A participant (in the room, waiting, or absent) sends a facilitator's command, even to an empty room."""
        kind, on = data.draw(st.sampled_from(list(MediaKind))), data.draw(st.booleans())
        actor = data.draw(st.sampled_from([*PARTICIPANTS, STRANGER]))
        whom = data.draw(st.sampled_from(ANY_ID))
        commands: dict[str, Command] = {
            "admit": lambda room: t.admit(room, actor, whom, self.now),
            "deny": lambda room: t.deny(room, actor, whom, self.now),
            "mute": lambda room: t.mute(room, actor, whom, kind),
            "request_unmute": lambda room: t.request_unmute(room, actor, whom, kind),
            "remove": lambda room: t.remove(room, actor, whom, self.now),
            "send_to_lobby": lambda room: t.send_to_lobby(room, actor, whom, self.now),
            "lock": lambda room: t.lock(room, actor, on),
            "set_lobby": lambda room: t.set_lobby(room, actor, on, self.now),
            "end": lambda room: t.end(room, actor, self.now),
            "lower_hand": lambda room: t.lower_hand(room, actor, "fay" if whom == actor.user_id else whom),
        }
        command = data.draw(st.sampled_from(sorted(commands)))
        self.facilitator_only(actor, self.apply(command, commands[command]))

    # What holds after every command

    @invariant()
    def nobody_is_both_in_the_room_and_waiting(self) -> None:
        if self.room is None:
            return
        roster = [m.user_id for m in self.room.members]
        lobby = [w.user_id for w in self.room.lobby]
        assert len(set(roster)) == len(roster)
        assert len(set(lobby)) == len(lobby)
        assert not set(roster) & set(lobby)
        assert all(ROLES[m.user_id] is m.role for m in self.room.members)
        assert all(ROLES[user_id] is Role.PARTICIPANT for user_id in lobby)

    @invariant()
    def the_hand_queue_holds_members_once(self) -> None:
        if self.room is not None:
            assert len(set(self.room.hands)) == len(self.room.hands)
            assert set(self.room.hands) <= set(members_of(self.room))

    @invariant()
    def members_got_in_the_way_the_events_said(self) -> None:
        members = members_of(self.room)
        assert set(members) == set(self.admitted_by)
        for user_id, member in members.items():
            assert member.admitted_by == self.admitted_by[user_id]
            if member.role is Role.FACILITATOR:
                assert member.admitted_by is None

    @invariant()
    def the_room_is_never_over_capacity(self) -> None:
        if self.room is not None:
            assert len(self.room.members) <= self.room.settings.capacity

    @invariant()
    def a_session_is_open_exactly_while_someone_is_in_the_room(self) -> None:
        if self.room is None:
            return
        assert not self.room.is_empty
        assert self.room.settings == self.group
        assert (self.room.session_id is not None) == bool(self.room.members)
        assert (self.room.opened_at is not None) == bool(self.room.members)
        if self.room.session_id is None:
            assert not self.room.locked

    @invariant()
    def bars_are_the_ones_facilitators_set_this_session(self) -> None:
        if self.room is None:
            assert not self.barred
            return
        assert self.room.barred == self.barred
        assert not self.barred & set(members_of(self.room))
        for waiting in self.room.lobby:
            assert waiting.removed_before == (waiting.user_id in self.barred)

    @invariant()
    def nobody_is_there_unseen(self) -> None:
        """Everyone counted as present holds a live connection, and a member marked dropped really dropped."""
        if self.room is None:
            return
        for member in self.room.members:
            assert member.connected == (member.peer_id in self.live[member.user_id])
            assert member.connected == (member.disconnected_at is None)
        for waiting in self.room.lobby:
            assert waiting.peer_id in self.live[waiting.user_id]

    @invariant()
    def the_room_survives_its_document(self) -> None:
        if self.room is not None:
            stored = json.loads(json.dumps(document.to_document(self.room)))
            assert document.from_document(stored) == self.room


GroupRoom.TestCase.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
test_group_room = GroupRoom.TestCase
