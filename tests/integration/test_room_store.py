"""The room-state store: one suite against the memory store and against Redis (a real, private server).

Each Redis test has a key prefix of its own and deletes only its own keys afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from signaling.room_store import Document, MemoryRoomStore, RedisRoomStore, StoreConflict, StoreUnavailable
from tests.conftest import run_apart
from tests.support.services import PrivateRedis

Store = MemoryRoomStore | RedisRoomStore
Nodes = Callable[[], Store]


async def delete_prefixed(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    """Makes the store of one more node over the same state: the same store in memory, a new client in Redis."""
    if request.param == "memory":
        store = MemoryRoomStore()
        yield lambda: store
        return
    url: str = request.getfixturevalue("redis_server_url")
    prefix = f"haven-test:{uuid4().hex}:"
    clients: list[redis.asyncio.Redis] = []

    def node() -> Store:
        # Alternate decoded and raw replies: the app's client is raw, and the store must not care.
        clients.append(redis.asyncio.Redis.from_url(url, decode_responses=len(clients) % 2 == 1))
        return RedisRoomStore(clients[-1], prefix=prefix)

    yield node
    for client in clients:
        await client.aclose()
    await delete_prefixed(url, prefix)


@pytest.fixture
def store(nodes: Nodes) -> Store:
    return nodes()


def put(document: Document | None) -> Callable[[Document | None], tuple[Document | None, None]]:
    return lambda _current: (document, None)


def increment(current: Document | None) -> tuple[Document, int]:
    count = 1 if current is None else current["counter"] + 1
    return {"counter": count}, count


async def test_a_document_is_created_read_updated_and_deleted(store: Store) -> None:
    assert await store.read("room-1") is None
    assert await store.update("room-1", increment) == 1
    assert await store.read("room-1") == {"counter": 1}
    assert await store.update("room-1", increment) == 2
    assert await store.read("room-1") == {"counter": 2}

    assert await store.update("room-1", lambda current: (None, current)) == {"counter": 2}
    assert await store.read("room-1") is None
    assert await store.version("room-1") == 0


async def test_returning_the_given_document_writes_nothing(store: Store) -> None:
    await store.update("room-1", put({"locked": False}))
    version = await store.version("room-1")

    assert await store.update("room-1", lambda current: (current, "unchanged")) == "unchanged"
    # Identity is the test, not equality: a document changed in place and handed back is not written either.
    assert await store.update("room-1", lambda current: (_lock_in_place(current), "in place")) == "in place"

    assert await store.version("room-1") == version
    assert await store.read("room-1") == {"locked": False}
    assert await store.update("room-2", lambda current: (current, "still absent")) == "still absent"
    assert await store.room_ids() == ["room-1"]


def _lock_in_place(current: Document | None) -> Document | None:
    assert current is not None
    current["locked"] = True
    return current


async def test_a_deleted_and_recreated_room_never_reuses_a_version(store: Store) -> None:
    await store.update("room-1", put({"n": 1}))
    first = await store.version("room-1")
    await store.update("room-1", put(None))
    await store.update("room-1", put({"n": 1}))
    # Otherwise a writer that read the old room could compare-and-set over the new one.
    assert await store.version("room-1") > first > 0


async def test_fifty_concurrent_increments_from_two_nodes_all_land(nodes: Nodes) -> None:
    node_a, node_b = nodes(), nodes()
    calls = 0

    def counted(current: Document | None) -> tuple[Document, int]:
        nonlocal calls
        calls += 1
        return increment(current)

    results = await asyncio.gather(*(node.update("room-1", counted) for node in [node_a, node_b] * 25))

    assert await node_a.read("room-1") == await node_b.read("room-1") == {"counter": 50}
    # Each winning attempt saw a different predecessor: the writes were serialised, none lost or doubled.
    assert sorted(results) == list(range(1, 51))
    assert calls >= 50


async def test_two_hundred_members_joining_at_once_on_two_nodes_do_not_contend(nodes: Nodes) -> None:
    # As a room of 200 fills at once: each change rewrites a document that grows to 200 members.
    node_a, node_b = nodes(), nodes()
    calls = 0

    def join(user: int) -> Callable[[Document | None], tuple[Document, int]]:
        def change(current: Document | None) -> tuple[Document, int]:
            nonlocal calls
            calls += 1
            members = [] if current is None else current["members"]
            member = {"user_id": f"user-{user:03d}", "display_name": "A member", "peer_id": "x" * 20}
            return {"members": [*members, member]}, len(members) + 1

        return change

    places = await asyncio.gather(
        *(node.update("room-1", join(user)) for user, node in enumerate([node_a, node_b] * 100))
    )

    document = await node_a.read("room-1")
    assert document is not None
    assert sorted(m["user_id"] for m in document["members"]) == [f"user-{user:03d}" for user in range(200)]
    assert sorted(places) == list(range(1, 201))
    # Changes through one node are applied in turn, so only the two nodes race: a loser re-runs its changes once or
    # twice, not once for every other writer.
    assert calls < 3 * 200


async def test_a_change_that_fails_fails_only_its_own_update(nodes: Nodes) -> None:
    node_a, node_b = nodes(), nodes()

    def refuse(current: Document | None) -> tuple[Document, int]:
        raise ValueError("The room is full.")

    outcomes = await asyncio.gather(
        *(node.update("room-1", refuse if n == 7 else increment) for n, node in enumerate([node_a, node_b] * 10)),
        return_exceptions=True,
    )

    assert isinstance(outcomes[7], ValueError)
    assert sorted(o for n, o in enumerate(outcomes) if n != 7) == list(range(1, 20))  # type: ignore[type-var]
    assert await node_a.read("room-1") == {"counter": 19}


async def test_every_call_of_change_gets_a_copy_of_its_own(nodes: Nodes) -> None:
    node_a, node_b = nodes(), nodes()
    await node_a.update("room-1", put({"hands": []}))
    given: list[Document] = []  # kept alive, so no two can share an id by reuse

    def raise_hand(user: int) -> Callable[[Document | None], tuple[Document, None]]:
        def change(current: Document | None) -> tuple[Document, None]:
            assert current is not None
            given.append(current)
            current["hands"].append(user)  # in place on purpose: a losing attempt must not leak into the next
            return {"hands": current["hands"]}, None

        return change

    await asyncio.gather(*(node.update("room-1", raise_hand(user)) for user, node in enumerate([node_a, node_b] * 10)))

    document = await node_a.read("room-1")
    assert document is not None
    assert sorted(document["hands"]) == list(range(20))
    assert len({id(current) for current in given}) == len(given)


async def test_room_ids_lists_exactly_the_rooms_with_documents(store: Store) -> None:
    assert await store.room_ids() == []
    for room_id in ("room-a", "room-b", "room-c"):
        await store.update(room_id, put({"room": room_id}))
    await store.update("room-b", put(None))
    await store.update("room-d", put(None))
    assert sorted(await store.room_ids()) == ["room-a", "room-c"]


async def test_callers_cannot_change_the_stored_document_by_mutating_theirs(store: Store) -> None:
    written: Document = {"members": ["ana"], "settings": {"lobby": True}}
    await store.update("room-1", put(written))
    written["members"].append("ben")

    read = await store.read("room-1")
    assert read is not None
    read["members"].append("cy")
    read["settings"]["lobby"] = False

    assert await store.read("room-1") == {"members": ["ana"], "settings": {"lobby": True}}


async def test_a_document_that_is_not_strict_json_is_refused(store: Store) -> None:
    with pytest.raises(TypeError):
        await store.update("room-1", put({"opened": object()}))
    with pytest.raises(ValueError, match="JSON"):
        await store.update("room-1", put({"score": float("nan")}))
    assert await store.read("room-1") is None
    assert await store.room_ids() == []


# -- Redis only: another process writing in between, and Redis going away -------------------------------------


@pytest.fixture
async def redis_prefix(redis_server_url: str) -> AsyncIterator[str]:
    prefix = f"haven-test:{uuid4().hex}:"
    yield prefix
    await delete_prefixed(redis_server_url, prefix)


async def _write_from_another_node(url: str, prefix: str, room_id: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        other = RedisRoomStore(client, prefix=prefix)
        await other.update(
            room_id, lambda current: ({**(current or {}), "other": (current or {}).get("other", 0) + 1}, None)
        )
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_conflicting_write_runs_change_again_on_a_fresh_read(redis_server_url: str, redis_prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_server_url)
    store = RedisRoomStore(client, prefix=redis_prefix)
    await store.update("room-1", put({"counter": 0}))
    given: list[Document] = []

    def change(current: Document | None) -> tuple[Document, int]:
        assert current is not None
        given.append(current)
        if len(given) == 1:
            current["scribbled"] = True
            # Between this attempt's read and its compare-and-set, another node writes (on a loop of its own).
            run_apart(_write_from_another_node(redis_server_url, redis_prefix, "room-1"))
        return {**current, "counter": current["counter"] + 1}, len(given)

    try:
        assert await store.update("room-1", change) == 2
        assert given[1] == {"counter": 0, "other": 1}
        assert given[0] is not given[1]
        assert await store.read("room-1") == {"counter": 1, "other": 1}
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_a_writer_that_always_loses_gets_store_conflict(redis_server_url: str, redis_prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_server_url)
    store = RedisRoomStore(client, prefix=redis_prefix, max_attempts=3)
    calls = 0

    def change(current: Document | None) -> tuple[Document, None]:
        nonlocal calls
        calls += 1
        run_apart(_write_from_another_node(redis_server_url, redis_prefix, "room-1"))
        return {"mine": True}, None

    try:
        with pytest.raises(StoreConflict, match="3 attempts"):
            await store.update("room-1", change)
        assert calls == 3
        assert await store.read("room-1") == {"other": 3}
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_an_update_cancelled_while_it_waits_its_turn_is_never_applied(
    redis_server_url: str, redis_prefix: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_server_url)
    store = RedisRoomStore(client, prefix=redis_prefix)
    try:
        first = asyncio.create_task(store.update("room-1", increment))
        for _ in range(3):
            await asyncio.sleep(0)  # the first is under way, waiting for Redis's reply
        second = asyncio.create_task(store.update("room-1", put({"counter": 100})))
        await asyncio.sleep(0)
        second.cancel()
        assert await first == 1
        with pytest.raises(asyncio.CancelledError):
            await second
        assert await store.read("room-1") == {"counter": 1}
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_store_unavailable_while_redis_is_down_and_working_again_after() -> None:
    server = PrivateRedis()
    server.start()
    # One quick retry instead of the default ten with backoff, so that "down" is found out at once.
    client = redis.asyncio.Redis.from_url(server.url, retry=Retry(NoBackoff(), 1), socket_timeout=2.0)
    store = RedisRoomStore(client, prefix=f"haven-test:{uuid4().hex}:")
    try:
        await store.update("room-1", increment)
        server.stop()
        with pytest.raises(StoreUnavailable):
            await store.read("room-1")
        with pytest.raises(StoreUnavailable):
            await store.update("room-1", increment)
        with pytest.raises(StoreUnavailable):
            await store.room_ids()

        server.start()  # empty: it keeps nothing on disk, and the scripts must be loaded again
        assert await store.read("room-1") is None
        assert await store.update("room-1", increment) == 1
        assert await store.room_ids() == ["room-1"]
    finally:
        await client.aclose()
        server.remove()
