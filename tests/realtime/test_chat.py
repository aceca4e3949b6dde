"""Group chat and direct conversations with real clients: durable, ordered, idempotent, authorized."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select, update

from server.chat_repository import DatabaseChatRepository
from server.db.models import AuditEntry, ChatMessage
from signaling.seams import Account
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
    # A participant who never was in a session reads nothing; a facilitator outside the room reads everything.
    member = await cohort.connect(cohort.participants[1])
    refused = await member.call("chat:history", {"conversation": name})
    assert refused["error"]["code"] == "not_authorized"
    co = await cohort.connect(cohort.co_facilitator)
    assert await bodies(co, name) == ["Welcome"]
    outsider = await cohort.connect(cohort.outsider)
    refused = await outsider.call("chat:history", {"conversation": name})
    assert refused["error"]["code"] == "not_authorized"
    refused = await outsider.call("chat:send", {"conversation": name, "body": "hi", "client_id": "o"})
    assert refused["error"]["code"] == "not_authorized"


async def bodies(peer: Peer, name: str, **paging: int) -> list[str]:
    ack = await peer.call("chat:history", {"conversation": name, **paging})
    assert ack["ok"], ack
    return [m["body"] for m in ack["messages"]]


async def say(peer: Peer, name: str, body: str) -> int:
    ack = await peer.call("chat:send", {"conversation": name, "body": body, "client_id": body.replace(" ", "-")})
    assert ack["ok"], ack
    return int(ack["message"]["seq"])


async def refused_everything(peer: Peer, name: str, own_message_id: str | None = None) -> None:
    """History, read marks and deleting one's own message are all refused as not authorized."""
    acks = [
        await peer.call("chat:history", {"conversation": name}),
        await peer.call("chat:read", {"conversation": name, "seq": 1}),
    ]
    if own_message_id is not None:
        acks.append(await peer.call("chat:delete", {"conversation": name, "id": own_message_id}))
    assert [a.get("error", {}).get("code") for a in acks] == ["not_authorized"] * len(acks), acks


async def test_waiting_or_denied_participants_read_nothing(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    await say(fac, name, "Only for the people in the room")
    waiting, ack = await cohort.enter(cohort.participants[0])
    assert ack["status"] == "waiting"
    await refused_everything(waiting, name)
    assert await fac.call("room:deny", {**room, "user_id": cohort.participants[0].user_id}) == {"ok": True}
    await waiting.next("room:denied")
    await refused_everything(waiting, name)

    # Someone who attended an earlier session reads nothing either while they wait in the lobby.
    pip = await admitted(cohort, fac, 1)
    await say(pip, name, "I was here")
    assert await fac.call("room:end", room) == {"ok": True}
    fac, _ = await cohort.enter(cohort.facilitator)
    again, ack = await cohort.enter(cohort.participants[1])
    assert ack["status"] == "waiting"
    await refused_everything(again, name)
    assert await fac.call("room:admit", {**room, "user_id": cohort.participants[1].user_id}) == {"ok": True}
    await again.next("room:admitted")
    assert await bodies(again, name) == ["Only for the people in the room", "I was here"]


async def admitted(cohort: Cohort, fac: Peer, index: int) -> Peer:
    person = cohort.participants[index]
    peer, ack = await cohort.enter(person)
    if ack["status"] == "waiting":
        assert await fac.call("room:admit", {"room_id": cohort.group_id, "user_id": person.user_id}) == {"ok": True}
        await peer.next("room:admitted")
    return peer


async def test_a_removed_participant_reads_nothing_while_the_session_lasts(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    pip = await admitted(cohort, fac, 0)
    mine = await pip.call("chat:send", {"conversation": name, "body": "before", "client_id": "b"})
    assert await bodies(pip, name) == ["before"]
    assert await fac.call("room:remove", {**room, "user_id": cohort.participants[0].user_id}) == {"ok": True}
    await pip.next("room:removed")
    await say(fac, name, "after")
    await refused_everything(pip, name, mine["message"]["id"])
    again, ack = await cohort.enter(cohort.participants[0])
    assert ack["status"] == "waiting"
    await refused_everything(again, name, mine["message"]["id"])
    # The facilitator's admission lifts the bar: they are in the room again and read its session.
    assert await fac.call("room:admit", {**room, "user_id": cohort.participants[0].user_id}) == {"ok": True}
    await again.next("room:admitted")
    assert await bodies(again, name) == ["before", "after"]
    assert await again.call("chat:delete", {"conversation": name, "id": mine["message"]["id"]}) == {"ok": True}


async def test_a_removal_keeps_the_session_closed_to_them_after_it_ends(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    pip = await admitted(cohort, fac, 0)
    await say(pip, name, "said before the removal")
    assert await fac.call("room:remove", {**room, "user_id": cohort.participants[0].user_id}) == {"ok": True}
    assert await fac.call("room:end", room) == {"ok": True}
    await refused_everything(pip, name)


async def test_facilitators_read_everything_at_any_time(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, ack = await cohort.enter(cohort.facilitator)
    pip = await admitted(cohort, fac, 0)
    await say(pip, name, "first session")
    async with cohort.api.db() as session:
        stored = list((await session.execute(select(ChatMessage.session_id))).scalars())
    assert [str(s) for s in stored] == [ack["room"]["session_id"]]
    assert await fac.call("room:end", room) == {"ok": True}
    fac, _ = await cohort.enter(cohort.facilitator)
    await say(fac, name, "second session")
    # An older row from before messages remembered their session: for facilitators only.
    await say(fac, name, "no session")
    async with cohort.api.db.begin() as session:
        await session.execute(update(ChatMessage).where(ChatMessage.seq == 3).values(session_id=None))
    co = await cohort.connect(cohort.co_facilitator)  # a facilitator of the group, not in the room
    assert await bodies(co, name) == ["first session", "second session", "no session"]
    assert await bodies(fac, name) == ["first session", "second session", "no session"]
    pip = await admitted(cohort, fac, 0)
    assert await bodies(pip, name) == ["first session", "second session"]
    # Staff reading the group's chat is on the access record: who, which group, how many; never what was said.
    async with cohort.api.db() as session:
        reads = list(
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "chat.history.read"))).scalars()
        )
    assert {str(r.actor_id) for r in reads} == {cohort.facilitator.user_id, cohort.co_facilitator.user_id}
    assert all(r.target_id == cohort.group_id for r in reads)
    assert {(r.detail or {}).get("count") for r in reads} == {3}
    assert "session" not in repr([r.detail for r in reads])


async def test_participants_read_the_sessions_they_attended(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    pip = await admitted(cohort, fac, 0)
    await say(pip, name, "one a")
    await say(fac, name, "one b")
    assert await fac.call("room:end", room) == {"ok": True}

    fac, _ = await cohort.enter(cohort.facilitator)
    sam = await admitted(cohort, fac, 1)
    await say(sam, name, "two a")
    # In the room: the current session, not an earlier one they missed.
    assert await bodies(sam, name) == ["two a"]
    assert await bodies(sam, name, before_seq=3) == []
    # Back later, not in the room: the session they attended, not the one going on.
    pip = await cohort.connect(cohort.participants[0])
    assert await bodies(pip, name) == ["one a", "one b"]
    # Paging sees the readable subset only: seq 3 is a gap for them, and limit counts what they may read.
    assert await bodies(pip, name, after_seq=0, limit=1) == ["one a"]
    assert await bodies(pip, name, after_seq=2) == []
    assert await bodies(pip, name, limit=1) == ["one b"]
    assert await pip.call("chat:read", {"conversation": name, "seq": 2}) == {"ok": True}
    refused = await pip.call("chat:send", {"conversation": name, "body": "hello?", "client_id": "h"})
    assert refused["error"]["code"] == "not_authorized"

    # Leaving the live room closes its session's chat until the session is over.
    assert await sam.call("room:leave", room) == {"ok": True}
    refused = await sam.call("chat:history", {"conversation": name})
    assert refused["error"]["code"] == "not_authorized"
    await say(fac, name, "two b")
    assert await fac.call("room:end", room) == {"ok": True}
    assert await bodies(sam, name) == ["two a", "two b"]
    assert await bodies(pip, name) == ["one a", "one b"]


async def test_a_message_whose_session_is_not_recorded_is_kept_for_facilitators(cohort: Cohort) -> None:
    # The room's records may lag or fail to write the session row: the message is stored all the same, sessionless.
    repository = DatabaseChatRepository(cohort.api.db)
    sender = Account(cohort.facilitator.user_id, "Fran", "facilitator")
    key = f"room:{cohort.group_id}"
    message, new = await repository.send(key, cohort.group_id, sender, "lost-session", "hi", str(uuid.uuid4()))
    assert new is True
    assert message.session_id is None
    assert [m.id for m in await repository.history(key, None, None, 50)] == [message.id]
    assert await repository.history(key, None, None, 50, sessions=set()) == []


async def test_a_member_removed_from_the_group_reads_nothing(cohort: Cohort) -> None:
    name, room = f"room:{cohort.group_id}", {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    pip = await admitted(cohort, fac, 0)
    mine = await pip.call("chat:send", {"conversation": name, "body": "mine", "client_id": "m"})
    assert await fac.call("room:end", room) == {"ok": True}
    assert await bodies(pip, name) == ["mine"]
    status, _ = await cohort.api.call(
        "DELETE", f"/api/groups/{cohort.group_id}/members/{cohort.participants[0].user_id}", cohort.admin
    )
    assert status in (200, 204)
    await refused_everything(pip, name, mine["message"]["id"])


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
    status, pairing = await api.call(
        "POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentee.user_id}
    )
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
    direct = next(c for c in listing["conversations"] if c["conversation"] == f"dm:{mentor_id}")
    assert direct == {
        "conversation": f"dm:{mentor_id}",
        "kind": "dm",
        "title": "Morgan",
        "last_seq": 2,
        "unread": 1,
        "relationship": "mentor",
    }
    assert await mentee_peer.call("chat:read", {"conversation": f"dm:{mentor_id}", "seq": 2}) == {"ok": True}
    _, listing = await api.call("GET", "/api/conversations", mentee.token)
    assert next(c for c in listing["conversations"] if c["conversation"] == f"dm:{mentor_id}")["unread"] == 0

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

    # The pairing ends: the conversation can no longer be read, so it leaves the mentee's list (no unread count
    # that could never be cleared).
    await mentor.call("chat:send", {"conversation": f"dm:{mentee.user_id}", "body": "One more", "client_id": "d3"})
    status, _ = await api.call("DELETE", f"/api/pairings/{pairing['id']}", admin)
    assert status == 200
    _, listing = await api.call("GET", "/api/conversations", mentee.token)
    assert f"dm:{mentor_id}" not in {c["conversation"] for c in listing["conversations"]}
    refused = await mentee_peer.call("chat:history", {"conversation": f"dm:{mentor_id}"})
    assert refused["error"]["code"] == "not_authorized"


async def test_a_client_id_reused_for_another_conversation_is_a_conflict(cohort: Cohort) -> None:
    _, pip, _ = await in_room(cohort)
    await pip.call("chat:send", {"conversation": f"room:{cohort.group_id}", "body": "a", "client_id": "same"})
    ack = await pip.call(
        "chat:send", {"conversation": f"dm:{cohort.facilitator.user_id}", "body": "b", "client_id": "same"}
    )
    assert ack["error"]["code"] == "conflict"


async def test_reading_on_one_device_clears_the_unread_count_on_the_others(cohort: Cohort) -> None:
    fran = cohort.facilitator
    robin = cohort.participants[0]
    sender = await cohort.connect(fran)
    phone = await cohort.connect(robin)
    laptop = await cohort.connect(robin)
    conversation = f"dm:{robin.user_id}"
    for n in range(3):
        await sender.call("chat:send", {"conversation": conversation, "body": f"note {n}", "client_id": f"r{n}"})
    await laptop.next("chat:message")

    assert await phone.call("chat:read", {"conversation": f"dm:{fran.user_id}", "seq": 2}) == {"ok": True}
    assert await laptop.next("chat:read") == {"conversation": f"dm:{fran.user_id}", "seq": 2}
    # A mark past the end is kept at the last message; one that does not move the mark tells nobody.
    await phone.call("chat:read", {"conversation": f"dm:{fran.user_id}", "seq": 99})
    assert await laptop.next("chat:read") == {"conversation": f"dm:{fran.user_id}", "seq": 3}
    await laptop.call("chat:read", {"conversation": f"dm:{fran.user_id}", "seq": 1})
    assert phone.drain("chat:read") == []
    assert laptop.drain("chat:read") == []
    # The sender's own connections are not told of Robin's reading.
    assert sender.drain("chat:read") == []
    # A reader who may not read the conversation is refused and tells nobody.
    stranger = await cohort.connect(cohort.outsider)
    refused = await stranger.call("chat:read", {"conversation": f"dm:{fran.user_id}", "seq": 1})
    assert refused["error"]["code"] == "not_authorized"


async def test_a_participants_unread_count_covers_only_the_sessions_they_may_read(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    conversation = f"room:{cohort.group_id}"
    absent, present = cohort.participants[0], cohort.participants[1]

    async def unread(token: str) -> int:
        _, listing = await cohort.api.call("GET", "/api/conversations", token)
        return int(next(c for c in listing["conversations"] if c["conversation"] == conversation)["unread"])

    fac, _ = await cohort.enter(cohort.facilitator)
    peer, _ = await cohort.enter(present)
    await fac.call("room:admit", {**room, "user_id": present.user_id})
    await peer.next("room:admitted")
    for n in range(2):
        await fac.call("chat:send", {"conversation": conversation, "body": f"first session {n}", "client_id": f"a{n}"})
    assert await fac.call("room:end", room) == {"ok": True}
    # Who was there may read that session's messages; who was not never sees them counted; staff count everything.
    assert await unread(present.token) == 2
    assert await unread(absent.token) == 0
    assert await unread(cohort.co_facilitator.token) == 2

    fac, _ = await cohort.enter(cohort.facilitator)
    later, _ = await cohort.enter(absent)
    await fac.call("room:admit", {**room, "user_id": absent.user_id})
    await later.next("room:admitted")
    await fac.call("chat:send", {"conversation": conversation, "body": "second session", "client_id": "b1"})
    assert await unread(absent.token) == 1
    assert await unread(present.token) == 2
