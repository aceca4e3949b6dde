"""Screen sharing in a group room: who may show their screen, and what ends a share."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rooms import administration as a
from rooms import transitions as t
from rooms.document import from_document, to_document
from rooms.errors import NotAuthorized, NotInRoom
from rooms.events import MemberUpdated
from rooms.model import GroupSettings, MediaKind, Room
from tests.unit.test_room_transitions import FAY, OPEN, PAUL, PIA, joined

SHARING_ALLOWED = GroupSettings(capacity=10, screen_share_allowed=True)


def room_of(settings: GroupSettings = OPEN) -> Room:
    room = joined(None, FAY, settings=settings)
    return joined(room, PIA, settings=settings)


def sharing(room: Room, user_id: str) -> bool:
    member = room.member(user_id)
    assert member is not None
    return member.screen


def test_a_facilitator_shares_their_screen_and_the_room_hears_of_it() -> None:
    room, events = t.share_screen(room_of(), FAY.user_id, True)
    assert room is not None
    assert sharing(room, FAY.user_id)
    assert events == [MemberUpdated(room.member(FAY.user_id))]  # type: ignore[arg-type]
    room, events = t.share_screen(room, FAY.user_id, False)
    assert room is not None
    assert not sharing(room, FAY.user_id)
    assert len(events) == 1


def test_a_participant_may_share_only_where_the_group_allows_it() -> None:
    with pytest.raises(NotAuthorized, match="does not let participants share"):
        t.share_screen(room_of(), PIA.user_id, True)
    room, events = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    assert room is not None
    assert sharing(room, PIA.user_id)
    assert events


def test_sharing_again_changes_nothing_and_stopping_is_always_allowed() -> None:
    room, _ = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    assert room is not None
    same, events = t.share_screen(room, PIA.user_id, True)
    assert same == room
    assert events == []
    # The group stops allowing it while the room runs: the share is ended by the change itself (below); a stop sent
    # by the client afterwards, or by one that missed it, is never refused.
    stricter = replace(room, settings=OPEN)
    stopped, _ = t.share_screen(stricter, PIA.user_id, False)
    assert stopped is not None
    assert not sharing(stopped, PIA.user_id)


def test_someone_not_in_the_room_cannot_share() -> None:
    with pytest.raises(NotInRoom):
        t.share_screen(room_of(SHARING_ALLOWED), PAUL.user_id, True)


def test_a_facilitators_video_mute_ends_a_share_and_blocks_a_new_one() -> None:
    room, _ = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    room, _ = t.mute(room, FAY, PIA.user_id, MediaKind.VIDEO)
    assert room is not None
    assert not sharing(room, PIA.user_id)
    with pytest.raises(NotAuthorized, match="turned your video off"):
        t.share_screen(room, PIA.user_id, True)
    # A microphone mute leaves the screen alone.
    room, _ = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    room, _ = t.mute(room, FAY, PIA.user_id, MediaKind.AUDIO)
    assert room is not None
    assert sharing(room, PIA.user_id)


def test_when_the_group_stops_allowing_it_participants_stop_sharing_and_facilitators_go_on() -> None:
    room, _ = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    room, _ = t.share_screen(room, FAY.user_id, True)
    assert room is not None
    room, events = a.apply_settings(room, OPEN, 5.0)
    assert room is not None
    assert not sharing(room, PIA.user_id)
    assert sharing(room, FAY.user_id)
    assert [e.member.user_id for e in events if isinstance(e, MemberUpdated)] == [PIA.user_id]


def test_the_stored_room_keeps_the_share_and_the_setting() -> None:
    room, _ = t.share_screen(room_of(SHARING_ALLOWED), PIA.user_id, True)
    assert room is not None
    assert from_document(json.loads(json.dumps(to_document(room)))) == room
    # A room stored before screens were shared reads as nobody sharing and participants not allowed.
    document = to_document(room_of())
    del document["settings"]["screen_share_allowed"]
    for member in document["members"]:
        del member["screen"]
    restored = from_document(document)
    assert restored.settings.screen_share_allowed is False
    assert not any(m.screen for m in restored.members)
