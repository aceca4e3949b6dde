"""One-on-one calls across two ``haven serve`` nodes sharing PostgreSQL and Redis (docs/protocol.md 7.6): ringing
on devices on both nodes, the answer on one stopping the other, signaling and contact status crossing nodes, a
node's death ending its calls, and a missed call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.cluster.conftest import (
    DEPARTURE_BOUND,
    GRACE_SECONDS,
    PRESENCE_TTL_SECONDS,
    SWEEP_SECONDS,
    Cluster,
    close_cluster,
    make_cluster,
    urls,
)
from tests.realtime.test_calls import (
    ANSWER,
    CANDIDATE,
    OFFER,
    Pair,
    answered,
    calls_of,
    invite,
    make_pair,
    of_call,
    refused,
    status_change,
    statuses,
)
from tests.support.api import Api

CLUSTER_RING_SECONDS = 2


@pytest.fixture
async def short_ring_cluster(tmp_path: Path, cluster_database: str, redis_server_url: str) -> AsyncIterator[Cluster]:
    made = await make_cluster(
        tmp_path, cluster_database, redis_server_url, {"HAVEN_CALL_RING_SECONDS": str(CLUSTER_RING_SECONDS)}
    )
    yield made
    await close_cluster(made)


async def test_a_call_rings_on_both_nodes_and_is_answered_across_them(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    laptop = await calls.connect(calls.mentee, a, name="pat-laptop-a")
    phone = await calls.connect(calls.mentee, b, name="pat-phone-b")

    call_id = await invite(mentor, calls.mentee)
    incoming = {
        "call_id": call_id,
        "from": {"user_id": calls.mentor.user_id, "display_name": "Morgan"},
        "ring_seconds": 45,
    }
    assert await of_call(laptop, "call:incoming", call_id) == incoming
    assert await of_call(phone, "call:incoming", call_id) == incoming
    late = await calls.connect(calls.mentee, b, name="pat-tablet-b")  # connects while it rings
    assert await of_call(late, "call:incoming", call_id) == incoming

    ack = await phone.call("call:accept", {"call_id": call_id})
    assert ack["ok"] is True, ack
    assert ack["peer_id"] == mentor.sid
    assert await of_call(mentor, "call:accepted", call_id) == {
        "call_id": call_id,
        "peer_id": phone.sid,
        "answered_by": phone.sid,
    }
    for other in (laptop, late):  # on node A and node B: they stop ringing
        assert await of_call(other, "call:accepted", call_id) == {
            "call_id": call_id,
            "peer_id": mentor.sid,
            "answered_by": phone.sid,
        }
    refused(await laptop.call("call:accept", {"call_id": call_id}), "conflict")

    # Signaling crosses nodes, between the two peers of the call only.
    assert await mentor.call("rtc:signal", {"to": phone.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await phone.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER}
    assert await phone.call("rtc:signal", {"to": mentor.sid, "type": "answer", "sdp": ANSWER}) == {"ok": True}
    assert await mentor.next("rtc:signal") == {"from": phone.sid, "type": "answer", "sdp": ANSWER}
    ack = await phone.call("rtc:signal", {"to": mentor.sid, "type": "candidate", "candidate": CANDIDATE})
    assert ack == {"ok": True}
    assert await mentor.next("rtc:signal") == {"from": phone.sid, "type": "candidate", "candidate": CANDIDATE}
    refused(await laptop.call("rtc:signal", {"to": mentor.sid, "type": "offer", "sdp": OFFER}), "not_authorized")
    refused(await mentor.call("rtc:signal", {"to": late.sid, "type": "offer", "sdp": OFFER}), "not_authorized")

    assert await phone.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, laptop, phone, late):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}
    (record,) = await calls_of(calls.api, calls.mentor.token)
    assert (record["id"], record["outcome"]) == (call_id, "hangup")
    assert record["duration_seconds"] is not None


async def test_devices_on_two_nodes_accepting_at_once_one_wins(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    on_a = await calls.connect(calls.mentee, a, name="pat-a")
    on_b = await calls.connect(calls.mentee, b, name="pat-b")
    call_id = await invite(mentor, calls.mentee)
    await of_call(on_a, "call:incoming", call_id)
    await of_call(on_b, "call:incoming", call_id)
    acks = await asyncio.gather(
        on_a.call("call:accept", {"call_id": call_id}), on_b.call("call:accept", {"call_id": call_id})
    )
    winners = [n for n, ack in enumerate(acks) if ack["ok"]]
    assert len(winners) == 1, acks
    refused(acks[1 - winners[0]], "conflict")
    winner = (on_a, on_b)[winners[0]]
    assert await of_call(mentor, "call:accepted", call_id) == {
        "call_id": call_id,
        "peer_id": winner.sid,
        "answered_by": winner.sid,
    }


async def test_invites_crossing_between_nodes_ring_only_once(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    mentee = await calls.connect(calls.mentee, b)
    acks = await asyncio.gather(
        mentor.call("call:invite", {"user_id": calls.mentee.user_id}),
        mentee.call("call:invite", {"user_id": calls.mentor.user_id}),
    )
    ringing = [ack for ack in acks if ack.get("ok") and ack.get("state") == "ringing"]
    assert len(ringing) == 1, acks  # nobody is in two calls at once, whichever node they are on
    (other,) = [ack for ack in acks if ack is not ringing[0]]
    assert (other.get("ok"), other.get("reason")) == (True, "busy") or other["error"]["code"] == "conflict", other


async def test_two_callers_on_two_nodes_at_once_ring_the_callee_only_once(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    max_ = await calls.person("max@example.org", "mentor", "Max")
    await calls.pair_up(max_, calls.mentee)
    mentor = await calls.connect(calls.mentor, a)
    other = await calls.connect(max_, b)
    mentee = await calls.connect(calls.mentee, b)
    acks = await asyncio.gather(
        mentor.call("call:invite", {"user_id": calls.mentee.user_id}),
        other.call("call:invite", {"user_id": calls.mentee.user_id}),
    )
    states = sorted((ack.get("state"), ack.get("reason")) for ack in acks)
    assert states == [("ended", "busy"), ("ringing", None)], acks
    ringing = next(ack for ack in acks if ack["state"] == "ringing")
    assert (await of_call(mentee, "call:incoming", ringing["call_id"]))["call_id"] == ringing["call_id"]


async def test_contact_status_crosses_nodes(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    async with aiohttp.ClientSession(base_url=cluster.nodes[1].base) as session:
        on_b = Api(session)
        assert await statuses(on_b, calls.mentor) == {calls.mentee.user_id: "offline"}

        mentee = await calls.connect(calls.mentee, b)
        await status_change(mentor, calls.mentee.user_id, "online")
        assert await statuses(on_b, calls.mentor) == {calls.mentee.user_id: "online"}
        assert await statuses(calls.api, calls.mentee) == {calls.mentor.user_id: "online"}

        call_id = await answered(mentor, mentee, calls.mentee)
        await status_change(mentor, calls.mentee.user_id, "in_call")
        await status_change(mentee, calls.mentor.user_id, "in_call")
        assert await statuses(on_b, calls.mentor) == {calls.mentee.user_id: "in_call"}
        assert await statuses(calls.api, calls.mentee) == {calls.mentor.user_id: "in_call"}

        assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
        await status_change(mentor, calls.mentee.user_id, "online")
        await status_change(mentee, calls.mentor.user_id, "online")

        await mentee.close()
        await status_change(mentor, calls.mentee.user_id, "offline")
        assert await statuses(calls.api, calls.mentor) == {calls.mentee.user_id: "offline"}


async def test_the_callees_node_dying_ends_the_call_as_connection_lost(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    mentee = await calls.connect(calls.mentee, b)
    call_id = await answered(mentor, mentee, calls.mentee)
    mentee_sid = mentee.sid
    assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    await mentee.next("rtc:signal")

    killed_at = time.monotonic()
    cluster.nodes[1].process.kill()
    reconnecting = await of_call(mentor, "call:reconnecting", call_id, within=DEPARTURE_BOUND + 5)
    assert reconnecting == {"call_id": call_id, "user_id": calls.mentee.user_id}
    ended = await of_call(mentor, "call:ended", call_id, within=DEPARTURE_BOUND + 5)
    assert ended == {"call_id": call_id, "reason": "connection_lost"}
    elapsed = time.monotonic() - killed_at
    assert GRACE_SECONDS - 1 <= elapsed < DEPARTURE_BOUND  # the grace period applied, then it ended
    await status_change(mentor, calls.mentee.user_id, "offline", within=DEPARTURE_BOUND)

    (record,) = await calls_of(calls.api, calls.mentor.token)
    assert (record["id"], record["outcome"]) == (call_id, "connection_lost")
    # The surviving caller's line is free again.
    refused(await mentor.call("rtc:signal", {"to": mentee_sid, "type": "offer", "sdp": OFFER}), "not_authorized")
    back = await calls.connect(calls.mentee, a, name="pat-back")
    call_id = await invite(mentor, calls.mentee)
    await of_call(back, "call:incoming", call_id)


async def test_the_callers_node_dying_while_ringing_stops_the_ringing(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    mentee = await calls.connect(calls.mentee, b)
    call_id = await invite(mentor, calls.mentee)
    await of_call(mentee, "call:incoming", call_id)

    killed_at = time.monotonic()
    cluster.nodes[0].process.kill()
    # No grace while ringing: noticed within the presence TTL and a few sweeps.
    bound = PRESENCE_TTL_SECONDS + 4 * SWEEP_SECONDS + 3
    ended = await of_call(mentee, "call:ended", call_id, within=bound + 5)
    assert ended == {"call_id": call_id, "reason": "connection_lost"}
    assert time.monotonic() - killed_at < bound
    refused(await mentee.call("call:accept", {"call_id": call_id}), "conflict")


async def test_a_dropped_callee_resumes_the_call_on_the_other_node(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, a)
    mentee = await calls.connect(calls.mentee, b)
    call_id = await answered(mentor, mentee, calls.mentee)
    await mentee.close()
    assert await of_call(mentor, "call:reconnecting", call_id) == {"call_id": call_id, "user_id": calls.mentee.user_id}

    back = await calls.connect(calls.mentee, a, name="pat-back-on-a")
    ack = await back.call("call:resume", {"call_id": call_id})
    assert ack["ok"] is True, ack
    assert (ack["role"], ack["peer_id"]) == ("callee", mentor.sid)
    assert await of_call(mentor, "call:resumed", call_id) == {
        "call_id": call_id,
        "user_id": calls.mentee.user_id,
        "peer_id": back.sid,
    }
    assert await mentor.call("rtc:signal", {"to": back.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await back.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER}
    # Past the grace period the call is still on.
    await asyncio.sleep(GRACE_SECONDS + 4 * SWEEP_SECONDS)
    assert [d for e, d in mentor.log if e == "call:ended"] == []
    assert await back.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    assert await of_call(mentor, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}


async def test_a_callee_in_a_group_room_on_the_other_node_is_busy(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    mentee = cohort.participants[0]  # enrolled in the cohort's group
    await calls.pair_up(calls.mentor, mentee)
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, b)
    member, ack = await cohort.enter(mentee, b)
    assert ack["status"] == "waiting"  # in the lobby: busy as well
    mentor = await calls.connect(calls.mentor, a)
    ack = await mentor.call("call:invite", {"user_id": mentee.user_id})
    assert (ack["ok"], ack.get("state"), ack.get("reason")) == (True, "ended", "busy"), ack
    assert await of_call(mentor, "call:ended", ack["call_id"]) == {"call_id": ack["call_id"], "reason": "busy"}

    await fac.call("room:admit", {**room, "user_id": mentee.user_id})
    await member.next("room:admitted")
    ack = await mentor.call("call:invite", {"user_id": mentee.user_id})
    assert (ack["ok"], ack.get("state"), ack.get("reason")) == (True, "ended", "busy"), ack
    await member.call("room:leave", room)
    call_id = await invite(mentor, mentee)
    await of_call(member, "call:incoming", call_id)


async def test_a_call_across_nodes_is_missed_after_the_ring_time(short_ring_cluster: Cluster) -> None:
    cluster = short_ring_cluster
    a, b = urls(cluster)
    pair = await make_pair(cluster.cohort.api, cluster.cohort.admin, a, tag="missed-")
    try:
        mentor = await pair.connect(pair.mentor, a)
        on_a = await pair.connect(pair.mentee, a, name="pat-a")
        on_b = await pair.connect(pair.mentee, b, name="pat-b")
        started = time.monotonic()
        call_id = await invite(mentor, pair.mentee)
        for peer in (on_a, on_b):
            assert (await of_call(peer, "call:incoming", call_id))["ring_seconds"] == CLUSTER_RING_SECONDS
        bound = CLUSTER_RING_SECONDS + 2 * SWEEP_SECONDS + 5
        for peer in (mentor, on_a, on_b):
            assert await of_call(peer, "call:ended", call_id, within=bound) == {"call_id": call_id, "reason": "missed"}
        assert CLUSTER_RING_SECONDS - 0.5 <= time.monotonic() - started < bound
        refused(await on_b.call("call:accept", {"call_id": call_id}), "conflict")
        (record,) = await calls_of(pair.api, pair.mentee.token)
        assert (record["id"], record["outcome"], record["answered_at"]) == (call_id, "missed", None)
    finally:
        await pair.close()
