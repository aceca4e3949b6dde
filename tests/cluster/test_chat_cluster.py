"""Chat across two nodes: no gaps or duplicates under concurrent senders, nothing acknowledged is lost when
Redis dies mid-burst, and no false acknowledgement while PostgreSQL is down."""

from __future__ import annotations

import asyncio
import itertools

from tests.cluster.conftest import Cluster
from tests.realtime.conftest import Cohort, make_cohort
from tests.support.realtime import Peer


async def crowd_in_room(cluster: Cluster, participants: int) -> tuple[Cohort, list[Peer]]:
    a, b = cluster.nodes[0].base + "/", cluster.nodes[1].base + "/"
    crowd = await make_cohort(
        cluster.cohort.api,
        cluster.cohort.admin,
        a,
        participants=participants,
        tag="chat-",
        capacity=20,
        lobby_enabled=False,
    )
    await crowd.enter(crowd.facilitator, a)
    peers = []
    for n, person in enumerate(crowd.participants):
        peer, ack = await crowd.enter(person, a if n % 2 else b)
        assert ack["status"] == "joined"
        peers.append(peer)
    return crowd, peers


async def history(peer: Peer, name: str) -> list[dict]:  # type: ignore[type-arg]
    messages: list[dict] = []  # type: ignore[type-arg]
    after = 0
    while True:
        page = await peer.call("chat:history", {"conversation": name, "after_seq": after, "limit": 200})
        assert page["ok"], page
        if not page["messages"]:
            return messages
        messages += page["messages"]
        after = page["messages"][-1]["seq"]


async def test_concurrent_senders_on_both_nodes_get_gapless_sequence_numbers(cluster: Cluster) -> None:
    crowd, peers = await crowd_in_room(cluster, participants=8)
    name = f"room:{crowd.group_id}"
    try:
        sends = [
            peer.call("chat:send", {"conversation": name, "body": f"{n}-{k}", "client_id": f"{n}-{k}"})
            for n, peer in enumerate(peers)
            for k in range(8)
        ]
        acks = await asyncio.gather(*sends)
        assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
        seqs = sorted(ack["message"]["seq"] for ack in acks)
        assert seqs == list(range(1, len(sends) + 1))
        stored = await history(peers[0], name)
        assert [m["seq"] for m in stored] == seqs
        assert {m["id"] for m in stored} == {ack["message"]["id"] for ack in acks}
    finally:
        for peer in crowd.peers:
            await peer.close()


async def test_every_acknowledged_message_survives_a_redis_restart_mid_burst(
    cluster_own_redis: Cluster, own_redis
) -> None:  # type: ignore[no-untyped-def]
    crowd, peers = await crowd_in_room(cluster_own_redis, participants=6)
    name = f"room:{crowd.group_id}"
    acked: dict[str, int] = {}
    counter = itertools.count()

    async def sender(peer: Peer, n: int) -> None:
        for _ in range(16):
            k = next(counter)
            try:
                ack = await peer.call(
                    "chat:send", {"conversation": name, "body": f"burst {k}", "client_id": f"b{n}-{k}"}
                )
            except Exception:  # noqa: S112 - a request lost with its connection is not acknowledged
                continue
            if ack.get("ok"):
                acked[ack["message"]["id"]] = ack["message"]["seq"]
            await asyncio.sleep(0.25)

    try:
        burst = asyncio.gather(*(sender(peer, n) for n, peer in enumerate(peers)))
        await asyncio.sleep(1.0)
        own_redis.stop()
        await asyncio.sleep(1.5)
        own_redis.start()
        await burst
        assert len(acked) > 40
        # Every member, catching up through history, sees every acknowledged message exactly once, in order.
        for peer in peers:
            stored = await history(peer, name)
            seqs = [m["seq"] for m in stored]
            assert seqs == sorted(set(seqs))
            assert seqs == list(range(1, len(seqs) + 1))
            by_id = {m["id"]: m["seq"] for m in stored}
            assert {i: by_id.get(i) for i in acked} == acked
    finally:
        for peer in crowd.peers:
            await peer.close()


async def test_no_false_acknowledgement_while_postgresql_is_down(cluster_own_postgres: Cluster, own_postgres) -> None:  # type: ignore[no-untyped-def]
    crowd, peers = await crowd_in_room(cluster_own_postgres, participants=2)
    name = f"room:{crowd.group_id}"
    try:
        first = await peers[0].call("chat:send", {"conversation": name, "body": "before", "client_id": "p1"})
        assert first["message"]["seq"] == 1
        own_postgres.halt()
        during = await peers[1].call("chat:send", {"conversation": name, "body": "during", "client_id": "p2"})
        assert during["ok"] is False
        assert during["error"]["code"] == "unavailable"
        own_postgres.resume()
        async with asyncio.timeout(20):
            while True:
                again = await peers[1].call("chat:send", {"conversation": name, "body": "during", "client_id": "p2"})
                if again["ok"]:
                    break
                await asyncio.sleep(0.5)
        assert again["message"]["seq"] == 2
        assert [m["body"] for m in await history(peers[0], name)] == ["before", "during"]
    finally:
        for peer in crowd.peers:
            await peer.close()
