"""Group room rules, one example each: what facilitators and participants see happen in a room."""

from __future__ import annotations

from typing import TypeVar

import pytest

from rooms import transitions as t
from rooms.errors import NotAuthorized, NotFound, NotInRoom, RoomFull, RoomLocked
from rooms.events import (
    Admitted,
    Denied,
    Event,
    HandQueueChanged,
    LobbyChanged,
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
from rooms.model import GroupSettings, LeaveReason, MediaKind, Person, Role, Room

E = TypeVar("E")

ROOM_ID = "group-1"
GRACE = 30.0
OPEN = GroupSettings(capacity=10)
NO_LOBBY = GroupSettings(capacity=10, lobby_enabled=False)
STRICT = GroupSettings(capacity=10, self_unmute_allowed=False)

FAY = Person("fay", "Fay", Role.FACILITATOR)
FRED = Person("fred", "Fred", Role.FACILITATOR)
PIA = Person("pia", "Pia", Role.PARTICIPANT)
PAUL = Person("paul", "Paul", Role.PARTICIPANT)
PETRA = Person("petra", "Petra", Role.PARTICIPANT)


def join(
    room: Room | None, person: Person, now: float = 0.0, settings: GroupSettings = OPEN, peer: str = ""
) -> t.Result:
    return t.join(room, ROOM_ID, settings, person, peer or f"{person.user_id}-peer", now, "session-1")


def joined(room: Room | None, person: Person, now: float = 0.0, settings: GroupSettings = OPEN) -> Room:
    """The room after ``person`` joined and, if they had to wait, Fay admitted them."""
    room, _ = join(room, person, now, settings)
    assert room is not None
    if room.waiting(person.user_id) is not None:
        room, _ = t.admit(room, FAY, person.user_id, now)
        assert room is not None
    return room


def room_with(*people: Person, settings: GroupSettings = OPEN) -> Room:
    """A room with Fay in it (first) and then ``people``, all admitted."""
    room = joined(None, FAY, settings=settings)
    for person in people:
        room = joined(room, person, settings=settings)
    return room


def of_type(events: list[Event], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


def roster(room: Room | None) -> list[str]:
    return [] if room is None else [m.user_id for m in room.members]


def lobby(room: Room | None) -> list[str]:
    return [] if room is None else [w.user_id for w in room.lobby]


# Joining, the lobby, admission


def test_a_participant_waits_in_the_lobby_by_default() -> None:
    room, events = join(room_with(), PIA)
    assert lobby(room) == ["pia"]
    assert roster(room) == ["fay"]
    assert of_type(events, WaitingStarted)[0].waiting.peer_id == "pia-peer"
    assert of_type(events, MemberJoined) == []


def test_a_participant_waits_even_when_no_facilitator_is_there() -> None:
    room, events = join(None, PIA)
    assert room is not None
    assert lobby(room) == ["pia"]
    assert room.members == ()
    assert room.session_id is None
    assert of_type(events, SessionOpened) == []


def test_a_participant_waits_with_the_lobby_off_while_no_facilitator_is_there() -> None:
    room, _ = join(None, PIA, settings=NO_LOBBY)
    assert lobby(room) == ["pia"]
    assert roster(room) == []


def test_a_facilitator_opens_the_session_and_walks_past_the_lobby() -> None:
    room, events = join(None, FAY, now=5.0)
    assert room is not None
    assert roster(room) == ["fay"]
    assert room.session_id == "session-1"
    assert room.opened_at == 5.0
    assert SessionOpened("session-1", "fay", 5.0) in events
    assert of_type(events, MemberJoined)[0].member.role is Role.FACILITATOR


def test_a_second_facilitator_joins_the_open_session() -> None:
    room, events = join(room_with(), FRED)
    assert roster(room) == ["fay", "fred"]
    assert of_type(events, SessionOpened) == []


def test_with_the_lobby_off_and_a_facilitator_there_a_participant_walks_in() -> None:
    room, events = join(room_with(settings=NO_LOBBY), PIA, settings=NO_LOBBY)
    assert room is not None
    assert roster(room) == ["fay", "pia"]
    assert lobby(room) == []
    assert of_type(events, MemberJoined)[0].admitted_by is None


def test_a_facilitator_admits_someone_waiting() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.admit(room, FAY, "pia", 1.0)
    assert room is not None
    assert roster(room) == ["fay", "pia"]
    assert lobby(room) == []
    pia = room.member("pia")
    assert pia is not None
    assert pia.admitted_by == "fay"
    assert pia.peer_id == "pia-peer"
    assert Admitted("pia", "pia-peer", "fay") in events
    assert of_type(events, MemberJoined)[0].admitted_by == "fay"


def test_a_facilitator_denies_someone_waiting() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.deny(room, FAY, "pia", 1.0)
    assert lobby(room) == []
    assert roster(room) == ["fay"]
    assert Denied("pia", "pia-peer", "fay") in events


def test_admitting_or_denying_someone_not_waiting_is_not_found() -> None:
    room = room_with(PIA)
    with pytest.raises(NotFound):
        t.admit(room, FAY, "paul", 1.0)
    with pytest.raises(NotFound):
        t.deny(room, FAY, "pia", 1.0)


def test_a_participant_cannot_admit() -> None:
    room, _ = join(room_with(PIA), PAUL)
    with pytest.raises(NotAuthorized):
        t.admit(room, PIA, "paul", 1.0)


def test_someone_waiting_leaves_the_lobby() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.leave(room, "pia", 1.0)
    assert lobby(room) == []
    assert of_type(events, LobbyChanged) == [LobbyChanged(())]


def test_the_last_person_waiting_leaving_an_empty_room_leaves_nothing() -> None:
    room, _ = join(None, PIA)
    room, _ = t.leave(room, "pia", 1.0)
    assert room is None


def test_a_member_leaves() -> None:
    room, events = t.leave(room_with(PIA), "pia", 2.0)
    assert roster(room) == ["fay"]
    assert events == [MemberLeft("pia", "pia-peer", LeaveReason.LEFT, 2.0)]


def test_leaving_a_room_one_is_not_in_is_refused() -> None:
    with pytest.raises(NotInRoom):
        t.leave(room_with(), "pia", 1.0)
    with pytest.raises(NotInRoom):
        t.leave(None, "pia", 1.0)


def test_joining_again_while_waiting_keeps_the_place_in_the_queue() -> None:
    room, _ = join(room_with(), PIA, now=1.0)
    room, _ = join(room, PAUL, now=2.0)
    room, _ = join(room, PIA, now=3.0, peer="pia-phone")
    assert room is not None
    assert lobby(room) == ["pia", "paul"]
    waiting = room.waiting("pia")
    assert waiting is not None
    assert (waiting.peer_id, waiting.since) == ("pia-phone", 1.0)


# The lobby setting


def test_turning_the_lobby_off_lets_everyone_waiting_in() -> None:
    room, _ = join(room_with(), PIA)
    room, _ = join(room, PAUL)
    room, events = t.set_lobby(room, FAY, False, 3.0)
    assert room is not None
    assert roster(room) == ["fay", "pia", "paul"]
    assert lobby(room) == []
    assert [e.user_id for e in of_type(events, Admitted)] == ["pia", "paul"]
    assert all(m.admitted_by == "fay" for m in room.members if m.role is Role.PARTICIPANT)
    assert not room.settings.lobby_enabled


def test_turning_the_lobby_off_does_not_let_in_someone_removed() -> None:
    room, _ = t.remove(room_with(PIA), FAY, "pia", 1.0)
    room, _ = join(room, PIA)
    room, _ = join(room, PAUL)
    room, _ = t.set_lobby(room, FAY, False, 3.0)
    assert roster(room) == ["fay", "paul"]
    assert lobby(room) == ["pia"]


def test_turning_the_lobby_off_fills_the_room_and_no_more() -> None:
    small = GroupSettings(capacity=2)
    room, _ = join(room_with(settings=small), PIA, settings=small)
    room, _ = join(room, PAUL, settings=small)
    room, _ = t.set_lobby(room, FAY, False, 3.0)
    assert roster(room) == ["fay", "pia"]
    assert lobby(room) == ["paul"]


def test_with_the_lobby_off_those_waiting_come_in_when_a_facilitator_arrives() -> None:
    room, _ = join(None, PIA, settings=NO_LOBBY)
    room, events = join(room, FAY, settings=NO_LOBBY)
    assert roster(room) == ["fay", "pia"]
    assert lobby(room) == []
    assert Admitted("pia", "pia-peer", "fay") in events


def test_with_the_lobby_off_someone_waiting_who_joins_again_enters_once() -> None:
    # Paul waits because the room is full when Fay turns the lobby off; a place frees and he tries again.
    small = GroupSettings(capacity=2)
    room, _ = join(room_with(PIA, settings=small), PAUL, settings=small)
    room, _ = t.set_lobby(room, FAY, False, 1.0)
    room, _ = t.leave(room, "pia", 2.0)
    room, events = join(room, PAUL, now=3.0, settings=GroupSettings(capacity=2, lobby_enabled=False))
    assert roster(room) == ["fay", "paul"]
    assert lobby(room) == []
    assert LobbyChanged(()) in events


def test_a_participant_cannot_change_the_lobby_setting() -> None:
    with pytest.raises(NotAuthorized):
        t.set_lobby(room_with(PIA), PIA, False, 1.0)


# Muting


def test_a_facilitator_mutes_a_member_and_is_recorded_as_having_done_so() -> None:
    room, events = t.mute(room_with(PIA), FAY, "pia", MediaKind.AUDIO)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.audio, pia.audio_muted_by) == (False, "fay")
    assert (pia.video, pia.video_muted_by) == (True, None)
    assert events == [Muted("pia", MediaKind.AUDIO, "fay"), MemberUpdated(pia)]


def test_a_facilitator_mutes_a_camera() -> None:
    room, _ = t.mute(room_with(PIA), FAY, "pia", MediaKind.VIDEO)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.video, pia.video_muted_by, pia.audio) == (False, "fay", True)


def test_muted_by_a_facilitator_a_participant_may_not_unmute_when_the_group_forbids_it() -> None:
    room, _ = t.mute(room_with(PIA, settings=STRICT), FAY, "pia", MediaKind.AUDIO)
    with pytest.raises(NotAuthorized):
        t.set_media(room, "pia", MediaKind.AUDIO, True)


def test_muted_by_a_facilitator_a_participant_may_unmute_when_the_group_allows_it() -> None:
    room, _ = t.mute(room_with(PIA), FAY, "pia", MediaKind.AUDIO)
    room, events = t.set_media(room, "pia", MediaKind.AUDIO, True)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.audio, pia.audio_muted_by) == (True, None)
    assert events == [MemberUpdated(pia)]


def test_a_participant_who_muted_themselves_may_unmute_in_a_strict_group() -> None:
    room, _ = t.set_media(room_with(PIA, settings=STRICT), "pia", MediaKind.AUDIO, False)
    room, _ = t.set_media(room, "pia", MediaKind.AUDIO, True)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert pia.audio


def test_a_muted_participant_may_still_turn_the_camera_on_and_off() -> None:
    room, _ = t.mute(room_with(PIA, settings=STRICT), FAY, "pia", MediaKind.AUDIO)
    room, _ = t.set_media(room, "pia", MediaKind.VIDEO, False)
    room, _ = t.set_media(room, "pia", MediaKind.VIDEO, True)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.video, pia.audio, pia.audio_muted_by) == (True, False, "fay")


def test_turning_media_off_again_keeps_the_facilitators_mute() -> None:
    room, _ = t.mute(room_with(PIA, settings=STRICT), FAY, "pia", MediaKind.AUDIO)
    room, events = t.set_media(room, "pia", MediaKind.AUDIO, False)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert pia.audio_muted_by == "fay"
    assert events == []


def test_a_request_to_unmute_lifts_the_block_but_leaves_the_microphone_off() -> None:
    room, _ = t.mute(room_with(PIA, settings=STRICT), FAY, "pia", MediaKind.AUDIO)
    room, events = t.request_unmute(room, FAY, "pia", MediaKind.AUDIO)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.audio, pia.audio_muted_by) == (False, None)
    assert events == [UnmuteRequested("pia", MediaKind.AUDIO, "fay"), MemberUpdated(pia)]
    room, _ = t.set_media(room, "pia", MediaKind.AUDIO, True)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert pia.audio


def test_a_facilitator_can_never_turn_anyones_microphone_on() -> None:
    # There is no remote unmute: the only facilitator command that touches a muted kind leaves it off.
    assert not hasattr(t, "unmute")
    room, _ = t.set_media(room_with(PIA), "pia", MediaKind.AUDIO, False)
    for _ in range(2):
        room, _ = t.request_unmute(room, FAY, "pia", MediaKind.AUDIO)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert pia.audio is False


def test_a_participant_cannot_mute_or_ask_to_unmute() -> None:
    room = room_with(PIA, PAUL)
    with pytest.raises(NotAuthorized):
        t.mute(room, PIA, "paul", MediaKind.AUDIO)
    with pytest.raises(NotAuthorized):
        t.request_unmute(room, PIA, "paul", MediaKind.AUDIO)


def test_a_participant_muting_someone_absent_is_not_authorized_rather_than_not_found() -> None:
    with pytest.raises(NotAuthorized):
        t.mute(room_with(PIA), PIA, "nobody", MediaKind.AUDIO)


def test_a_participant_moderating_an_empty_room_is_not_authorized() -> None:
    # Authorization first, before anything about the room: the answer says nothing about who is there.
    with pytest.raises(NotAuthorized):
        t.mute(None, PIA, "paul", MediaKind.AUDIO)
    with pytest.raises(NotAuthorized):
        t.admit(None, PIA, "paul", 0.0)
    with pytest.raises(NotAuthorized):
        t.lock(None, PIA, True)
    with pytest.raises(NotAuthorized):
        t.lower_hand(None, PIA, "paul")


def test_a_facilitator_muting_someone_absent_is_told_they_are_not_found() -> None:
    with pytest.raises(NotFound):
        t.mute(room_with(PIA), FAY, "nobody", MediaKind.AUDIO)


def test_a_facilitator_outside_the_room_cannot_moderate_it() -> None:
    with pytest.raises(NotInRoom):
        t.mute(room_with(PIA), FRED, "pia", MediaKind.AUDIO)


def test_setting_media_is_for_members_only() -> None:
    room, _ = join(room_with(), PIA)
    with pytest.raises(NotInRoom):
        t.set_media(room, "pia", MediaKind.AUDIO, False)


# Removal and the lobby


def test_a_removed_participant_leaves_and_is_barred() -> None:
    room, events = t.remove(room_with(PIA), FAY, "pia", 1.0)
    assert room is not None
    assert roster(room) == ["fay"]
    assert "pia" in room.barred
    assert events[0] == Removed("pia", "fay")
    assert MemberLeft("pia", "pia-peer", LeaveReason.REMOVED, 1.0) in events


def test_a_removed_participant_waits_flagged_when_they_return_and_only_admission_lets_them_in() -> None:
    room, _ = t.remove(room_with(PIA, settings=NO_LOBBY), FAY, "pia", 1.0)
    room, _ = join(room, PIA, now=2.0, settings=NO_LOBBY, peer="pia-again")
    assert room is not None
    assert roster(room) == ["fay"]
    waiting = room.waiting("pia")
    assert waiting is not None
    assert waiting.removed_before
    room, _ = join(room, FRED, now=3.0, settings=NO_LOBBY)
    assert lobby(room) == ["pia"]
    room, _ = t.admit(room, FAY, "pia", 4.0)
    assert room is not None
    assert "pia" in roster(room)
    assert "pia" not in room.barred


def test_a_removed_participant_readmitted_and_sent_away_again_is_barred_again() -> None:
    room, _ = t.remove(room_with(PIA), FAY, "pia", 1.0)
    room = joined(room, PIA, 2.0)
    room, _ = t.remove(room, FAY, "pia", 3.0)
    room, _ = join(room, PIA, 4.0)
    assert room is not None
    waiting = room.waiting("pia")
    assert waiting is not None
    assert waiting.removed_before


def test_removing_someone_waiting_bars_them() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.remove(room, FAY, "pia", 1.0)
    assert room is not None
    assert lobby(room) == []
    assert "pia" in room.barred
    assert of_type(events, MemberLeft) == []


def test_a_facilitator_cannot_be_removed_or_sent_to_the_lobby() -> None:
    room = room_with(FRED)
    with pytest.raises(NotAuthorized):
        t.remove(room, FAY, "fred", 1.0)
    with pytest.raises(NotAuthorized):
        t.remove(room, FAY, "fay", 1.0)
    with pytest.raises(NotAuthorized):
        t.send_to_lobby(room, FAY, "fred", 1.0)


def test_removing_someone_absent_is_not_found() -> None:
    with pytest.raises(NotFound):
        t.remove(room_with(), FAY, "pia", 1.0)


def test_a_participant_cannot_remove() -> None:
    with pytest.raises(NotAuthorized):
        t.remove(room_with(PIA, PAUL), PIA, "paul", 1.0)


def test_sent_to_the_lobby_a_participant_waits_again() -> None:
    room, _ = t.raise_hand(room_with(PIA), "pia")
    room, events = t.send_to_lobby(room, FAY, "pia", 5.0)
    assert room is not None
    assert roster(room) == ["fay"]
    assert lobby(room) == ["pia"]
    assert room.hands == ()
    assert "pia" not in room.barred
    waiting = room.waiting("pia")
    assert waiting is not None
    assert (waiting.peer_id, waiting.since, waiting.removed_before) == ("pia-peer", 5.0, False)
    left = of_type(events, MemberLeft)[0]
    assert left.to_lobby
    assert HandQueueChanged(()) in events
    room, _ = t.admit(room, FAY, "pia", 6.0)
    assert roster(room) == ["fay", "pia"]


def test_a_participant_whose_connection_dropped_sent_to_the_lobby_does_not_wait_there() -> None:
    # Nobody can wait without a connection: the lobby would show (and let in) someone who is not there.
    room, _ = t.disconnect(room_with(PIA), "pia", "pia-peer", 1.0)
    room, events = t.send_to_lobby(room, FAY, "pia", 2.0)
    assert roster(room) == ["fay"]
    assert lobby(room) == []
    assert of_type(events, MemberLeft)[0].reason is LeaveReason.CONNECTION_LOST


# Lock and capacity


def test_a_locked_room_refuses_participants_and_lets_facilitators_in() -> None:
    room, events = t.lock(room_with(), FAY, True)
    assert room is not None
    assert room.locked
    assert events == [LockChanged(True, "fay")]
    with pytest.raises(RoomLocked):
        join(room, PIA)
    room, _ = join(room, FRED)
    assert roster(room) == ["fay", "fred"]


def test_a_locked_room_refuses_participants_with_the_lobby_off() -> None:
    room, _ = t.lock(room_with(settings=NO_LOBBY), FAY, True)
    with pytest.raises(RoomLocked):
        join(room, PIA, settings=NO_LOBBY)


def test_unlocking_lets_participants_join_again() -> None:
    room, _ = t.lock(room_with(), FAY, True)
    room, _ = t.lock(room, FAY, False)
    room, _ = join(room, PIA)
    assert lobby(room) == ["pia"]


def test_a_participant_cannot_lock() -> None:
    with pytest.raises(NotAuthorized):
        t.lock(room_with(PIA), PIA, True)


def test_a_full_room_refuses_admission() -> None:
    small = GroupSettings(capacity=2)
    room, _ = join(room_with(PIA, settings=small), PAUL, settings=small)
    with pytest.raises(RoomFull):
        t.admit(room, FAY, "paul", 1.0)


def test_a_full_room_refuses_a_facilitator() -> None:
    small = GroupSettings(capacity=2)
    with pytest.raises(RoomFull):
        join(room_with(PIA, settings=small), FRED, settings=small)


def test_a_full_room_refuses_a_participant_walking_in_with_the_lobby_off() -> None:
    small = GroupSettings(capacity=2, lobby_enabled=False)
    with pytest.raises(RoomFull):
        join(room_with(PIA, settings=small), PAUL, settings=small)


def test_a_full_room_still_lets_someone_wait() -> None:
    small = GroupSettings(capacity=2)
    room, _ = join(room_with(PIA, settings=small), PAUL, settings=small)
    assert lobby(room) == ["paul"]


# Hands


def test_hands_queue_in_the_order_they_were_raised() -> None:
    room: Room | None = room_with(PIA, PAUL, PETRA)
    events: list[Event] = []
    for user_id in ("paul", "pia", "petra"):
        room, events = t.raise_hand(room, user_id)
    assert room is not None
    assert room.hands == ("paul", "pia", "petra")
    assert events[0] == HandQueueChanged(("paul", "pia", "petra"))


def test_raising_a_raised_hand_changes_nothing() -> None:
    room, _ = t.raise_hand(room_with(PIA), "pia")
    again, events = t.raise_hand(room, "pia")
    assert again == room
    assert events == []


def test_a_participant_lowers_their_own_hand() -> None:
    room, _ = t.raise_hand(room_with(PIA, PAUL), "pia")
    room, _ = t.raise_hand(room, "paul")
    room, events = t.lower_hand(room, PIA)
    assert room is not None
    assert room.hands == ("paul",)
    assert events[0] == HandQueueChanged(("paul",))


def test_a_facilitator_lowers_anyones_hand() -> None:
    room, _ = t.raise_hand(room_with(PIA), "pia")
    room, _ = t.lower_hand(room, FAY, "pia")
    assert room is not None
    assert room.hands == ()


def test_a_participant_cannot_lower_anothers_hand() -> None:
    room, _ = t.raise_hand(room_with(PIA, PAUL), "paul")
    with pytest.raises(NotAuthorized):
        t.lower_hand(room, PIA, "paul")


def test_only_members_raise_hands() -> None:
    room, _ = join(room_with(), PIA)
    with pytest.raises(NotInRoom):
        t.raise_hand(room, "pia")


def test_a_leaving_member_leaves_the_hand_queue() -> None:
    room, _ = t.raise_hand(room_with(PIA, PAUL), "pia")
    room, _ = t.raise_hand(room, "paul")
    room, events = t.leave(room, "pia", 1.0)
    assert room is not None
    assert room.hands == ("paul",)
    assert HandQueueChanged(("paul",)) in events


# Facilitators coming and going


def test_a_facilitator_leaving_while_another_is_there_changes_nothing_for_the_rest() -> None:
    room, _ = t.leave(room_with(FRED, PIA), "fay", 1.0)
    room, _ = join(room, PAUL)
    assert room is not None
    assert roster(room) == ["fred", "pia"]
    assert room.session_id == "session-1"
    room, _ = t.admit(room, FRED, "paul", 2.0)
    assert roster(room) == ["fred", "pia", "paul"]


def test_with_no_facilitator_left_members_stay_and_newcomers_wait() -> None:
    room, events = t.leave(room_with(PIA, settings=NO_LOBBY), "fay", 1.0)
    assert room is not None
    assert roster(room) == ["pia"]
    assert room.session_id == "session-1"
    assert of_type(events, SessionClosed) == []
    room, _ = join(room, PAUL, settings=NO_LOBBY)
    assert roster(room) == ["pia"]
    assert lobby(room) == ["paul"]


def test_with_the_only_facilitator_disconnected_newcomers_wait() -> None:
    room, _ = t.disconnect(room_with(PIA, settings=NO_LOBBY), "fay", "fay-peer", 1.0)
    room, _ = join(room, PAUL, settings=NO_LOBBY)
    assert lobby(room) == ["paul"]
    room, _ = join(room, FAY, settings=NO_LOBBY, peer="fay-2")
    assert roster(room) == ["fay", "pia", "paul"]


# Connections dropping


def test_a_dropped_member_keeps_their_place_for_the_grace_period() -> None:
    room, events = t.disconnect(room_with(PIA), "pia", "pia-peer", 10.0)
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.connected, pia.disconnected_at) == (False, 10.0)
    assert events == [MemberUpdated(pia)]
    room, events = t.expire(room, 10.0 + GRACE - 1, GRACE)
    assert "pia" in roster(room)
    assert events == []


def test_coming_back_within_the_grace_period_resumes_the_place() -> None:
    room, _ = t.mute(room_with(PIA), FAY, "pia", MediaKind.AUDIO)
    room, _ = t.raise_hand(room, "pia")
    room, _ = t.disconnect(room, "pia", "pia-peer", 10.0)
    room, events = join(room, PIA, now=20.0, peer="pia-2")
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert (pia.peer_id, pia.connected, pia.role, pia.admitted_by) == ("pia-2", True, Role.PARTICIPANT, "fay")
    assert (pia.audio, pia.audio_muted_by) == (False, "fay")
    assert room.hands == ("pia",)
    assert lobby(room) == []
    assert events == [MemberResumed(pia, "pia-peer")]
    room, events = t.expire(room, 10.0 + 10 * GRACE, GRACE)
    assert "pia" in roster(room)


def test_a_facilitator_coming_back_within_the_grace_period_resumes_the_place() -> None:
    room, _ = t.disconnect(room_with(PIA), "fay", "fay-peer", 10.0)
    room, events = join(room, FAY, now=20.0, peer="fay-2")
    assert room is not None
    fay = room.member("fay")
    assert fay is not None
    assert (fay.peer_id, fay.role, fay.connected) == ("fay-2", Role.FACILITATOR, True)
    assert room.session_id == "session-1"
    assert of_type(events, MemberResumed) == [MemberResumed(fay, "fay-peer")]
    assert of_type(events, SessionOpened) == []


def test_a_locked_room_still_lets_a_dropped_participant_back() -> None:
    room, _ = t.lock(room_with(PIA), FAY, True)
    room, _ = t.disconnect(room, "pia", "pia-peer", 10.0)
    room, _ = join(room, PIA, now=20.0, peer="pia-2")
    assert room is not None
    pia = room.member("pia")
    assert pia is not None
    assert pia.connected


def test_after_the_grace_period_a_dropped_member_is_announced_as_lost() -> None:
    room, _ = t.disconnect(room_with(PIA), "pia", "pia-peer", 10.0)
    room, events = t.expire(room, 10.0 + GRACE, GRACE)
    assert roster(room) == ["fay"]
    assert events == [MemberLeft("pia", "pia-peer", LeaveReason.CONNECTION_LOST, 10.0 + GRACE)]


def test_everyone_lost_closes_the_session() -> None:
    room, _ = t.disconnect(room_with(PIA), "pia", "pia-peer", 10.0)
    room, _ = t.disconnect(room, "fay", "fay-peer", 11.0)
    room, events = t.expire(room, 100.0, GRACE)
    assert room is None
    assert SessionClosed("session-1", None, 100.0) in events
    assert len(of_type(events, MemberLeft)) == 2


def test_a_stale_connection_dropping_after_a_resume_changes_nothing() -> None:
    room, _ = join(room_with(PIA), PIA, now=5.0, peer="pia-2")
    after, events = t.disconnect(room, "pia", "pia-peer", 6.0)
    assert after == room
    assert events == []


def test_a_stale_connection_dropping_while_waiting_changes_nothing() -> None:
    room, _ = join(room_with(), PIA, peer="pia-1")
    room, _ = join(room, PIA, peer="pia-2")
    after, events = t.disconnect(room, "pia", "pia-1", 6.0)
    assert after == room
    assert events == []


def test_dropping_while_waiting_leaves_the_lobby() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.disconnect(room, "pia", "pia-peer", 6.0)
    assert lobby(room) == []
    assert events == [LobbyChanged(())]


def test_a_drop_from_an_empty_room_changes_nothing() -> None:
    assert t.disconnect(None, "pia", "pia-peer", 1.0) == (None, [])
    assert t.expire(None, 1.0, GRACE) == (None, [])


# Ending and closing sessions


def test_ending_the_session_sends_everyone_away() -> None:
    room, _ = join(room_with(FRED, PIA), PAUL)
    room, _ = t.raise_hand(room, "pia")
    room, events = t.end(room, FAY, 9.0)
    assert room is None
    assert of_type(events, RoomEnded) == [RoomEnded("fay", ("fay-peer", "fred-peer", "pia-peer", "paul-peer"))]
    left = of_type(events, MemberLeft)
    assert [e.user_id for e in left] == ["fay", "fred", "pia"]
    assert all(e.reason is LeaveReason.ENDED for e in left)
    assert events[-1] == SessionClosed("session-1", "fay", 9.0)


def test_a_participant_cannot_end_the_session() -> None:
    with pytest.raises(NotAuthorized):
        t.end(room_with(PIA), PIA, 1.0)


def test_bars_and_the_lock_end_with_the_session() -> None:
    room, _ = t.remove(room_with(PIA), FAY, "pia", 1.0)
    room, _ = t.lock(room, FAY, True)
    room, _ = t.end(room, FAY, 2.0)
    room, _ = t.join(room, ROOM_ID, NO_LOBBY, FAY, "fay-2", 3.0, "session-2")
    room, _ = join(room, PIA, now=4.0, settings=NO_LOBBY)
    assert room is not None
    assert room.session_id == "session-2"
    assert roster(room) == ["fay", "pia"]
    assert not room.locked


def test_the_last_member_leaving_closes_the_session() -> None:
    room, _ = t.leave(room_with(PIA), "fay", 1.0)
    room, events = t.leave(room, "pia", 2.0)
    assert room is None
    assert events[-1] == SessionClosed("session-1", None, 2.0)


def test_the_session_closes_but_the_lobby_stays_when_the_last_member_leaves() -> None:
    room, _ = join(room_with(), PIA)
    room, events = t.leave(room, "fay", 2.0)
    assert room is not None
    assert room.session_id is None
    assert lobby(room) == ["pia"]
    assert SessionClosed("session-1", None, 2.0) in events


def test_someone_removed_still_waiting_when_the_session_closes_is_no_longer_flagged() -> None:
    room, _ = t.remove(room_with(PIA), FAY, "pia", 1.0)
    room, _ = join(room, PIA, 2.0)
    room, _ = t.leave(room, "fay", 3.0)
    assert room is not None
    assert room.barred == frozenset()
    waiting = room.waiting("pia")
    assert waiting is not None
    assert not waiting.removed_before
    room, _ = t.join(room, ROOM_ID, NO_LOBBY, FAY, "fay-2", 4.0, "session-2")
    assert roster(room) == ["fay", "pia"]


def test_a_new_session_gets_the_id_given_by_the_join_that_opens_it() -> None:
    room, _ = t.leave(room_with(), "fay", 1.0)
    room, events = t.join(room, ROOM_ID, OPEN, FRED, "fred-peer", 2.0, "session-2")
    assert room is not None
    assert room.session_id == "session-2"
    assert SessionOpened("session-2", "fred", 2.0) in events


_LOBBY_OFF = GroupSettings(capacity=10, lobby_enabled=False)
_FAC = Person("fac-x", "Fran", Role.FACILITATOR)
_PIP = Person("pip-x", "Pip", Role.PARTICIPANT)


def test_someone_sent_back_to_the_lobby_waits_even_with_the_lobby_off() -> None:
    room, _ = t.join(None, "g", _LOBBY_OFF, _FAC, "peer-fac", 0, "session-1")
    room, _ = t.join(room, "g", _LOBBY_OFF, _PIP, "peer-pip", 1, "unused")
    room, _ = t.send_to_lobby(room, _FAC, "pip-x", 7)
    assert room is not None
    room, _ = t.join(room, "g", _LOBBY_OFF, _PIP, "peer-pip-2", 8, "unused")
    assert room is not None
    assert room.member("pip-x") is None
    assert room.waiting("pip-x") is not None
    # A facilitator coming back does not wave them in either; only admission does.
    room, _ = t.disconnect(room, "fac-x", "peer-fac", 9)
    room, _ = t.join(room, "g", _LOBBY_OFF, _FAC, "peer-fac-2", 10, "unused")
    assert room is not None
    assert room.member("pip-x") is None
    room, _ = t.admit(room, _FAC, "pip-x", 11)
    assert room is not None
    assert room.member("pip-x") is not None
