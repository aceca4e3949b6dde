"""Group chat and direct conversations with real clients: durable, ordered, idempotent, authorized."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from server.db.models import AuditEntry, ChatMessage
from tests.realtime.conftest import Cohort
from tests.support.api import Api
from tests.support.realtime import Peer


async def in_room(cohort: Cohort) -> tuple[Peer, Peer, Peer]:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    peers = []
    for person in cohort.participants[:2]:
        peer, ack = await cohort.enter(person)
        if ack["status"] == "waiting":
            await fac.call("room:admit", {**room, "user_id": person.user_id})
            await peer.next("room:admitted")
        peers.append(peer)
    return fac, peers[0], peers[1]


async def test_room_chat_is_stored_sequenced_and_delivered(cohort: Cohort) -> None:
    fac, pip, sam = await in_room(cohort)
    name = f"room:{cohort.group_id}"
    ack = await pip.call(
        "chat:send", {"conversation": name, "body": "Hello, everyone\nglad to be here", "client_id": "m-1"}
    )
    assert ack["ok"] is True
    assert ack["message"]["seq"] == 1
    for peer in (fac, sam):
        message = await peer.next("chat:message")
        assert message == {
            "conversation": name,
            "id": ack["message"]["id"],
            "seq": 1,
            "sender_id": cohort.participants[0].user_id,
            "display_name": "P0",
            "body": "Hello, everyone\nglad to be here",
            "sent_at": ack["message"]["sent_at"],
        }
    second = await sam.call("chat:send", {"conversation": name, "body": "Hi", "client_id": "m-2"})
    assert second["message"]["seq"] == 2

    # The same client id again: the stored message, stored once, not delivered twice.
    again = await pip.call(
        "chat:send", {"conversation": name, "body": "Hello, everyone\nglad to be here", "client_id": "m-1"}
    )
    assert again["message"] == ack["message"]
    await asyncio.sleep(0.2)
    assert [m["seq"] for m in fac.drain("chat:message")] == [2]

    history = await fac.call("chat:history", {"conversation": name})
    assert [(m["seq"], m["body"]) for m in history["messages"]] == [(1, "Hello, everyone\nglad to be here"), (2, "Hi")]
    assert (await fac.call("chat:history", {"conversation": name, "after_seq": 1}))["messages"][0]["seq"] == 2
    assert [
        m["seq"] for m in (await fac.call("chat:history", {"conversation": name, "before_seq": 2}))["messages"]
    ] == [1]
    assert [m["seq"] for m in (await fac.call("chat:history", {"conversation": name, "limit": 1}))["messages"]] == [2]

    # The join reply tells a newcomer where chat stands.
    _, ack = await cohort.enter(cohort.co_facilitator)
    assert ack["chat"]["last_seq"] == 2


async def test_who_may_write_and_read_room_chat(cohort: Cohort) -> None:
    name = f"room:{cohort.group_id}"
    fac, _ = await cohort.enter(cohort.facilitator)
    await fac.call("chat:send", {"conversation": name, "body": "Welcome", "client_id": "w"})
    waiting, _ = await cohort.enter(cohort.participants[0])  # in the lobby, not the room
    refused = await waiting.call("chat:send", {"conversation": name, "body": "let me in", "client_id": "x"})
    assert refused["error"]["code"] == "not_authorized"
    # A group member outside the live room may read the history, an outsider may not.
    member = await cohort.connect(cohort.participants[1])
    assert [m["body"] for m in (await member.call("chat:history", {"conversation": name}))["messages"]] == ["Welcome"]
    outsider = await cohort.connect(cohort.outsider)
    refused = await outsider.call("chat:history", {"conversation": name})
    assert refused["error"]["code"] == "not_authorized"
    refused = await outsider.call("chat:send", {"conversation": name, "body": "hi", "client_id": "o"})
    assert refused["error"]["code"] == "not_authorized"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "", "client_id": "a"}, "body"),
        ({"body": "   ", "client_id": "a"}, "body"),
        ({"body": "x" * 4001, "client_id": "a"}, "body"),
        ({"body": "bell\u0007", "client_id": "a"}, "body"),
        ({"body": "tab\there", "client_id": "a"}, "body"),
        ({"body": "ok", "client_id": ""}, "client_id"),
        ({"body": "ok", "client_id": "spaces are bad"}, "client_id"),
        ({"body": "ok", "client_id": "a", "pinned": True}, "pinned"),
        ({"body": 42, "client_id": "a"}, "body"),
    ],
)
async def test_bad_messages_are_refused_and_nothing_is_stored(cohort: Cohort, payload: dict, field: str) -> None:
    fac, _ = await cohort.enter(cohort.facilitator)
    name = f"room:{cohort.group_id}"
    ack = await fac.call("chat:send", {"conversation": name, **payload})
    assert ack["error"]["code"] == "invalid_request"
    assert field in ack["error"]["message"]
    assert (await fac.call("chat:history", {"conversation": name}))["messages"] == []
    ok = await fac.call("chat:send", {"conversation": name, "body": "x" * 4000, "client_id": "fine"})
    assert ok["message"]["seq"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"conversation": "room:not-a-uuid"},
        {"conversation": "group:6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"},
        {"conversation": "ROOM", "limit": 10},
        {"limit": 0},
        {"limit": 201},
        {"after_seq": 1, "before_seq": 5},
        {"after_seq": -1},
    ],
)
async def test_bad_history_requests(cohort: Cohort, payload: dict) -> None:
    fac, _ = await cohort.enter(cohort.facilitator)
    ack = await fac.call("chat:history", {"conversation": f"room:{cohort.group_id}", **payload})
    assert ack["error"]["code"] == "invalid_request"


async def test_deleting_leaves_a_tombstone_and_is_audited(cohort: Cohort) -> None:
    fac, pip, sam = await in_room(cohort)
    name = f"room:{cohort.group_id}"
    sent = await pip.call("chat:send", {"conversation": name, "body": "something I regret", "client_id": "r"})
    mine = await sam.call("chat:send", {"conversation": name, "body": "mine", "client_id": "s"})
    refused = await sam.call("chat:delete", {"conversation": name, "id": sent["message"]["id"]})
    assert refused["error"]["code"] == "not_authorized"
    assert await fac.call("chat:delete", {"conversation": name, "id": sent["message"]["id"]}) == {"ok": True}
    deleted = await pip.next("chat:deleted")
    assert deleted == {"conversation": name, "id": sent["message"]["id"], "seq": 1}
    assert await sam.call("chat:delete", {"conversation": name, "id": mine["message"]["id"]}) == {"ok": True}
    history = (await fac.call("chat:history", {"conversation": name}))["messages"]
    assert [(m["seq"], m["body"], m.get("deleted")) for m in history] == [(1, None, True), (2, None, True)]
    async with cohort.api.db() as session:
        bodies = list((await session.execute(select(ChatMessage.body))).scalars())
        audits = list((await session.execute(select(AuditEntry).where(AuditEntry.action == "chat.delete"))).scalars())
    assert bodies == [None, None]
    assert len(audits) == 2
    assert "regret" not in repr([(a.detail, a.target_id) for a in audits])
    missing = await fac.call("chat:delete", {"conversation": name, "id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"})
    assert missing["error"]["code"] == "not_found"


async def test_typing_is_relayed_throttled_and_never_stored(cohort: Cohort) -> None:
    fac, pip, _ = await in_room(cohort)
    name = f"room:{cohort.group_id}"
    assert await pip.call("chat:typing", {"conversation": name}) == {"ok": True}
    assert await fac.next("chat:typing") == {
        "conversation": name,
        "user_id": cohort.participants[0].user_id,
        "display_name": "P0",
    }
    assert await pip.call("chat:typing", {"conversation": name}) == {"ok": True}
    await asyncio.sleep(0.3)
    assert fac.drain("chat:typing") == []
    assert (await fac.call("chat:history", {"conversation": name}))["messages"] == []


async def test_a_flood_of_messages_is_rate_limited(cohort: Cohort) -> None:
    fac, _ = await cohort.enter(cohort.facilitator)
    name = f"room:{cohort.group_id}"
    # 40 at once against a burst of 10 and 5 a second: refused ones remain even if a loaded machine spreads their
    # handling over several seconds.
    acks = await asyncio.gather(
        *(fac.call("chat:send", {"conversation": name, "body": f"n{n}", "client_id": f"c{n}"}) for n in range(40))
    )
    stored = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert limited
    assert all(a["error"]["code"] == "rate_limited" for a in limited)
    # Exactly the acknowledged ones are stored, numbered without gaps.
    history = (await fac.call("chat:history", {"conversation": name}))["messages"]
    assert sorted(m["seq"] for m in history) == list(range(1, len(stored) + 1))


async def test_direct_messages_between_a_paired_mentor_and_mentee(api: Api, admin: str, cohort: Cohort) -> None:
    mentor_id, mentor_token = await api.user(admin, "mentor@example.org", "mentor", "Morgan")
    mentee = cohort.participants[0]
    status, _ = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentee.user_id})
    assert status == 201
    mentor = Peer("mentor")
    await mentor.connect(cohort.url, mentor_token)
    cohort.peers.append(mentor)
    mentor_phone = Peer("mentor-phone")
    await mentor_phone.connect(cohort.url, mentor_token)
    cohort.peers.append(mentor_phone)
    mentee_peer = await cohort.connect(mentee)

    ack = await mentor.call(
        "chat:send", {"conversation": f"dm:{mentee.user_id}", "body": "How was today?", "client_id": "d1"}
    )
    assert ack["message"]["seq"] == 1
    received = await mentee_peer.next("chat:message")
    assert (received["conversation"], received["body"]) == (f"dm:{mentor_id}", "How was today?")
    assert (await mentor_phone.next("chat:message"))["conversation"] == f"dm:{mentee.user_id}"
    reply = await mentee_peer.call(
        "chat:send", {"conversation": f"dm:{mentor_id}", "body": "Better", "client_id": "d2"}
    )
    assert reply["message"]["seq"] == 2
    mine = await mentor.call("chat:history", {"conversation": f"dm:{mentee.user_id}"})
    assert mine["conversation"] == f"dm:{mentee.user_id}"
    assert [(m["seq"], m["body"]) for m in mine["messages"]] == [(1, "How was today?"), (2, "Better")]

    # Unread counts for the web client, and marking as read.
    status, listing = await api.call("GET", "/api/conversations", mentee.token)
    direct = next(c for c in listing["conversations"] if c["kind"] == "dm")
    assert direct == {"conversation": f"dm:{mentor_id}", "kind": "dm", "title": "Morgan", "last_seq": 2, "unread": 1}
    assert await mentee_peer.call("chat:read", {"conversation": f"dm:{mentor_id}", "seq": 2}) == {"ok": True}
    _, listing = await api.call("GET", "/api/conversations", mentee.token)
    assert next(c for c in listing["conversations"] if c["kind"] == "dm")["unread"] == 0

    # Not paired: refused both ways; a facilitator and a member of their group may write.
    stranger = await cohort.connect(cohort.participants[1])
    refused = await stranger.call("chat:send", {"conversation": f"dm:{mentor_id}", "body": "hi", "client_id": "z"})
    assert refused["error"]["code"] == "not_authorized"
    refused = await stranger.call("chat:history", {"conversation": f"dm:{mentor_id}"})
    assert refused["error"]["code"] == "not_authorized"
    fac = await cohort.connect(cohort.facilitator)
    ok = await fac.call(
        "chat:send", {"conversation": f"dm:{cohort.participants[1].user_id}", "body": "Checking in", "client_id": "f"}
    )
    assert ok["ok"] is True
    assert (await stranger.next("chat:message"))["conversation"] == f"dm:{cohort.facilitator.user_id}"


async def test_a_client_id_reused_for_another_conversation_is_a_conflict(cohort: Cohort) -> None:
    _, pip, _ = await in_room(cohort)
    await pip.call("chat:send", {"conversation": f"room:{cohort.group_id}", "body": "a", "client_id": "same"})
    ack = await pip.call(
        "chat:send", {"conversation": f"dm:{cohort.facilitator.user_id}", "body": "b", "client_id": "same"}
    )
    assert ack["error"]["code"] == "conflict"
