"""Two nodes, one deployment: clients on either node see the same room, and a node's death is noticed."""

from __future__ import annotations

import asyncio
import time

import pytest
import socketio

from tests.cluster.conftest import DEPARTURE_BOUND, SIGTERM_DEADLINE, Cluster
from tests.support.realtime import Peer


def urls(cluster: Cluster) -> tuple[str, str]:
    return cluster.nodes[0].base + "/", cluster.nodes[1].base + "/"


async def test_lobby_moderation_and_hands_across_nodes(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, ack = await cohort.enter(cohort.facilitator, a)
    assert ack["status"] == "joined"
    pip = cohort.participants[0]
    member, ack = await cohort.enter(pip, b)
    assert ack["status"] == "waiting"
    assert [w["user_id"] for w in (await fac.next("room:lobby"))["waiting"]] == [pip.user_id]
    assert await fac.call("room:admit", {**room, "user_id": pip.user_id}) == {"ok": True}
    entry = await member.next("room:admitted")
    assert {p["user_id"] for p in entry["room"]["participants"]} == {cohort.facilitator.user_id, pip.user_id}
    assert (await fac.next("room:participant_joined"))["participant"]["user_id"] == pip.user_id

    await fac.call("room:mute", {**room, "user_id": pip.user_id, "kind": "audio"})
    assert await member.next("room:muted") == {"room_id": cohort.group_id, "kind": "audio"}

    other, _ = await cohort.enter(cohort.participants[1], a)
    await fac.call("room:admit", {**room, "user_id": cohort.participants[1].user_id})
    await other.next("room:admitted")
    await member.call("hand:raise", room)
    await other.call("hand:raise", room)
    for peer in (fac, member, other):
        queue = (await peer.next("hand:queue"))["queue"]
        while len(queue) < 2:
            queue = (await peer.next("hand:queue"))["queue"]
        assert queue == [pip.user_id, cohort.participants[1].user_id]

    # WebRTC signaling crosses nodes, from peer to peer in the same room only.
    offer = {"to": member.sid, "type": "offer", "sdp": "v=0\r\n"}
    assert await other.call("rtc:signal", offer) == {"ok": True}
    assert await member.next("rtc:signal") == {"from": other.sid, "type": "offer", "sdp": "v=0\r\n"}

    assert await fac.call("room:remove", {**room, "user_id": pip.user_id}) == {"ok": True}
    assert await member.next("room:removed") == room
    refused = await member.call("rtc:signal", {"to": other.sid, "type": "offer", "sdp": "v=0\r\n"})
    assert refused["error"]["code"] == "not_authorized"

    assert await fac.call("room:end", room) == {"ok": True}
    assert await other.next("room:ended") == room


async def test_a_dropped_member_resumes_on_the_other_node_without_the_lobby(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, a)
    pip = cohort.participants[0]
    member, _ = await cohort.enter(pip, a)
    await fac.call("room:admit", {**room, "user_id": pip.user_id})
    await member.next("room:admitted")
    await member.call("hand:raise", room)

    await member.client.disconnect()
    dropped = await fac.next("room:participant_updated")
    while dropped["participant"]["connected"]:
        dropped = await fac.next("room:participant_updated")
    back, ack = await cohort.enter(pip, b)
    assert ack["status"] == "joined"
    me = next(p for p in ack["room"]["participants"] if p["user_id"] == pip.user_id)
    assert (me["peer_id"], me["connected"], me["hand"]) == (back.sid, True, True)

    # The facilitator's role belongs to the person: they drop and come back without the lobby too.
    await fac.client.disconnect()
    _, ack = await cohort.enter(cohort.facilitator, b)
    assert ack["status"] == "joined"
    assert ack["room"]["lobby"] == []

    await asyncio.sleep(3)  # past the grace period: nobody was announced as left
    assert [e for e, _ in back.log if e == "room:participant_left"] == []


async def test_members_of_a_killed_node_are_announced_as_left_on_the_other(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, b)
    victims: list[Peer] = []
    for person in cohort.participants[:2]:
        peer, _ = await cohort.enter(person, a)
        await fac.call("room:admit", {**room, "user_id": person.user_id})
        await peer.next("room:admitted")
        victims.append(peer)
    for peer in victims:
        peer.client.reconnection = False
    fac.drain("room:participant_left")

    killed_at = time.monotonic()
    cluster.nodes[0].process.kill()
    gone = set()
    while len(gone) < 2:
        left = await fac.next("room:participant_left", within=DEPARTURE_BOUND + 5)
        assert left["reason"] == "connection_lost"
        gone.add(left["user_id"])
    elapsed = time.monotonic() - killed_at
    assert gone == {p.user_id for p in cohort.participants[:2]}
    assert elapsed < DEPARTURE_BOUND
    # The room itself carries on, on the surviving node.
    assert (await fac.call("room:lock", {**room, "locked": True})) == {"ok": True}


async def test_sigterm_drains_clients_who_resume_on_the_other_node(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, b)
    pip = cohort.participants[0]
    member, _ = await cohort.enter(pip, a)
    await fac.call("room:admit", {**room, "user_id": pip.user_id})
    await member.next("room:admitted")

    started = time.monotonic()
    stopping = asyncio.create_task(cluster.nodes[0].stop(within=SIGTERM_DEADLINE))
    async with asyncio.timeout(SIGTERM_DEADLINE):
        while member.client.connected:  # the node closes its connections first
            await asyncio.sleep(0.02)
    # The client reconnects to the other node at once and keeps its place.
    _, ack = await cohort.enter(pip, b)
    assert ack["status"] == "joined"
    assert await stopping == 0
    assert time.monotonic() - started < SIGTERM_DEADLINE
    refused = Peer("late")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(a, pip.token)
