"""What the program's administration does to a live room: a person taken out of the group, a group archived, its
settings changed while people are in the room."""

from __future__ import annotations

from rooms import administration as a
from rooms import transitions as t
from rooms.events import (
    Admitted,
    HandQueueChanged,
    LobbyChanged,
    MemberJoined,
    MemberLeft,
    Removed,
    RoomEnded,
    SessionClosed,
    SettingsChanged,
)
from rooms.model import GroupSettings, LeaveReason, Room
from tests.unit.test_room_transitions import FAY, OPEN, PAUL, PIA, join, joined


def room_with_pia_and_paul_waiting() -> Room:
    room = joined(joined(None, FAY), PIA)
    room, _ = join(room, PAUL, 1.0)
    assert room is not None
    assert room.waiting(PAUL.user_id) is not None
    return room


def test_a_member_taken_out_of_the_group_leaves_as_removed_and_is_barred() -> None:
    room = room_with_pia_and_paul_waiting()
    room, _ = t.raise_hand(room, PIA.user_id)
    after, events = a.withdraw(room, PIA.user_id, 5.0)
    assert after is not None
    assert after.member(PIA.user_id) is None
    assert PIA.user_id in after.barred
    assert Removed(PIA.user_id, None) in events
    assert MemberLeft(PIA.user_id, f"{PIA.user_id}-peer", LeaveReason.REMOVED, 5.0) in events
    assert HandQueueChanged(()) in events
    # Barred for the session: joining again waits for a facilitator, even were the lobby off.
    again, _ = join(after, PIA, 6.0)
    assert again is not None
    assert again.member(PIA.user_id) is None


def test_someone_waiting_who_is_taken_out_leaves_the_lobby() -> None:
    room = room_with_pia_and_paul_waiting()
    after, events = a.withdraw(room, PAUL.user_id, 5.0)
    assert after is not None
    assert after.waiting(PAUL.user_id) is None
    assert LobbyChanged(()) in events
    assert Removed(PAUL.user_id, None) in events


def test_withdrawing_someone_absent_changes_nothing() -> None:
    room = room_with_pia_and_paul_waiting()
    assert a.withdraw(room, "nobody", 5.0) == (room, [])
    assert a.withdraw(None, PIA.user_id, 5.0) == (None, [])


def test_the_last_member_withdrawn_closes_the_session() -> None:
    room = joined(None, FAY)
    after, events = a.withdraw(room, FAY.user_id, 9.0)
    assert after is None
    assert any(isinstance(e, SessionClosed) and e.ended_by is None for e in events)


def test_an_archived_group_ends_its_room_for_everyone() -> None:
    room = room_with_pia_and_paul_waiting()
    after, events = a.close(room, 7.0)
    assert after is None
    ended = next(e for e in events if isinstance(e, RoomEnded))
    assert ended.by is None
    assert set(ended.peer_ids) == {"fay-peer", "pia-peer", "paul-peer"}
    left = {e.user_id: e.reason for e in events if isinstance(e, MemberLeft)}
    assert left == {FAY.user_id: LeaveReason.ENDED, PIA.user_id: LeaveReason.ENDED}


def test_new_settings_reach_the_live_room_without_turning_anyone_out() -> None:
    room = room_with_pia_and_paul_waiting()
    smaller = GroupSettings(capacity=2, lobby_enabled=True, self_unmute_allowed=False)
    after, events = a.apply_settings(room, smaller, 3.0)
    assert after is not None
    assert after.settings == smaller
    assert events == [SettingsChanged(smaller)]
    assert {m.user_id for m in after.members} == {FAY.user_id, PIA.user_id}
    assert a.apply_settings(after, smaller, 4.0) == (after, [])


def test_turning_the_lobby_off_lets_those_waiting_in() -> None:
    room = room_with_pia_and_paul_waiting()
    after, events = a.apply_settings(room, GroupSettings(capacity=OPEN.capacity, lobby_enabled=False), 3.0)
    assert after is not None
    assert after.member(PAUL.user_id) is not None
    assert any(isinstance(e, MemberJoined) and e.member.user_id == PAUL.user_id for e in events)
    assert Admitted(PAUL.user_id, "paul-peer", None) in events
