"""Two nodes, one deployment: clients on either node see the same room, and a node's death is noticed."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import socketio

from tests.cluster.conftest import DEPARTURE_BOUND, SIGTERM_DEADLINE, SWEEP_SECONDS, Cluster, urls
from tests.support.realtime import Peer


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


async def test_rooms_keep_working_through_a_redis_restart_and_converge(cluster_own_redis: Cluster, own_redis) -> None:  # type: ignore[no-untyped-def]
    cluster = cluster_own_redis
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, a)
    local, _ = await cohort.enter(cohort.participants[0], a)
    await fac.call("room:admit", {**room, "user_id": cohort.participants[0].user_id})
    await local.next("room:admitted")
    remote, _ = await cohort.enter(cohort.participants[1], b)
    await fac.call("room:admit", {**room, "user_id": cohort.participants[1].user_id})
    await remote.next("room:admitted")
    await asyncio.sleep(3 * SWEEP_SECONDS)  # each node's copy of a room is at most one sweep old

    own_redis.stop()
    status, body = await _get(cluster.nodes[0].base + "/readyz")
    assert (status, body["checks"]["redis"]) == (503, "down")
    # On each node, the room goes on for that node's clients.
    local.drain("hand:queue")
    assert await local.call("hand:raise", room) == {"ok": True}
    assert (await fac.next("hand:queue"))["queue"] == [cohort.participants[0].user_id]
    assert await fac.call("room:mute", {**room, "user_id": cohort.participants[0].user_id, "kind": "video"}) == {
        "ok": True
    }
    assert await local.next("room:muted") == {"room_id": cohort.group_id, "kind": "video"}
    assert await remote.call("hand:raise", room) == {"ok": True}

    own_redis.start()  # empty: Redis keeps nothing on disk here
    async with asyncio.timeout(20):
        while (await _get(cluster.nodes[0].base + "/readyz"))[0] != 200:
            await asyncio.sleep(0.2)
    # Both nodes write back what they know; everyone receives the converged state.
    expected = {cohort.facilitator.user_id, cohort.participants[0].user_id, cohort.participants[1].user_id}
    async with asyncio.timeout(20):
        for peer in (fac, local, remote):
            while True:
                state = (await peer.next("room:state"))["room"]
                if {p["user_id"] for p in state["participants"]} == expected and len(state["hands"]) == 2:
                    break
    assert set(state["hands"]) == {cohort.participants[0].user_id, cohort.participants[1].user_id}
    muted = next(p for p in state["participants"] if p["user_id"] == cohort.participants[0].user_id)
    assert muted["video"] is False
    # And the room works across nodes again.
    assert await fac.call("room:lock", {**room, "locked": True}) == {"ok": True}
    assert await remote.next("room:locked") == {"room_id": cohort.group_id, "locked": True}


async def test_sigterm_with_redis_down_still_exits_in_time(cluster_own_redis: Cluster, own_redis) -> None:  # type: ignore[no-untyped-def]
    cluster = cluster_own_redis
    a, _ = urls(cluster)
    cohort = cluster.cohort
    await cohort.enter(cohort.facilitator, a)
    member, _ = await cohort.enter(cohort.participants[0], a)
    own_redis.stop()
    started = time.monotonic()
    assert await cluster.nodes[0].stop(within=SIGTERM_DEADLINE) == 0
    assert time.monotonic() - started < SIGTERM_DEADLINE
    assert not member.client.connected


async def _get(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_simultaneous_joins_on_both_nodes_lose_nobody(cluster: Cluster) -> None:
    from tests.realtime.conftest import make_cohort

    a, b = urls(cluster)
    crowd = await make_cohort(
        cluster.cohort.api, cluster.cohort.admin, a, participants=10, tag="crowd-", capacity=20, lobby_enabled=False
    )
    try:
        fac, _ = await crowd.enter(crowd.facilitator, a)
        peers = [await crowd.connect(person, a if n % 2 else b) for n, person in enumerate(crowd.participants)]
        acks = await asyncio.gather(*(peer.call("room:join", {"room_id": crowd.group_id}) for peer in peers))
        assert [ack["status"] for ack in acks] == ["joined"] * 10
        expected = {crowd.facilitator.user_id} | {p.user_id for p in crowd.participants}
        # Compare-and-set kept every join: a newcomer on the other node finds everyone in the roster.
        _, ack = await crowd.enter(crowd.co_facilitator, b)
        assert {p["user_id"] for p in ack["room"]["participants"]} == expected | {crowd.co_facilitator.user_id}
        joined: set[str] = set()
        while not joined >= {p.user_id for p in crowd.participants}:
            joined.add((await fac.next("room:participant_joined"))["participant"]["user_id"])
    finally:
        for peer in crowd.peers:
            await peer.close()
