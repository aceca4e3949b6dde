"""``haven serve --workers 2``: two server processes on one port (SO_REUSEPORT) under a parent that keeps them
running; each is a node of its own in the deployment's Redis, so a room spans them as it spans machines."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio

from tests.cluster.conftest import PRESENCE_TTL_SECONDS, SIGTERM_DEADLINE, SWEEP_SECONDS
from tests.realtime.conftest import Cohort, Person, make_cohort
from tests.support.api import Api
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, HAVEN, clean_env, create_admin, haven, http
from tests.support.realtime import Peer
from tests.support.services import free_port

# Two interpreters importing Haven at once on a loaded two-core machine take a few seconds each.
START_BOUND = 45.0


@dataclass
class Workers:
    """A running ``haven serve --workers 2`` and what the test reads it through."""

    parent: subprocess.Popen[str]
    port: int
    redis: redis.asyncio.Redis
    prefix: str
    log: Path
    seen: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def pids(self) -> set[int]:
        """The parent's children: the workers (their forwarder processes are their own children)."""
        with open(f"/proc/{self.parent.pid}/task/{self.parent.pid}/children") as children:
            pids = {int(pid) for pid in children.read().split()}
        self.seen.update(pids)
        return pids

    async def live_nodes(self) -> set[str]:
        """The nodes heartbeating in Redis now, as every node's sweeper sees them."""
        since = time.time() - PRESENCE_TTL_SECONDS
        return {node.decode() for node in await self.redis.zrangebyscore(f"{self.prefix}nodes", since, "+inf")}

    async def node_of(self, peer: Peer) -> str:
        """The node that holds this connection, as presence records it."""
        node = await self.redis.hget(f"{self.prefix}conn:{peer.sid}", "node")
        assert node is not None
        return str(node.decode())

    async def wait_for_nodes(self, count: int, besides: frozenset[str] = frozenset()) -> set[str]:
        deadline = time.monotonic() + START_BOUND
        while time.monotonic() < deadline:
            assert self.parent.poll() is None, self.log.read_text()
            nodes = await self.live_nodes()
            if len(nodes - besides) >= count:
                return nodes
            await asyncio.sleep(SWEEP_SECONDS)
        raise TimeoutError(f"{count} new nodes did not heartbeat: {self.log.read_text()}")


@pytest.fixture
async def workers(tmp_path: Path, cluster_database: str, redis_server_url: str) -> AsyncIterator[Workers]:
    prefix = f"haven-test-{secrets.token_hex(4)}:"
    env = clean_env(
        HAVEN_DATABASE_URL=cluster_database,
        HAVEN_REDIS_URL=redis_server_url,
        HAVEN_REDIS_PREFIX=prefix,
        HAVEN_JWT_SECRET="workers-secret-" + "w" * 40,
        HAVEN_PRESENCE_TTL_SECONDS=str(PRESENCE_TTL_SECONDS),
        HAVEN_SWEEP_MS=str(int(SWEEP_SECONDS * 1000)),
        HAVEN_LOG_LEVEL="info",
    )
    create_admin(tmp_path, env)
    port = free_port()
    log = tmp_path / "serve.log"
    parent = _serve(tmp_path, env, port, log)
    client = redis.asyncio.Redis.from_url(redis_server_url)
    made = Workers(parent, port, client, prefix, log)
    try:
        await made.wait_for_nodes(2)
        made.pids()
        yield made
    finally:
        if parent.poll() is None:
            made.pids()
            parent.kill()
            parent.wait()
        # Workers whose parent is gone drain and stop by themselves (their pipe from it closes); a test that failed
        # halfway must not leave them serving all the same.
        deadline = time.monotonic() + SIGTERM_DEADLINE
        while not all(_gone(pid) for pid in made.seen) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        _kill_workers_left(made.seen)
        await client.aclose()


def _serve(cwd: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as stderr:
        return subprocess.Popen(
            [HAVEN, "serve", "--workers", "2", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )


def _kill_workers_left(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            if not _gone(pid) and b"--worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def _gone(pid: int) -> bool:
    """Whether the process has exited and been reaped. Not whether it is a zombie: the leader of a killed process
    turns zombie while its other threads may still hold its files, and so its listening socket."""
    return not Path(f"/proc/{pid}").exists()


async def _cohort(workers: Workers) -> tuple[Cohort, aiohttp.ClientSession]:
    session = aiohttp.ClientSession(base_url=workers.url)
    api = Api(session)
    admin = await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return await make_cohort(api, admin, workers.url), session


async def _connect_elsewhere(workers: Workers, cohort: Cohort, person: Person, node: str) -> tuple[Peer, set[str]]:
    """A connection of ``person`` that the kernel gave to a worker other than ``node``, and every node the
    attempts landed on. Misses are closed again, so the per-account connection cap is never reached."""
    seen = set()
    for _ in range(24):  # each attempt lands on the other worker about half the time
        peer = await cohort.connect(person)
        landed = await workers.node_of(peer)
        seen.add(landed)
        if landed != node:
            return peer, seen
        await peer.close()
    raise AssertionError(f"24 connections all landed on {node}")


async def test_two_workers_serve_one_port_as_two_nodes_and_outlive_a_killed_one(workers: Workers) -> None:
    """Both workers take connections, as separate nodes of one room; a killed worker is replaced by a new node while
    the other serves on; SIGTERM to the parent drains and stops them all."""
    nodes = await workers.live_nodes()
    assert len(nodes) == 2
    # The workers' node ids say which worker each is, and are new at every start.
    assert sorted(re.search(r"-w(\d+)-", node).group(1) for node in nodes) == ["0", "1"]  # type: ignore[union-attr]
    before = workers.pids()
    assert len(before) == 2
    cohort, session = await _cohort(workers)
    try:
        fac, ack = await cohort.enter(cohort.facilitator)
        assert ack["status"] == "joined"
        first = await workers.node_of(fac)
        co, seen = await _connect_elsewhere(workers, cohort, cohort.co_facilitator, first)
        assert seen | {first} == nodes

        # Two members on different workers see each other join: the room crosses processes through Redis.
        joined = await co.call("room:join", {"room_id": cohort.group_id})
        assert joined["status"] == "joined"
        everyone = {cohort.facilitator.user_id, cohort.co_facilitator.user_id}
        assert {p["user_id"] for p in joined["room"]["participants"]} == everyone
        announced = await fac.next("room:participant_joined")
        assert announced["participant"]["user_id"] == cohort.co_facilitator.user_id

        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        while not _gone(victim):
            await asyncio.sleep(0.01)
        # The other worker goes on answering on the port while the parent starts a replacement.
        for _ in range(5):
            assert http("GET", workers.url + "healthz")[0] == 200
        # The replacement is a new node: the dead worker's connections must expire, not be kept alive by it.
        await workers.wait_for_nodes(1, besides=frozenset(nodes))
        after = workers.pids()
        assert len(after) == 2
        assert victim not in after
        assert "a worker died; starting it again" in workers.log.read_text()
        for person in cohort.participants:
            await cohort.connect(person)
        assert http("GET", workers.url + "readyz")[0] == 200

        started = time.monotonic()
        workers.parent.send_signal(signal.SIGTERM)
        async with asyncio.timeout(SIGTERM_DEADLINE):
            while workers.parent.poll() is None:
                await asyncio.sleep(0.05)
        assert workers.parent.returncode == 0, workers.log.read_text()
        assert time.monotonic() - started < SIGTERM_DEADLINE
        async with asyncio.timeout(5):  # every worker closed its connections as it drained
            while any(peer.client.connected for peer in cohort.peers):
                await asyncio.sleep(0.05)
        assert all(_gone(pid) for pid in after)
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", workers.port), timeout=1):
            pass
    finally:
        for peer in cohort.peers:
            await peer.close()
        await session.close()


def test_workers_that_cannot_listen_make_the_parent_exit_1(tmp_path: Path) -> None:
    # Nothing is connected to before listening, so addresses nobody answers on do here.
    env = clean_env(
        HAVEN_DATABASE_URL="postgresql+asyncpg://haven@127.0.0.1:1/haven",
        HAVEN_REDIS_URL="redis://127.0.0.1:1/0",
        HAVEN_JWT_SECRET="workers-secret-" + "w" * 40,
        HAVEN_MEDIA_WORKERS="0",
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = haven("serve", "--workers", "2", "--port", str(port), cwd=tmp_path, env=env, timeout=90)
    assert result.returncode == 1, result.stderr
    assert "cannot listen" in result.stderr
    assert "the workers could not all start" in result.stderr


def test_several_workers_without_redis_are_refused(tmp_path: Path) -> None:
    result = haven("serve", "--workers", "2", cwd=tmp_path, env=clean_env(), timeout=60)
    assert result.returncode == 2
    assert "haven: configuration error: --workers 2 (HAVEN_WORKERS) needs HAVEN_REDIS_URL" in result.stderr
