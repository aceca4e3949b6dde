"""Presence: one suite against the memory implementation and against Redis (a real, private server).

Several nodes share one backing state: memory instances share one PresenceRecords, Redis instances one server
(a client each). Time is passed in; nothing here waits on the wall clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from uuid import uuid4

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from signaling.presence import Connection, MemoryPresence, Presence, PresenceRecords, RedisPresence
from signaling.room_store import StoreUnavailable
from tests.support.services import PrivateRedis

T0 = 1_700_000_000.0
TTL = 6.0


@dataclass
class Cluster:
    node: Callable[[str], Presence]
    # What the per-connection structures still hold (node liveness aside): empty once every connection is gone.
    residue: Callable[[], Awaitable[set[str]]]
    # Empties the backing state, as a Redis restarted without persistence would be.
    restart_empty: Callable[[], None]


def memory_cluster() -> Cluster:
    records = PresenceRecords()

    async def residue() -> set[str]:
        return {f.name for f in dataclasses.fields(records) if f.name != "heartbeats" and getattr(records, f.name)}

    def restart_empty() -> None:
        for f in dataclasses.fields(records):
            getattr(records, f.name).clear()

    return Cluster(lambda node_id: MemoryPresence(node_id, TTL, records=records), residue, restart_empty)


async def delete_prefixed(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_clients() -> AsyncIterator[list[redis.asyncio.Redis]]:
    clients: list[redis.asyncio.Redis] = []
    yield clients
    for client in clients:
        await client.aclose()


def redis_cluster(url: str, prefix: str, clients: list[redis.asyncio.Redis], server: PrivateRedis | None) -> Cluster:
    def node(node_id: str) -> Presence:
        # One client per node, as separate processes would have. Fewer retries than the default when a server
        # of this test's own is stopped, so that "down" is found out at once.
        retry = Retry(NoBackoff(), 1) if server is not None else None
        options = {"retry": retry} if retry is not None else {}
        clients.append(redis.asyncio.Redis.from_url(url, decode_responses=len(clients) % 2 == 1, **options))
        return RedisPresence(clients[-1], node_id, prefix=prefix, ttl_seconds=TTL)

    async def residue() -> set[str]:
        client = redis.asyncio.Redis.from_url(url, decode_responses=True)
        try:
            keys = {key.removeprefix(prefix) async for key in client.scan_iter(match=f"{prefix}*")}
        finally:
            await client.aclose()
        return {key for key in keys if key != "nodes" and not key.startswith(("node-alive:", "receipt:"))}

    def restart_empty() -> None:
        if server is None:
            raise AssertionError("the shared test Redis is never restarted: use the restartable cluster")
        server.stop()
        server.start()

    return Cluster(node, residue, restart_empty)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def cluster(request: pytest.FixtureRequest, redis_clients: list[redis.asyncio.Redis]) -> AsyncIterator[Cluster]:
    if request.param == "memory":
        yield memory_cluster()
        return
    url: str = request.getfixturevalue("redis_server_url")
    prefix = f"haven-test:{uuid4().hex}:"
    yield redis_cluster(url, prefix, redis_clients, server=None)
    await delete_prefixed(url, prefix)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def restartable_cluster(
    request: pytest.FixtureRequest, redis_clients: list[redis.asyncio.Redis]
) -> AsyncIterator[Cluster]:
    if request.param == "memory":
        yield memory_cluster()
        return
    server = PrivateRedis()
    server.start()
    try:
        yield redis_cluster(server.url, f"haven-test:{uuid4().hex}:", redis_clients, server=server)
    finally:
        server.remove()


def by_sid(connections: Iterable[Connection]) -> list[Connection]:
    return sorted(connections, key=lambda connection: connection.sid)


async def test_a_connection_is_added_moved_between_rooms_and_removed(cluster: Cluster) -> None:
    node = cluster.node("node-a")
    connection = Connection("sid-1", "user-1", "node-a")
    await node.add(connection, T0)
    assert await node.of_user("user-1", T0) == [connection]

    await node.set_room("sid-1", "room-1")
    assert await node.of_user("user-1", T0) == [replace(connection, room_id="room-1")]
    await node.set_room("sid-1", None)
    await node.set_room("sid-1", "room-2")
    await node.set_room("sid-unknown", "room-1")
    assert await node.of_user("user-1", T0) == [replace(connection, room_id="room-2")]

    assert await node.remove("sid-1") == replace(connection, room_id="room-2")
    assert await node.of_user("user-1", T0) == []
    assert await node.remove("sid-1") is None
    await node.set_room("sid-1", "room-1")  # unknown again: must not bring anything back
    assert await node.remove("sid-unknown") is None
    assert await cluster.residue() == set()


async def test_a_user_connected_through_two_nodes_is_seen_from_both(cluster: Cluster) -> None:
    node_a, node_b = cluster.node("node-a"), cluster.node("node-b")
    on_a = Connection("sid-a", "user-1", "node-a", "room-1")
    on_b = Connection("sid-b", "user-1", "node-b")
    await node_a.add(on_a, T0)
    await node_b.add(on_b, T0)
    await node_b.add(Connection("sid-c", "user-2", "node-b"), T0)

    assert by_sid(await node_a.of_user("user-1", T0)) == by_sid(await node_b.of_user("user-1", T0)) == [on_a, on_b]
    assert await node_a.remove("sid-b") == on_b  # any node may remove any connection
    assert await node_b.of_user("user-1", T0) == [on_a]


async def test_a_sid_added_again_leaves_no_trace_of_its_old_user(cluster: Cluster) -> None:
    node = cluster.node("node-a")
    await node.add(Connection("sid-1", "user-1", "node-a"), T0)
    await node.add(Connection("sid-1", "user-2", "node-a", "room-1"), T0)
    assert await node.of_user("user-1", T0) == []
    assert await node.of_user("user-2", T0) == [Connection("sid-1", "user-2", "node-a", "room-1")]
    await node.remove("sid-1")
    assert await cluster.residue() == set()


async def test_a_node_records_only_its_own_connections(cluster: Cluster) -> None:
    node = cluster.node("node-a")
    with pytest.raises(ValueError, match="node-b"):
        await node.add(Connection("sid-1", "user-1", "node-b"), T0)
    with pytest.raises(ValueError, match="node-b"):
        await node.reassert([Connection("sid-1", "user-1", "node-b")], T0)
    assert await node.of_user("user-1", T0) == []


async def test_heartbeats_keep_connections_alive_and_silence_lets_them_expire(cluster: Cluster) -> None:
    node = cluster.node("node-a")
    connection = Connection("sid-1", "user-1", "node-a")
    await node.add(connection, T0)  # alive until T0 + 6
    for beat in (T0 + 5, T0 + 10, T0 + 15):
        await node.heartbeat(beat)
        assert await node.claim_expired(beat + TTL - 0.5) == []
        assert await node.of_user("user-1", beat + TTL - 0.5) == [connection]

    # Silent since T0 + 15: expired at T0 + 21, gone from of_user at once, and then claimed.
    assert await node.of_user("user-1", T0 + 21) == []
    assert await node.claim_expired(T0 + 21) == [connection]
    assert await cluster.residue() == set()


async def test_a_silent_nodes_connections_are_claimed_once_by_another_node(cluster: Cluster) -> None:
    node_a, node_b = cluster.node("node-a"), cluster.node("node-b")
    on_a = [Connection("sid-a1", "user-1", "node-a", "room-1"), Connection("sid-a2", "user-2", "node-a")]
    on_b = Connection("sid-b1", "user-1", "node-b", "room-1")
    for connection in on_a:
        await node_a.add(connection, T0)
    await node_b.add(on_b, T0)
    for beat in (T0, T0 + 2):
        await node_a.heartbeat(beat)
        await node_b.heartbeat(beat)
    for beat in (T0 + 4, T0 + 6, T0 + 8):  # node A was killed after T0 + 2
        await node_b.heartbeat(beat)

    assert await node_b.claim_expired(T0 + 7) == []
    assert by_sid(await node_b.claim_expired(T0 + 8)) == on_a
    assert await node_b.claim_expired(T0 + 9) == []
    assert await node_a.claim_expired(T0 + 9) == []
    assert await node_b.of_user("user-1", T0 + 9) == [on_b]
    assert await node_b.of_user("user-2", T0 + 9) == []

    await node_b.remove("sid-b1")
    assert await cluster.residue() == set()


async def test_racing_sweepers_share_the_expired_connections_without_overlap(cluster: Cluster) -> None:
    silent = cluster.node("node-a")
    # More than two claim batches (500 each), so that the sweepers' batches can interleave.
    everyone = [Connection(f"sid-{n}", f"user-{n % 300}", "node-a") for n in range(1_200)]
    await silent.reassert(everyone, T0)
    sweeper_b, sweeper_c = cluster.node("node-b"), cluster.node("node-c")

    claimed_b, claimed_c = await asyncio.gather(sweeper_b.claim_expired(T0 + TTL), sweeper_c.claim_expired(T0 + TTL))

    assert {c.sid for c in claimed_b}.isdisjoint({c.sid for c in claimed_c})
    assert by_sid(claimed_b + claimed_c) == by_sid(everyone)
    assert await sweeper_b.claim_expired(T0 + TTL + 1) == []
    assert await cluster.residue() == set()


async def test_a_claimed_connection_stays_gone_when_its_node_comes_back(cluster: Cluster) -> None:
    node_a, node_b = cluster.node("node-a"), cluster.node("node-b")
    connection = Connection("sid-1", "user-1", "node-a", "room-1")
    await node_a.add(connection, T0)
    assert await node_b.claim_expired(T0 + 7) == [connection]  # node A froze; B announced the departure

    await node_a.heartbeat(T0 + 8)  # A thaws: its heartbeat must not revive what B already retired
    assert await node_a.of_user("user-1", T0 + 8) == []
    await node_a.reassert([connection], T0 + 8)  # A still holds the socket, so it says so again
    assert await node_b.of_user("user-1", T0 + 9) == [connection]


async def test_reassert_restores_connections_after_the_store_restarted_empty(restartable_cluster: Cluster) -> None:
    node_a, node_b = restartable_cluster.node("node-a"), restartable_cluster.node("node-b")
    local = [Connection("sid-1", "user-1", "node-a", "room-1"), Connection("sid-2", "user-1", "node-a")]
    for connection in local:
        await node_a.add(connection, T0)
    await node_a.heartbeat(T0)

    restartable_cluster.restart_empty()
    assert await node_b.of_user("user-1", T0 + 1) == []
    assert await node_b.live_nodes(T0 + 1) == []

    await node_a.reassert(local, T0 + 1)
    await node_a.heartbeat(T0 + 1)
    assert by_sid(await node_b.of_user("user-1", T0 + 2)) == local
    assert await node_b.live_nodes(T0 + 2) == ["node-a"]
    assert await node_b.claim_expired(T0 + 1 + TTL - 0.5) == []


async def test_live_nodes_lists_heartbeating_nodes_only(cluster: Cluster) -> None:
    node_a, node_b, never = cluster.node("node-a"), cluster.node("node-b"), cluster.node("node-c")
    await never.add(Connection("sid-c", "user-1", "node-c"), T0)  # connections alone do not make a node live
    await node_a.heartbeat(T0)
    await node_b.heartbeat(T0)
    assert sorted(await never.live_nodes(T0 + 1)) == ["node-a", "node-b"]

    await node_b.heartbeat(T0 + 5)
    assert await never.live_nodes(T0 + 6) == ["node-b"]
    await never.claim_expired(T0 + 6)  # a sweep also forgets nodes that are gone
    assert await node_a.live_nodes(T0 + 6) == ["node-b"]
    assert await node_a.live_nodes(T0 + 11) == []


@pytest.mark.redis
async def test_presence_reports_store_unavailable_while_redis_is_down() -> None:
    server = PrivateRedis()
    server.start()
    client = redis.asyncio.Redis.from_url(server.url, retry=Retry(NoBackoff(), 1), socket_timeout=2.0)
    node = RedisPresence(client, "node-a", prefix=f"haven-test:{uuid4().hex}:")
    connection = Connection("sid-1", "user-1", "node-a")
    try:
        await node.add(connection, T0)
        server.stop()
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: node.add(connection, T0),
            lambda: node.set_room("sid-1", "room-1"),
            lambda: node.of_user("user-1", T0),
            lambda: node.heartbeat(T0),
            lambda: node.claim_expired(T0),
            lambda: node.reassert([connection], T0),
            lambda: node.remove("sid-1"),
            lambda: node.live_nodes(T0),
        ]
        for call in calls:
            with pytest.raises(StoreUnavailable):
                await call()
        server.start()
        await node.reassert([connection], T0)
        assert await node.of_user("user-1", T0) == [connection]
    finally:
        await client.aclose()
        server.remove()
