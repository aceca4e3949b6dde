"""A group at its largest capacity, 200, on two nodes: everyone joins at once and everyone hears the chat.

All 200 joins change the one room document in Redis by compare-and-set at about the same moment, half of them from
each node: none may be refused for contention (``conflict``). A node may answer ``busy`` while the crowd arrives; each
member then sends the join again after the hint, as the web client does, within the web client's budget.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import redis.asyncio
from sqlalchemy import select

from server.db.engine import create_engine, session_factory
from server.db.models import MAX_CAPACITY, Attendance, Session
from signaling.room_store import RedisRoomStore
from tests.cluster.conftest import Cluster, urls
from tests.realtime.conftest import Person
from tests.support.crowd import enrol_crowd
from tests.support.realtime import Peer

# The web client's budget for a request refused as busy (web/src/busy-retry.js): five sends, 30 s in all.
SENDS = 5
EVERYONE_IN_SECONDS = 30.0


async def connect_all(people: list[Person], nodes: tuple[str, str]) -> list[Peer]:
    peers = [Peer(person.name) for person in people]
    limit = asyncio.Semaphore(20)

    async def connect(n: int) -> None:
        async with limit:
            await peers[n].connect(nodes[n % 2], people[n].token)

    await asyncio.gather(*(connect(n) for n in range(len(people))))
    return peers


async def join(peer: Peer, room_id: str) -> tuple[Any, int]:
    """The member's entry (the join's answer, or ``room:admitted`` for one who came before the facilitator and
    waited), the join sent again after a ``busy`` answer's hint; and how many sends it took."""
    for sends in range(1, SENDS + 1):
        ack = await peer.call("room:join", {"room_id": room_id})
        if ack["ok"] and ack["status"] == "waiting":
            return await peer.next("room:admitted", within=EVERYONE_IN_SECONDS), sends
        if ack["ok"] or ack["error"]["code"] != "busy" or sends == SENDS:
            return ack, sends
        await asyncio.sleep(ack["error"]["retry_after_ms"] / 1000 * random.uniform(1.0, 1.5))
    raise AssertionError("unreachable")


async def test_two_hundred_members_join_one_room_at_once_on_two_nodes(cluster: Cluster) -> None:
    cohort = cluster.cohort
    status, group = await cohort.api.call(
        "POST", "/api/groups", cohort.admin, {"name": "Everyone", "capacity": MAX_CAPACITY, "lobby_enabled": False}
    )
    assert status == 201, group
    room_id = group["id"]
    people = await enrol_crowd(
        cluster.env["HAVEN_DATABASE_URL"], cluster.env["HAVEN_JWT_SECRET"], room_id, participants=MAX_CAPACITY - 1
    )
    peers = await connect_all(people, urls(cluster))
    try:
        started = time.monotonic()
        joins = await asyncio.gather(*(join(peer, room_id) for peer in peers))
        took = time.monotonic() - started
        refused = [entry for entry, _ in joins if not entry.get("ok", True)]
        assert refused == [], f"{len(refused)} refused, first {refused[0]}"
        assert {entry["status"] for entry, _ in joins} == {"joined"}
        resent = sum(sends - 1 for _, sends in joins)
        print(f"\n{len(peers)} joins at once on two nodes: all in after {took:.2f} s, {resent} sent again after busy")
        assert took < EVERYONE_IN_SECONDS

        client = redis.asyncio.Redis.from_url(cluster.env["HAVEN_REDIS_URL"])
        try:
            document = await RedisRoomStore(client, cluster.env["HAVEN_REDIS_PREFIX"]).read(room_id)
        finally:
            await client.aclose()
        assert document is not None
        assert sorted(m["user_id"] for m in document["members"]) == sorted(p.user_id for p in people)
        assert document["forwarded"] is True

        # One session, and an attendance row for every one of the 200 (joins that overlapped the one opening the
        # session included), each in that session.
        engine = create_engine(cluster.env["HAVEN_DATABASE_URL"])
        try:
            async with session_factory(engine)() as session:
                sessions = list(
                    (await session.execute(select(Session.id).where(Session.group_id == uuid.UUID(room_id)))).scalars()
                )
                stays = (
                    await session.execute(select(Attendance.user_id).where(Attendance.session_id.in_(sessions)))
                ).scalars()
                attended = sorted(str(user_id) for user_id in stays)
        finally:
            await engine.dispose()
        assert len(sessions) == 1
        assert attended == sorted(p.user_id for p in people)

        sender = peers[1]
        sent = await sender.call(
            "chat:send", {"conversation": f"room:{room_id}", "body": "Welcome, everyone.", "client_id": "welcome"}
        )
        assert sent["ok"], sent
        heard = await asyncio.gather(*(peer.next("chat:message") for peer in peers if peer is not sender))
        assert len(heard) == MAX_CAPACITY - 1
        assert {message["id"] for message in heard} == {sent["message"]["id"]}

        # Each member knows everyone: from its entry's roster, or announced after (before the chat, which came last).
        everyone = {person.user_id for person in people}
        for peer, (entry, _) in zip(peers, joins, strict=True):
            known = {p["user_id"] for p in entry["room"]["participants"]}
            known |= {event["participant"]["user_id"] for event in peer.drain("room:participant_joined")}
            assert known == everyone, f"{peer.name} does not know {len(everyone - known)} of the others"
    finally:
        await asyncio.gather(*(peer.close() for peer in peers))
