"""One forwarded room across two nodes: its members share one forwarder whichever node they are connected to, and
when the node serving the room's media dies, the room's media moves to the other node and comes back.

Members are aiortc peers (``tests.support.forwarded_member``) at low resolution; the nodes run with
``HAVEN_MESH_LIMIT=0`` so every group room goes through the forwarder.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.cluster.conftest import Cluster, close_cluster, make_cluster, urls
from tests.support.forwarded_member import ForwardedMember
from tests.support.realtime import Peer

# The lease of a dead node's rooms lapses within 8 s and a live node checks every second: the bound is 10 s.
MOVE_BOUND = 10.0
WITHIN = 20.0


@pytest.fixture
async def forwarded_cluster(tmp_path: Path, cluster_database: str, redis_server_url: str) -> AsyncIterator[Cluster]:
    made = await make_cluster(tmp_path, cluster_database, redis_server_url, {"HAVEN_MESH_LIMIT": "0"})
    yield made
    await close_cluster(made)


async def receiving(
    member: ForwardedMember, publishers: list[str], since: dict[tuple[str | None, str], int], audio: bool = True
) -> None:
    """Wait until ``member`` decodes fresh audio (unless ``audio`` is False: a muted publisher) and video of each
    of ``publishers``."""

    def fresh() -> bool:
        frames = member.frames()
        return all(
            frames.get((p, kind), 0) > since.get((p, kind), 0) + need
            for p in publishers
            for kind, need in ((("audio", 10),) if audio else ()) + (("video", 3),)
        )

    await member.wait_until(fresh, WITHIN, f"fresh media from {publishers}")


async def test_members_on_two_nodes_share_a_forwarder_that_moves_when_its_node_dies(
    forwarded_cluster: Cluster, redis_server_url: str
) -> None:
    cluster = forwarded_cluster
    api, admin = cluster.cohort.api, cluster.cohort.admin
    status, group = await api.call(
        "POST", "/api/groups", admin, {"name": "Two nodes", "capacity": 10, "lobby_enabled": False}
    )
    assert status == 201, group
    tag = secrets.token_hex(3)
    people = []
    for role, name in (("facilitator", "Fran"), ("participant", "Ash"), ("participant", "Bo")):
        user_id, token = await api.user(admin, f"{name.lower()}-{tag}@example.org", role, name)
        await api.enrol(admin, group["id"], user_id, role)
        people.append((user_id, token, name))
    node_a, node_b = urls(cluster)
    members: list[ForwardedMember] = []
    try:
        # Fran (a facilitator: participants wait until one is there) enters first, through node A, which therefore
        # serves the room's media; Ash and Bo are on node B.
        for (_, token, name), url in zip(people, (node_a, node_b, node_b), strict=True):
            member = ForwardedMember(name)
            await member.connect(url, token)
            ack = await member.join(group["id"])
            assert ack["status"] == "joined", ack
            members.append(member)
        fran, ash, bo = members
        assert fran.forwarder_id
        assert {m.forwarder_id for m in members} == {fran.forwarder_id}, "one forwarder per room"
        lease = aioredis.from_url(redis_server_url)
        try:
            served_by = await lease.get(f"{cluster.env['HAVEN_REDIS_PREFIX']}media:room:{group['id']}")
        finally:
            await lease.aclose()
        assert served_by is not None
        assert served_by.decode().startswith("node-a "), served_by

        for member in members:
            assert await member.publish() == {"ok": True}
        for member in members:
            await member.wait_negotiated()
        ids = {m.name: m.user_id for m in members}
        await asyncio.gather(
            receiving(fran, [ids["Ash"], ids["Bo"]], {}),
            receiving(bo, [ids["Ash"], ids["Fran"]], {}),
            receiving(ash, [ids["Fran"], ids["Bo"]], {}),
        )

        # A facilitator's mute taken on node B holds at node A's forwarder: Bo gets none of Ash's audio, still video.
        moderator = Peer("Fran on node B")
        await moderator.connect(node_b, people[0][1])
        try:
            muted = await moderator.call("room:mute", {"room_id": group["id"], "user_id": ids["Ash"], "kind": "audio"})
            assert muted == {"ok": True}, muted
        finally:
            await moderator.close()
        await asyncio.sleep(0.5)  # packets already on their way
        before_mute = bo.frames()
        await asyncio.sleep(1.5)
        after_mute = bo.frames()
        assert after_mute.get((ids["Ash"], "audio"), 0) == before_mute.get((ids["Ash"], "audio"), 0)
        assert after_mute.get((ids["Ash"], "video"), 0) > before_mute.get((ids["Ash"], "video"), 0)

        # Node A dies: its lease lapses, node B places the room on itself and tells Ash and Bo where it is now.
        old = fran.forwarder_id
        cluster.nodes[0].process.kill()
        cluster.nodes[0].process.wait()
        killed_at = time.monotonic()
        for member in (ash, bo):
            await member.wait_until(
                lambda m=member: m.forwarder_id not in (None, old), MOVE_BOUND + 2, "room:media naming a new forwarder"
            )
        moved_after = time.monotonic() - killed_at
        assert moved_after <= MOVE_BOUND + 2, moved_after
        before = {m.name: m.frames() for m in (ash, bo)}
        await asyncio.gather(
            receiving(ash, [ids["Bo"]], before["Ash"]), receiving(bo, [ids["Ash"]], before["Bo"], audio=False)
        )
    finally:
        for member in members:
            await member.close()
