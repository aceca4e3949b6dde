"""Timers that must keep their word through a Redis restart (Redis keeps nothing on disk here, so it comes back
empty): a ringing call still ends as missed at its ring time, and a member in their grace period keeps their place
and can come back to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.conftest import Cluster, close_cluster, make_cluster
from tests.realtime.test_calls import Pair, calls_of, invite, make_pair, of_call
from tests.support.realtime import Peer
from tests.support.services import PrivateRedis

RING_SECONDS = 8
GRACE_SECONDS = 10


@pytest.fixture
async def patient_cluster(tmp_path: Path, cluster_database: str, own_redis: PrivateRedis) -> AsyncIterator[Cluster]:
    made = await make_cluster(
        tmp_path,
        cluster_database,
        own_redis.url,
        {"HAVEN_CALL_RING_SECONDS": str(RING_SECONDS), "HAVEN_GRACE_SECONDS": str(GRACE_SECONDS)},
    )
    yield made
    await close_cluster(made)


async def restart(redis: PrivateRedis, cluster: Cluster) -> None:
    """Stop Redis, start it again empty, and wait until both nodes are ready again."""
    redis.stop()
    await asyncio.sleep(1.0)
    redis.start()
    async with asyncio.timeout(20):
        for node in cluster.nodes:
            while True:
                async with cluster.session.get(node.base + "/readyz") as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.2)


async def test_a_ringing_call_still_ends_as_missed_after_redis_restarted_empty(
    patient_cluster: Cluster, own_redis: PrivateRedis
) -> None:
    cluster = patient_cluster
    a, b = (node.base + "/" for node in cluster.nodes)
    pair: Pair = await make_pair(cluster.cohort.api, cluster.cohort.admin, a, tag="outage-")
    try:
        mentor = await pair.connect(pair.mentor, a)
        mentee = await pair.connect(pair.mentee, b)
        call_id = await invite(mentor, pair.mentee)
        await of_call(mentee, "call:incoming", call_id)
        await asyncio.sleep(1.0)  # every node has swept the ringing call at least once
        await restart(own_redis, cluster)
        for peer in (mentor, mentee):
            assert await of_call(peer, "call:ended", call_id, within=RING_SECONDS + 10) == {
                "call_id": call_id,
                "reason": "missed",
            }
        (record,) = await calls_of(pair.api, pair.mentor.token)
        assert (record["id"], record["outcome"]) == (call_id, "missed")
        # The lines were freed: the two can call again.
        again = await invite(mentee, pair.mentor)
        assert await of_call(mentor, "call:incoming", again)
    finally:
        await pair.close()


async def test_a_member_in_their_grace_period_keeps_their_place_through_a_redis_restart(
    patient_cluster: Cluster, own_redis: PrivateRedis
) -> None:
    cluster = patient_cluster
    cohort = cluster.cohort
    a, b = (node.base + "/" for node in cluster.nodes)
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, a)
    pip = cohort.participants[0]
    dropping, _ = await cohort.enter(pip, b)
    assert (await fac.call("room:admit", {**room, "user_id": pip.user_id}))["ok"] is True
    await dropping.next("room:admitted")
    await dropping.close()  # Pip's network drops
    dropped = await fac.next("room:participant_updated")
    assert (dropped["participant"]["user_id"], dropped["participant"]["connected"]) == (pip.user_id, False)
    await asyncio.sleep(1.0)  # every node's copy of the room has seen it

    await restart(own_redis, cluster)
    back = Peer("pip-back")
    await back.connect(b, pip.token)
    cohort.peers.append(back)
    ack = await back.call("room:join", room)
    assert ack["ok"] is True, ack
    assert ack["status"] == "joined"  # the place was kept: no second trip through the lobby
    assert [e for e, data in fac.log if e == "room:participant_left" and data["user_id"] == pip.user_id] == []
