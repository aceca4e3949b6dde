"""A facilitated group room end to end with real Socket.IO clients: lobby, admission, moderation, hands, end."""

from __future__ import annotations

import pytest
import socketio
from sqlalchemy import select

from server.db.models import Attendance, AuditEntry, Session
from tests.realtime.conftest import Cohort
from tests.support.realtime import Peer


async def test_lobby_admission_and_roster(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, ack = await cohort.enter(cohort.facilitator)
    assert ack["ok"] is True
    assert ack["status"] == "joined"
    assert [p["user_id"] for p in ack["room"]["participants"]] == [cohort.facilitator.user_id]
    assert ack["self"]["peer_id"] == fac.sid
    assert ack["media"] == {"mode": "mesh", "ice_servers": [], "mesh_limit": 4, "ice_transport_policy": "all"}
    assert ack["chat"]["last_seq"] == 0
    assert ack["room"]["locked"] is False

    pip = cohort.participants[0]
    peer, ack = await cohort.enter(pip)
    assert ack == {"ok": True, "status": "waiting", "room": room, "self": {"peer_id": peer.sid, "user_id": pip.user_id}}
    lobby = await fac.next("room:lobby")
    assert [w["user_id"] for w in lobby["waiting"]] == [pip.user_id]

    assert (await fac.call("room:admit", {**room, "user_id": pip.user_id})) == {"ok": True}
    admitted = await peer.next("room:admitted")
    assert admitted["status"] == "joined"
    assert admitted["room_id"] == cohort.group_id
    assert {p["user_id"] for p in admitted["room"]["participants"]} == {cohort.facilitator.user_id, pip.user_id}
    joined = await fac.next("room:participant_joined")
    assert joined["participant"] == {
        "user_id": pip.user_id,
        "display_name": "P0",
        "role": "participant",
        "audio": True,
        "video": True,
        "hand": False,
        "peer_id": peer.sid,
        "connected": True,
        "screen": False,
        "muted": {"audio": False, "video": False},
    }
    assert "lobby" not in admitted["room"]  # only facilitators see who waits


async def test_deny_and_leave(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    denied, ack = await cohort.enter(cohort.participants[0])
    assert ack.get("status") == "waiting", ack
    assert await fac.call("room:deny", {**room, "user_id": cohort.participants[0].user_id}) == {"ok": True}
    assert await denied.next("room:denied") == room

    staying, _ = await cohort.enter(cohort.participants[1])
    await fac.call("room:admit", {**room, "user_id": cohort.participants[1].user_id})
    await staying.next("room:admitted")
    assert await staying.call("room:leave", room) == {"ok": True}
    left = await fac.next("room:participant_left")
    assert left == {"room_id": cohort.group_id, "user_id": cohort.participants[1].user_id, "reason": "left"}


async def admitted(cohort: Cohort, fac: Peer, index: int) -> Peer:
    peer, ack = await cohort.enter(cohort.participants[index])
    assert ack.get("status") == "waiting", ack
    assert (await fac.call("room:admit", {"room_id": cohort.group_id, "user_id": cohort.participants[index].user_id}))[
        "ok"
    ]
    await peer.next("room:admitted")
    return peer


async def test_mute_is_seen_by_everyone_and_cannot_be_lifted_remotely(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    first = await admitted(cohort, fac, 0)
    second = await admitted(cohort, fac, 1)
    target = cohort.participants[0].user_id

    assert await fac.call("room:mute", {**room, "user_id": target, "kind": "audio"}) == {"ok": True}
    assert await first.next("room:muted") == {"room_id": cohort.group_id, "kind": "audio"}
    for peer in (fac, second, first):
        while True:
            update = await peer.next("room:participant_updated")
            if update["participant"]["user_id"] == target and update["participant"]["audio"] is False:
                break
        assert update["participant"]["muted"] == {"audio": True, "video": False}

    # A participant may not moderate, whoever the target is, in the room or not.
    for victim in (cohort.participants[1].user_id, cohort.outsider.user_id):
        refused = await second.call("room:mute", {**room, "user_id": victim, "kind": "audio"})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "not_authorized"

    # The group allows self-unmute (the default): the member turns their microphone back on themselves.
    assert await first.call("room:media", {**room, "kind": "audio", "enabled": True}) == {"ok": True}


async def test_mute_holds_when_the_group_forbids_self_unmute(api, admin) -> None:  # type: ignore[no-untyped-def]
    from tests.realtime.conftest import make_cohort

    cohort = await make_cohort(api, admin, str(api.client.make_url("/")), self_unmute_allowed=False)
    room = {"room_id": cohort.group_id}
    try:
        fac, _ = await cohort.enter(cohort.facilitator)
        member = await admitted(cohort, fac, 0)
        target = cohort.participants[0].user_id
        await fac.call("room:mute", {**room, "user_id": target, "kind": "video"})
        refused = await member.call("room:media", {**room, "kind": "video", "enabled": True})
        assert refused["error"]["code"] == "not_authorized"
        # Asking to unmute lifts the block but turns nothing on: only the member can.
        assert await fac.call("room:ask_unmute", {**room, "user_id": target, "kind": "video"}) == {"ok": True}
        assert await member.next("room:unmute_requested") == {"room_id": cohort.group_id, "kind": "video"}
        assert await member.call("room:media", {**room, "kind": "video", "enabled": True}) == {"ok": True}
    finally:
        for peer in cohort.peers:
            await peer.close()


async def test_screen_sharing_by_facilitators_and_where_allowed_by_participants(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, entry = await cohort.enter(cohort.facilitator)
    assert entry["room"]["screen_share_allowed"] is False
    member = await admitted(cohort, fac, 0)
    robin = cohort.participants[0].user_id

    async def sharing_seen_by(peer: Peer, user_id: str) -> bool:
        while True:
            update = await peer.next("room:participant_updated")
            if update["participant"]["user_id"] == user_id:
                return bool(update["participant"]["screen"])

    # The facilitator shows a worksheet; the room sees who shares.
    assert await fac.call("room:screen", {**room, "sharing": True}) == {"ok": True}
    assert await sharing_seen_by(member, cohort.facilitator.user_id) is True
    # A participant may not, until the group allows it; a bad payload is refused and changes nothing.
    refused = await member.call("room:screen", {**room, "sharing": True})
    assert (refused["ok"], refused["error"]["code"]) == (False, "not_authorized")
    refused = await member.call("room:screen", {**room, "sharing": "yes"})
    assert refused["error"]["code"] == "invalid_request"
    status, _ = await cohort.api.call(
        "PATCH", f"/api/groups/{cohort.group_id}", cohort.admin, {"screen_share_allowed": True}
    )
    assert status == 200
    settings = await member.next("room:settings")
    assert settings["screen_share_allowed"] is True
    assert await member.call("room:screen", {**room, "sharing": True}) == {"ok": True}
    assert await sharing_seen_by(fac, robin) is True
    # A facilitator's video mute ends the share.
    await fac.call("room:mute", {**room, "user_id": robin, "kind": "video"})
    assert await sharing_seen_by(fac, robin) is False


async def test_hand_queue_in_raise_order(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    a = await admitted(cohort, fac, 0)
    b = await admitted(cohort, fac, 1)
    ida, idb = cohort.participants[0].user_id, cohort.participants[1].user_id
    await b.call("hand:raise", room)
    await a.call("hand:raise", room)
    fac.drain("hand:queue")
    await a.call("hand:raise", room)  # raising again changes nothing
    assert (await fac.call("hand:lower", {**room, "user_id": idb})) == {"ok": True}
    assert (await fac.next("hand:queue"))["queue"] == [ida]
    refused = await b.call("hand:lower", {**room, "user_id": ida})
    assert refused["error"]["code"] == "not_authorized"
    assert await a.call("hand:lower", room) == {"ok": True}
    assert (await fac.next("hand:queue"))["queue"] == []


async def test_remove_bars_the_person_until_readmitted(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, 0)
    target = cohort.participants[0]
    other_device = await cohort.connect(target)  # the same person, another connection not in the room
    assert await fac.call("room:remove", {**room, "user_id": target.user_id}) == {"ok": True}
    assert await member.next("room:removed") == room
    assert await other_device.next("room:removed") == room
    left = await fac.next("room:participant_left")
    assert left["reason"] == "removed"

    fac.drain("room:lobby")
    again, ack = await cohort.enter(target)
    assert ack.get("status") == "waiting", ack
    lobby = await fac.next("room:lobby")
    assert [(w["user_id"], w["removed_before"]) for w in lobby["waiting"]] == [(target.user_id, True)]
    assert await fac.call("room:admit", {**room, "user_id": target.user_id}) == {"ok": True}
    assert (await again.next("room:admitted"))["status"] == "joined"


async def test_lock_refuses_newcomers_but_not_facilitators(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    assert await fac.call("room:lock", {**room, "locked": True}) == {"ok": True}
    assert await fac.next("room:locked") == {"room_id": cohort.group_id, "locked": True}
    _, ack = await cohort.enter(cohort.participants[0])
    assert ack["error"]["code"] == "room_locked"
    _, ack = await cohort.enter(cohort.co_facilitator)
    assert ack["status"] == "joined"


async def test_end_closes_the_session_with_attendance_and_audit(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, 0)
    waiting, _ = await cohort.enter(cohort.participants[1])
    await fac.call("room:mute", {**room, "user_id": cohort.participants[0].user_id, "kind": "audio"})
    refused = await member.call("room:end", room)
    assert refused["error"]["code"] == "not_authorized"
    assert await fac.call("room:end", room) == {"ok": True}
    for peer in (fac, member, waiting):
        assert await peer.next("room:ended") == room
    async with cohort.api.db() as session:
        sessions = list((await session.execute(select(Session))).scalars())
        assert len(sessions) == 1
        assert sessions[0].ended_at is not None
        assert str(sessions[0].ended_by) == cohort.facilitator.user_id
        stays = list((await session.execute(select(Attendance).order_by(Attendance.id))).scalars())
        assert [(str(s.user_id), s.leave_reason) for s in stays] == [
            (cohort.facilitator.user_id, "ended"),
            (cohort.participants[0].user_id, "ended"),
        ]
        assert str(stays[1].admitted_by) == cohort.facilitator.user_id
        actions = [
            (a, o)
            for a, o in (
                await session.execute(select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id))
            ).all()
            if a.startswith("room.") and a != "room.join"
        ]
    assert actions == [
        ("room.admit", "success"),
        ("room.mute.audio", "success"),
        ("room.end", "not_authorized"),
        ("room.end", "success"),
    ]


@pytest.mark.parametrize(
    ("event", "payload", "code"),
    [
        ("room:join", {"room_id": "not-a-uuid"}, "invalid_request"),
        ("room:join", {"room_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"}, "not_authorized"),
        ("room:join", {"room": "x"}, "invalid_request"),
        ("room:join", "just a string", "invalid_request"),
        ("room:join", None, "invalid_request"),
        (
            "room:mute",
            {
                "room_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11",
                "user_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11",
                "kind": "smell",
            },
            "invalid_request",
        ),
        ("room:fly", {}, "unknown_event"),
        ("rtc:signal", {"to": "abcdefgh", "type": "offer", "sdp": "v=0"}, "not_authorized"),
        ("rtc:signal", {"to": "abcdefgh", "type": "offer"}, "invalid_request"),
    ],
)
async def test_bad_events_get_their_code_and_change_nothing(
    cohort: Cohort, event: str, payload: object, code: str
) -> None:
    await cohort.enter(cohort.facilitator)
    peer = await cohort.connect(cohort.participants[0])
    ack = await peer.call(event, payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert isinstance(ack["error"]["message"], str)
    # The connection still works and the room is as it was.
    ack = await peer.call("room:join", {"room_id": cohort.group_id})
    assert ack.get("status") == "waiting", ack


async def test_outsiders_and_bad_tokens_are_refused(cohort: Cohort) -> None:
    _, ack = await cohort.enter(cohort.outsider)
    assert ack["error"]["code"] == "not_authorized"
    for token in (None, "forged.token.value", cohort.facilitator.token + "x"):
        peer = Peer("intruder")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(cohort.url, token)
        assert peer.connect_error["data"]["code"] == "not_authenticated"
