"""After an outage of the store: each node's own connections decide, a removal anywhere wins, stale copies
of ended rooms do not come back."""

from __future__ import annotations

from dataclasses import replace

from rooms import transitions
from rooms.model import GroupSettings, Person, Role, Room
from rooms.reconcile import reconcile

SETTINGS = GroupSettings(capacity=10, lobby_enabled=False)
FAC = Person("fac", "Fran", Role.FACILITATOR)
PIP = Person("pip", "Pip", Role.PARTICIPANT)
SAM = Person("sam", "Sam", Role.PARTICIPANT)


def room_with_everyone() -> Room:
    room, _ = transitions.join(None, "g", SETTINGS, FAC, "peer-fac", 0, "session-1")
    room, _ = transitions.join(room, "g", SETTINGS, PIP, "peer-pip", 1, "unused")
    room, _ = transitions.join(room, "g", SETTINGS, SAM, "peer-sam", 2, "unused")
    assert room is not None
    return room


def test_a_removal_made_during_the_outage_is_not_undone() -> None:
    before = room_with_everyone()
    # The facilitator's node (holding peer-fac) removed Pip; Pip's node (holding peer-pip) still has Pip.
    removed, _ = transitions.remove(before, FAC, "pip", 5)
    assert removed is not None
    written_first = reconcile(None, removed, {"peer-fac"})
    final = reconcile(written_first, before, {"peer-pip"})
    assert final is not None
    assert final.member("pip") is None
    assert "pip" in final.barred
    # And in the other order.
    written_first = reconcile(None, before, {"peer-pip"})
    final = reconcile(written_first, removed, {"peer-fac"})
    assert final is not None
    assert final.member("pip") is None


def test_someone_who_left_through_this_node_stays_gone() -> None:
    stored = room_with_everyone()
    left, _ = transitions.leave(stored, "sam", 6)
    assert left is not None
    final = reconcile(stored, left, {"peer-sam", "peer-pip"})
    assert final is not None
    assert final.member("sam") is None
    assert final.member("pip") is not None
    assert final.member("fac") is not None  # held elsewhere: stands as stored


def test_a_stale_copy_with_nobody_of_ours_does_not_come_back() -> None:
    old = room_with_everyone()
    assert reconcile(None, old, set()) is None
    only_mine = reconcile(None, old, {"peer-pip"})
    assert only_mine is not None
    assert [m.user_id for m in only_mine.members] == ["pip"]


def test_hands_and_lock_merge() -> None:
    stored = room_with_everyone()
    raised, _ = transitions.raise_hand(stored, "pip")
    assert raised is not None
    locked = replace(raised, locked=True)
    final = reconcile(stored, locked, {"peer-pip"})
    assert final is not None
    assert final.hands == ("pip",)
    assert final.locked


def test_a_member_in_their_grace_period_keeps_their_place_when_the_store_lost_the_room() -> None:
    room = room_with_everyone()
    dropped, _ = transitions.disconnect(room, "sam", "peer-sam", 10)
    assert dropped is not None
    # Redis restarted empty; Fran's node writes back first (Sam's connection is held by nobody now).
    final = reconcile(None, dropped, {"peer-fac"})
    assert final is not None
    sam = final.member("sam")
    assert sam is not None
    assert not sam.connected
    assert sam.disconnected_at == 10
    # Sam's grace runs on from when he dropped: still there before it ends, gone after.
    kept, _ = transitions.expire(final, 10 + 29, 30)
    assert kept is not None
    assert kept.member("sam") is not None
    gone, _ = transitions.expire(final, 10 + 31, 30)
    assert gone is not None
    assert gone.member("sam") is None
    # And coming back within the grace resumes the place rather than queueing in the lobby.
    back, _ = transitions.join(final, "g", SETTINGS, SAM, "peer-sam-2", 20, "unused")
    assert back is not None
    again = back.member("sam")
    assert again is not None
    assert again.peer_id == "peer-sam-2"
