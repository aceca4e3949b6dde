"""The two deployments the chat benchmark compares, each two nodes sharing one PostgreSQL and one Redis.

- ``HavenDeployment``: two ``haven serve`` processes (environment as in ``tests/cluster/conftest.py``), a fresh
  database, the first admin from ``haven user create``, then groups (lobby off) and accounts through the admin
  REST API and tokens from ``POST /api/auth/login``; each room's first seat is a facilitator enrolled as one.
- ``ReferenceDeployment``: two ``node bench/reference/server.mjs`` processes (socket.io 4 + the official Redis
  adapter + node-postgres), a fresh database; its token is the user id itself (it trusts it, no JWT).

Both share the services (PostgreSQL and Redis servers) started once by the bench, each with a database and a
Redis channel/prefix of its own.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from bench.cpu import CpuProbe
from bench.rooms import StderrTail, bounded
from tests.support import databases
from tests.support.api import Api
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, clean_env, create_admin, start_node
from tests.support.services import PrivatePostgres, PrivateRedis, free_port

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
SETUP_CONCURRENCY = 8  # account creations in flight (each costs two argon2 hashes on the nodes' 2 cores)
NODE_START_TIMEOUT = 30.0
HAVEN_MAX_CAPACITY = 200  # the groups table's CHECK (capacity BETWEEN 2 AND 200)


class SetupError(RuntimeError):
    pass


@dataclass
class Seat:
    user_id: str
    token: str
    role: str  # "facilitator" or "participant" on Haven, "member" on the reference peer


@dataclass
class RoomPlan:
    room_id: str
    seats: list[Seat]

    @property
    def conversation(self) -> str:
        return f"room:{self.room_id}"


@dataclass
class Services:
    """The PostgreSQL and Redis servers both deployments use (private ones unless given by environment)."""

    probe: CpuProbe
    postgres: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    server_url: str = ""  # SQLAlchemy URL of the PostgreSQL server (its maintenance database)
    redis_url: str = ""
    databases: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)

    async def start(self) -> None:
        given = os.environ.get("HAVEN_TEST_DATABASE_URL")
        if given:
            self.server_url = given
        else:
            self.postgres = PrivatePostgres()
            await asyncio.to_thread(self.postgres.start)
            self.server_url = self.postgres.url
            pid_file = self.postgres.root / "data" / "postmaster.pid"
            self.probe.add("postgres", int(pid_file.read_text().split()[0]), tree=True)
        given_redis = os.environ.get("HAVEN_TEST_REDIS_URL")
        if given_redis:
            self.redis_url = given_redis
        else:
            self.redis = PrivateRedis()
            await asyncio.to_thread(self.redis.start)
            self.redis_url = self.redis.url
            assert self.redis.process is not None
            self.probe.add("redis", self.redis.process.pid)

    async def fresh_database(self) -> str:
        url = await databases.create_database(self.server_url)
        self.databases.append(url)
        return url

    def fresh_prefix(self, name: str) -> str:
        prefix = f"bench-chat-{name}-{secrets.token_hex(4)}"
        self.prefixes.append(prefix)
        return prefix

    async def stop(self) -> None:
        if self.redis is not None:
            self.redis.remove()
        elif self.redis_url and self.prefixes:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    connection = aioredis.from_url(self.redis_url)
                    for prefix in self.prefixes:
                        async for key in connection.scan_iter(match=prefix + "*"):
                            await connection.delete(key)
                    await connection.aclose()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        else:
            for url in self.databases:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(20):
                        await databases.drop_database(url)


class Deployment(abc.ABC):
    """Two nodes of one server; subclasses start them and make rooms of people."""

    name = ""
    label = ""

    def __init__(self, services: Services, workdir: Path) -> None:
        self.services = services
        self.workdir = workdir
        self.nodes: list[Node] = []
        self.tails: list[StderrTail] = []

    @property
    def node_names(self) -> tuple[str, str]:
        return (f"{self.name}-a", f"{self.name}-b")

    def urls(self) -> list[str]:
        return [node.base for node in self.nodes]

    def python_processes(self) -> dict[str, int]:
        """Node name -> pid of the nodes a Python profiler can record (none for the Node.js reference)."""
        return {}

    def _adopt(self, started: list[Node | BaseException]) -> None:
        for result in started:
            if isinstance(result, Node):
                self.nodes.append(result)
                self.tails.append(StderrTail(result))
        for result in started:
            if isinstance(result, BaseException):
                raise result
        for name, node in zip(self.node_names, self.nodes, strict=True):
            # With its children: a Haven node runs its forwarder in worker processes (HAVEN_MEDIA_WORKERS).
            self.services.probe.add(name, node.process.pid, tree=True)

    @abc.abstractmethod
    async def start(self) -> None:
        """Start this target's two nodes on a fresh database."""

    @abc.abstractmethod
    async def make_rooms(self, tag: str, count: int, size: int) -> list[RoomPlan]:
        """``count`` rooms of ``size`` members, with their accounts and tokens."""

    async def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                await node.stop(within=15)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} stderr (last lines) ---\n" + "\n".join(tail.lines)
            for name, tail in zip(self.node_names, self.tails, strict=False)
        )


class HavenDeployment(Deployment):
    name = "haven"
    label = "Haven"

    def __init__(self, services: Services, workdir: Path) -> None:
        super().__init__(services, workdir)
        self.sessions: list[aiohttp.ClientSession] = []
        self.apis: list[Api] = []
        self.admin = ""
        self.max_room_size = HAVEN_MAX_CAPACITY
        # Give every group a session scheduled now (a one-off), so that joins take the scheduled path.
        self.scheduled = False

    async def start(self) -> None:
        database_url = await self.services.fresh_database()
        env = clean_env(
            HAVEN_DATABASE_URL=database_url,
            HAVEN_REDIS_URL=self.services.redis_url,
            HAVEN_REDIS_PREFIX=self.services.fresh_prefix("haven") + ":",
            HAVEN_JWT_SECRET="bench-secret-" + secrets.token_hex(24),
            HAVEN_LOG_LEVEL="warning",
        )
        await asyncio.to_thread(create_admin, self.workdir, env)
        started = await asyncio.gather(
            *(
                asyncio.to_thread(start_node, self.workdir, {**env, "HAVEN_NODE_ID": f"node-{letter}"})
                for letter in "ab"
            ),
            return_exceptions=True,
        )
        self._adopt(started)
        for node in self.nodes:
            session = aiohttp.ClientSession(base_url=node.base, timeout=aiohttp.ClientTimeout(total=60))
            self.sessions.append(session)
            self.apis.append(Api(session))
        self.admin = await self.apis[0].login(ADMIN_EMAIL, ADMIN_PASSWORD)

    def python_processes(self) -> dict[str, int]:
        return {name: node.process.pid for name, node in zip(self.node_names, self.nodes, strict=False)}

    async def make_rooms(self, tag: str, count: int, size: int) -> list[RoomPlan]:
        """``count`` groups of ``size`` seats (seat 0 a facilitator), capacity ``size + 2`` up to Haven's 200."""
        if size > self.max_room_size:
            raise SetupError(f"Haven's group capacity is at most {self.max_room_size}; asked for {size}")
        capacity = min(size + 2, self.max_room_size)
        api0 = self.apis[0]

        async def make_group(index: int) -> str:
            body = {"name": f"Chat bench {tag} {index:03d}", "capacity": capacity, "lobby_enabled": False}
            status, answer = await api0.call("POST", "/api/groups", self.admin, body)
            if status != 201:
                raise SetupError(f"POST /api/groups: {status} {answer}")
            if self.scheduled:
                now = datetime.now(UTC).replace(microsecond=0)
                window = {
                    "starts_at": (now - timedelta(minutes=5)).isoformat(),
                    "ends_at": (now + timedelta(hours=3)).isoformat(),
                }
                path = f"/api/groups/{answer['id']}/extra-sessions"
                status, made = await api0.call("POST", path, self.admin, window)
                if status != 201:
                    raise SetupError(f"POST {path}: {status} {made}")
            return str(answer["id"])

        group_ids = await bounded(SETUP_CONCURRENCY, [partial(make_group, i) for i in range(count)])
        for found in group_ids:
            if isinstance(found, BaseException):
                raise found

        def make_seat(number: int, email: str, role: str, group_id: str) -> Callable[[], Awaitable[Seat]]:
            async def make() -> Seat:
                api = self.apis[number % len(self.apis)]
                user_id, token = await api.user(self.admin, email, role)
                await api.enrol(self.admin, group_id, user_id, role)
                return Seat(str(user_id), token, role)

            return make

        jobs: list[Callable[[], Awaitable[Seat]]] = []
        for index, group_id in enumerate(group_ids):
            for seat in range(size):
                role = "facilitator" if seat == 0 else "participant"
                email = f"chat-{tag}-{index:03d}-{seat:03d}@example.org"
                jobs.append(make_seat(len(jobs), email, role, str(group_id)))
        seats = await bounded(SETUP_CONCURRENCY, jobs)
        plans = []
        for index, group_id in enumerate(group_ids):
            mine = seats[index * size : (index + 1) * size]
            for made in mine:
                if isinstance(made, BaseException):
                    raise SetupError(f"creating a member of room {index}: {made!r}") from made
            plans.append(RoomPlan(str(group_id), [s for s in mine if isinstance(s, Seat)]))
        return plans

    async def stop(self) -> None:
        for session in self.sessions:
            with contextlib.suppress(Exception):
                await session.close()
        await super().stop()


def postgres_url(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://u@h:p/db`` -> ``postgres://u@h:p/db`` for node-postgres."""
    parsed = make_url(sqlalchemy_url).set(drivername="postgres")
    return parsed.render_as_string(hide_password=False)


def start_reference_node(env: dict[str, str]) -> Node:
    port = free_port()
    node_binary = shutil.which("node")
    if node_binary is None:
        raise SetupError("node (Node.js 20) is not on PATH")
    process = subprocess.Popen(  # noqa: S603 - a fixed command line: node and the bench's own server file
        [node_binary, str(REFERENCE_DIR / "server.mjs")],
        cwd=REFERENCE_DIR,
        env={**env, "PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    node = Node(process, port)
    try:
        node.wait_healthy(NODE_START_TIMEOUT)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return node


def ensure_node_modules() -> None:
    """Install the reference peer's pinned dependencies (``npm ci`` from package-lock.json) if missing."""
    if (REFERENCE_DIR / "node_modules" / "socket.io").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("npm is not on PATH; run `npm ci` in bench/reference")
    done = subprocess.run(  # noqa: S603 - a fixed command line
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=REFERENCE_DIR,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"npm ci in bench/reference failed: {done.stderr[-2000:]}")


class ReferenceDeployment(Deployment):
    name = "reference"
    label = "reference (Node socket.io)"

    def __init__(self, services: Services, workdir: Path) -> None:
        super().__init__(services, workdir)
        self.max_room_size = 10_000

    async def start(self) -> None:
        await asyncio.to_thread(ensure_node_modules)
        database_url = await self.services.fresh_database()
        env = {
            **clean_env(),
            "REDIS_URL": self.services.redis_url,
            "DATABASE_URL": postgres_url(database_url),
            "REDIS_CHANNEL": self.services.fresh_prefix("reference"),
        }
        # One first, so it creates the schema, then the second (the schema step is also under an advisory lock).
        first = await asyncio.to_thread(start_reference_node, env)
        started: list[Node | BaseException] = [first]
        try:
            started.append(await asyncio.to_thread(start_reference_node, env))
        except Exception as exc:
            started.append(exc)
        self._adopt(started)

    async def make_rooms(self, tag: str, count: int, size: int) -> list[RoomPlan]:
        return [
            RoomPlan(
                str(uuid.uuid4()),
                [Seat(f"u-{tag}-{i:03d}-{s:03d}", f"u-{tag}-{i:03d}-{s:03d}", "member") for s in range(size)],
            )
            for i in range(count)
        ]
