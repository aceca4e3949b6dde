"""Two ``haven serve`` processes sharing one PostgreSQL and one Redis: a deployment of two nodes."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.realtime.conftest import Cohort, make_cohort
from tests.realtime.test_calls import Pair, make_pair
from tests.support import databases
from tests.support.api import Api
from tests.support.processes import Node, clean_env, create_admin, start_node
from tests.support.services import PrivatePostgres, PrivateRedis

# Short timers so that faults resolve within a test: grace 2 s, presence 2 s, sweeps every 0.2 s.
GRACE_SECONDS = 2
PRESENCE_TTL_SECONDS = 2
SWEEP_SECONDS = 0.2
# A member of a killed node is announced as left within presence TTL + grace + two sweeps (plus slack).
DEPARTURE_BOUND = PRESENCE_TTL_SECONDS + GRACE_SECONDS + 2 * SWEEP_SECONDS + 3
# A node given SIGTERM closes its connections and exits within this many seconds, Redis up or down.
SIGTERM_DEADLINE = 12


@dataclass
class Cluster:
    env: dict[str, str]
    cwd: Path
    nodes: list[Node]
    session: aiohttp.ClientSession
    cohort: Cohort
    extra: list[Node] = field(default_factory=list)

    def start(self, name: str) -> Node:
        node = start_node(self.cwd, {**self.env, "HAVEN_NODE_ID": name})
        self.extra.append(node)
        return node


async def make_cluster(
    tmp_path: Path, database_url: str, redis_url: str, extra_env: dict[str, str] | None = None
) -> Cluster:
    settings = {
        "HAVEN_DATABASE_URL": database_url,
        "HAVEN_REDIS_URL": redis_url,
        "HAVEN_REDIS_PREFIX": f"haven-test-{secrets.token_hex(4)}:",
        "HAVEN_JWT_SECRET": "cluster-secret-" + "c" * 40,
        "HAVEN_GRACE_SECONDS": str(GRACE_SECONDS),
        "HAVEN_PRESENCE_TTL_SECONDS": str(PRESENCE_TTL_SECONDS),
        "HAVEN_SWEEP_MS": str(int(SWEEP_SECONDS * 1000)),
        "HAVEN_LOG_LEVEL": "warning",
    }
    env = clean_env(**{**settings, **(extra_env or {})})
    create_admin(tmp_path, env)
    nodes = [start_node(tmp_path, {**env, "HAVEN_NODE_ID": name}) for name in ("node-a", "node-b")]
    session = aiohttp.ClientSession(base_url=nodes[0].base)
    api = Api(session)
    admin = await api.login("admin@example.org", "admin-password")
    cohort = await make_cohort(api, admin, nodes[0].base + "/")
    return Cluster(env, tmp_path, nodes, session, cohort)


async def close_cluster(cluster: Cluster) -> None:
    for peer in cluster.cohort.peers:
        await peer.close()
    await cluster.session.close()
    for node in cluster.nodes + cluster.extra:
        if node.process.poll() is None:
            node.process.kill()
            node.process.wait()


@pytest.fixture
async def cluster_database(postgres_server_url: str) -> AsyncIterator[str]:
    url = await databases.create_database(postgres_server_url)
    yield url
    await databases.drop_database(url)


@pytest.fixture
async def cluster(tmp_path: Path, cluster_database: str, redis_server_url: str) -> AsyncIterator[Cluster]:
    made = await make_cluster(tmp_path, cluster_database, redis_server_url)
    yield made
    await close_cluster(made)


@pytest.fixture
async def own_redis() -> AsyncIterator[PrivateRedis]:
    """A Redis of this test's own, which it may stop and start again."""
    server = PrivateRedis()
    server.start()
    yield server
    server.remove()


@pytest.fixture
async def cluster_own_redis(tmp_path: Path, cluster_database: str, own_redis: PrivateRedis) -> AsyncIterator[Cluster]:
    made = await make_cluster(tmp_path, cluster_database, own_redis.url)
    yield made
    await close_cluster(made)


@pytest.fixture
async def own_postgres() -> AsyncIterator[PrivatePostgres]:
    """A PostgreSQL of this test's own, which it may halt and resume (durable, so a halt loses no commit)."""
    server = PrivatePostgres(durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def cluster_own_postgres(
    tmp_path: Path, own_postgres: PrivatePostgres, redis_server_url: str
) -> AsyncIterator[Cluster]:
    url = await databases.create_database(own_postgres.url)
    made = await make_cluster(tmp_path, url, redis_server_url)
    yield made
    await close_cluster(made)


def urls(cluster: Cluster) -> tuple[str, str]:
    """The two nodes' base URLs, as clients name a server."""
    return cluster.nodes[0].base + "/", cluster.nodes[1].base + "/"


@pytest.fixture
async def calls(cluster: Cluster) -> AsyncIterator[Pair]:
    """A mentor and mentee paired on the cluster (their clients connect to node A unless told otherwise)."""
    made = await make_pair(cluster.cohort.api, cluster.cohort.admin, urls(cluster)[0], tag="call-")
    yield made
    await made.close()
