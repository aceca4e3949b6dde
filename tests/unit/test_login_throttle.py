"""The sign-in throttle: one suite against the memory throttle and against Redis (a real, private server).

Time is passed in, so the window is crossed without waiting. Each Redis test has a key prefix of its own and
deletes only its own keys afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from server.login_throttle import PENDING_SECONDS, PENDING_WAIT_SECONDS, MemoryLoginThrottle
from server.login_throttle_redis import RedisLoginThrottle
from tests.support.services import free_port

Throttle = MemoryLoginThrottle | RedisLoginThrottle
# Makes the throttle of one more node over the same counts: the same object in memory, a new client in Redis.
Nodes = Callable[[int, float], Throttle]
KEYS = ["account:a", "address:1"]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    if request.param == "memory":
        made: dict[tuple[int, float], MemoryLoginThrottle] = {}

        def memory_node(max_failures: int, window: float) -> Throttle:
            return made.setdefault((max_failures, window), MemoryLoginThrottle(max_failures, window))

        yield memory_node
        return
    url: str = request.getfixturevalue("redis_server_url")
    prefix = f"haven-test:{uuid4().hex}:"
    clients: list[redis.asyncio.Redis] = []

    def redis_node(max_failures: int, window: float) -> Throttle:
        clients.append(redis.asyncio.Redis.from_url(url))
        return RedisLoginThrottle(clients[-1], prefix, max_failures=max_failures, window_seconds=window)

    yield redis_node
    keys = [key async for key in clients[0].scan_iter(match=f"{prefix}*")] if clients else []
    if keys:
        await clients[0].delete(*keys)
    for client in clients:
        await client.aclose()


async def fail(throttle: Throttle, keys: list[str], now: float) -> None:
    attempt = uuid4().hex
    assert await throttle.reserve(keys, attempt, now) == 0
    await throttle.settle(keys, attempt, failed=True)


async def test_blocks_after_the_limit_and_forgets_after_the_window(nodes: Nodes) -> None:
    throttle = nodes(3, 60)
    for second in range(3):
        await fail(throttle, KEYS, second)
    assert await throttle.reserve(KEYS, "next", 3) == 57  # the first failure leaves the window at 60
    assert await throttle.reserve(["address:1"], "next", 30.5) == 30  # the same address trying another account
    assert await throttle.reserve(["account:b", "address:2"], "other", 3) == 0
    assert await throttle.reserve(KEYS, "later", 60) == 0


async def test_a_refused_attempt_is_not_counted(nodes: Nodes) -> None:
    throttle = nodes(2, 60)
    await fail(throttle, KEYS, 0)
    await fail(throttle, KEYS, 10)
    for second in range(20, 40):
        assert await throttle.reserve(KEYS, f"refused-{second}", second) > 0
    # Only the two failures count: the block ends when the first leaves the window, not later.
    assert await throttle.reserve(KEYS, "after", 60) == 0


async def test_concurrent_attempts_are_counted_before_they_are_checked(nodes: Nodes) -> None:
    throttle = nodes(3, 60)
    waits = await asyncio.gather(*(throttle.reserve(KEYS, f"guess-{n}", 5) for n in range(10)))
    assert sorted(waits) == [0, 0, 0] + [PENDING_WAIT_SECONDS] * 7


async def test_a_success_clears_the_account_but_not_the_address(nodes: Nodes) -> None:
    throttle = nodes(3, 60)
    await fail(throttle, KEYS, 0)
    await fail(throttle, KEYS, 1)
    assert await throttle.reserve(KEYS, "right", 2) == 0
    await throttle.clear("account:a")
    await throttle.settle(["address:1"], "right", failed=False)
    # The address keeps its two failures and no more: a third blocks it, while the account has room for three.
    await fail(throttle, ["address:1"], 3)
    assert await throttle.reserve(["address:1"], "blocked", 4) == 56
    for second in range(5, 8):
        await fail(throttle, ["account:a"], second)


async def test_a_reservation_taken_back_frees_its_place(nodes: Nodes) -> None:
    throttle = nodes(2, 60)
    assert await throttle.reserve(KEYS, "one", 0) == 0
    assert await throttle.reserve(KEYS, "two", 0) == 0
    assert await throttle.reserve(KEYS, "three", 0) == PENDING_WAIT_SECONDS
    await throttle.settle(KEYS, "two", failed=False)
    assert await throttle.reserve(KEYS, "three", 1) == 0


async def test_a_reservation_never_settled_stops_counting(nodes: Nodes) -> None:
    throttle = nodes(1, 900)
    assert await throttle.reserve(KEYS, "lost", 0) == 0  # its node stopped before settling it
    assert await throttle.reserve(KEYS, "next", PENDING_SECONDS - 1) == PENDING_WAIT_SECONDS
    assert await throttle.reserve(KEYS, "next", PENDING_SECONDS) == 0


async def test_nodes_share_the_counts(nodes: Nodes) -> None:
    first, second = nodes(4, 60), nodes(4, 60)
    for n in range(4):
        await fail(first if n % 2 == 0 else second, KEYS, n)
    assert await first.reserve(KEYS, "fifth", 5) == 55
    assert await second.reserve(KEYS, "fifth", 5) == 55
    await second.clear("account:a")
    assert await first.reserve(["account:a"], "sixth", 6) == 0


@pytest.mark.redis
async def test_redis_counts_expire_with_the_window(redis_server_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_server_url)
    prefix = f"haven-test:{uuid4().hex}:"
    try:
        await fail(RedisLoginThrottle(client, prefix, window_seconds=120), KEYS, 0)
        stored = sorted([key async for key in client.scan_iter(match=f"{prefix}*")])
        assert stored == [f"{prefix}login-failures:account:a".encode(), f"{prefix}login-failures:address:1".encode()]
        for key in stored:
            assert 0 < await client.ttl(key) <= 121
        await client.delete(*stored)
    finally:
        await client.aclose()


async def test_without_redis_each_attempt_is_counted_on_this_node(caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens on this port: every call is refused at once, as when Redis is down.
    client = redis.asyncio.Redis(port=free_port(), socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))
    throttle = RedisLoginThrottle(client, max_failures=2, window_seconds=60)
    try:
        with caplog.at_level(logging.WARNING, logger="haven.auth"):
            await fail(throttle, KEYS, 0)
            await fail(throttle, KEYS, 1)
            assert await throttle.reserve(KEYS, "third", 2) == 58
            await throttle.clear("account:a")
            assert await throttle.reserve(["account:a"], "fourth", 3) == 0
    finally:
        await client.aclose()
    warnings = [record for record in caplog.records if record.name == "haven.auth"]
    assert len(warnings) == 1  # once, not for every attempt
    assert "account:a" not in caplog.text
    assert "address:1" not in caplog.text


async def test_memory_stays_bounded() -> None:
    throttle = MemoryLoginThrottle(max_failures=2, window_seconds=60, max_keys=100)
    for n in range(1000):
        await fail(throttle, [f"address:{n}"], 0)
    assert throttle.keys_held() == 100
