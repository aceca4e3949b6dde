"""Group-room benchmark: join latency and facilitator-mute fan-out latency on two Haven nodes sharing Redis.

Run from the repository root::

    .venv/bin/python -m bench.rooms

It starts a private PostgreSQL and Redis on loopback (or uses ``HAVEN_TEST_DATABASE_URL`` /
``HAVEN_TEST_REDIS_URL``), a fresh database, the first admin through the ``haven`` CLI and two ``haven serve``
nodes; creates 20 groups (capacity 12, lobby off) with 1 facilitator and 9 participants each through the admin
API; then measures

1. join: per client, from starting the Socket.IO connect to the ``room:join`` acknowledgement, all 200 clients,
   at most ``--concurrency`` in flight; facilitators first (node A for even rooms, B for odd), participants
   alternating between the nodes so that every room is split 5/5 across them;
2. idle: server CPU with everyone connected and nothing happening, as a baseline;
3. mute fan-out: ``--rounds`` rounds in which every room's facilitator mutes a different participant's audio, all
   rooms at once; per member, from just before ``room:mute`` is sent to receipt of the matching
   ``room:participant_updated`` (that user, audio false). Between rounds the muted participant turns its audio
   back on with ``room:media`` and the bench waits until every member has seen it.

Server CPU (utime + stime from ``/proc/<pid>/stat``) is read for each node, Redis and PostgreSQL around each
phase. A Markdown summary goes to stdout and the full results (with raw samples) to
``bench/results/rooms-<timestamp>.json``. Every wait is bounded and the run as a whole is capped by
``--time-limit``; servers and processes it started are stopped on the way out.

``--burst`` measures something else, beside the Node.js reference peer (``bench/rooms_burst.py``): 100 rooms x 10
clients all joining at once, the CPU per join, and 1,000 connected clients idle; ``--profile-dir`` records the Haven
nodes with py-spy meanwhile (``bench/profiling.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import redis.asyncio as aioredis
import socketio

from bench import profiling
from bench.cpu import CLOCK_TICKS, CpuProbe, add_into, delta
from bench.runs import bounded_run, write_results
from bench.stats import summarize
from tests.support import databases
from tests.support.api import Api
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, clean_env, create_admin, start_node
from tests.support.services import PrivatePostgres, PrivateRedis

COMMAND = ".venv/bin/python -m bench.rooms"

CONNECT_TIMEOUT = 10.0  # seconds for the Socket.IO connect handshake
CALL_TIMEOUT = 10.0  # seconds for any acknowledgement
DELIVERY_TIMEOUT = 10.0  # seconds for an expected broadcast to reach a member
SETUP_CONCURRENCY = 6  # admin API requests in flight while creating users (argon2 hashing on 2 cores)
ROUND_PAUSE = 0.2  # seconds between mute rounds
IDLE_SECONDS = 3.0
NODE_NAMES = ("node-a", "node-b")

T = TypeVar("T")


class BenchError(RuntimeError):
    pass


@dataclass
class Person:
    user_id: str
    token: str
    email: str
    role: str


@dataclass
class Room:
    index: int
    group_id: str
    facilitator: Person
    participants: list[Person]
    facilitator_client: Client | None = None
    participant_clients: list[Client] = field(default_factory=list)

    @property
    def members(self) -> list[Client]:
        return ([self.facilitator_client] if self.facilitator_client else []) + self.participant_clients


class Client:
    """One Socket.IO connection of one person, recording when expected broadcasts arrive."""

    def __init__(self, person: Person, room: Room, node: Node, node_name: str) -> None:
        self.person = person
        self.room = room
        self.url = node.base
        self.node_name = node_name
        self.sio = socketio.AsyncClient(reconnection=False)
        # (user_id, audio) -> future resolved with the perf_counter() at receipt of that participant_updated.
        self.expected: dict[tuple[str, bool], asyncio.Future[float]] = {}
        self.muted_notice: asyncio.Future[float] | None = None
        self.sio.on("room:participant_updated", handler=self._on_updated)
        self.sio.on("room:muted", handler=self._on_muted)

    def expect(self, user_id: str, audio: bool) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.expected[(user_id, audio)] = future
        return future

    def forget(self, user_id: str, audio: bool) -> None:
        self.expected.pop((user_id, audio), None)

    async def _on_updated(self, data: Any) -> None:
        now = time.perf_counter()
        if not isinstance(data, dict) or data.get("room_id") != self.room.group_id:
            return
        participant = data.get("participant")
        if not isinstance(participant, dict) or not isinstance(participant.get("audio"), bool):
            return
        future = self.expected.pop((str(participant.get("user_id")), participant["audio"]), None)
        if future is not None and not future.done():
            future.set_result(now)

    async def _on_muted(self, data: Any) -> None:
        now = time.perf_counter()
        future = self.muted_notice
        if isinstance(data, dict) and data.get("kind") == "audio" and future is not None and not future.done():
            future.set_result(now)

    async def enter(self) -> float:
        """Connect and join the room; return the seconds from starting the connect to the join ack."""
        started = time.perf_counter()
        async with asyncio.timeout(CONNECT_TIMEOUT + CALL_TIMEOUT + 1):
            await self.sio.connect(
                self.url, auth={"token": self.person.token}, transports=["websocket"], wait_timeout=CONNECT_TIMEOUT
            )
            ack = await self.sio.call("room:join", {"room_id": self.room.group_id}, timeout=CALL_TIMEOUT)
        elapsed = time.perf_counter() - started
        if not (isinstance(ack, dict) and ack.get("ok") is True and ack.get("status") == "joined"):
            raise BenchError(f"room:join not joined: {ack!r}")
        return elapsed

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.sio.call(event, payload, timeout=CALL_TIMEOUT)
        if not (isinstance(ack, dict) and ack.get("ok") is True):
            raise BenchError(f"{event} refused: {ack!r}")
        return ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.sio.disconnect()


@dataclass
class Phase:
    """Wall time and CPU seconds per process, accumulated over one or more stretches."""

    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        nodes = sum(self.cpu_s.get(name, 0.0) for name in NODE_NAMES)
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": {name: round(value, 2) for name, value in self.cpu_s.items()},
            "nodes_cpu_s": round(nodes, 2),
            "nodes_cores_busy": round(nodes / self.wall_s, 3) if self.wall_s else None,
        }


@dataclass
class Samples:
    join: list[float] = field(default_factory=list)
    mute_fanout: list[float] = field(default_factory=list)
    mute_ack: list[float] = field(default_factory=list)
    muted_notice: list[float] = field(default_factory=list)
    unmute_fanout: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing_mute_updates: int = 0
    missing_muted_notices: int = 0
    missing_unmute_updates: int = 0
    mutes_sent: int = 0
    unmutes_sent: int = 0


class StderrTail:
    """Drains a node's stderr pipe (so a chatty node never blocks on a full pipe) and keeps the last lines."""

    def __init__(self, node: Node, lines: int = 50) -> None:
        self.lines: deque[str] = deque(maxlen=lines)
        self.total = 0  # lines seen in all
        stream = node.process.stderr
        self.thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        if stream is not None:
            self.thread.start()

    def _drain(self, stream: Iterable[str]) -> None:
        with contextlib.suppress(Exception):
            for line in stream:
                self.lines.append(line.rstrip())
                self.total += 1


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run the jobs with at most ``limit`` in flight; results (or exceptions) in order."""
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)


class RoomsBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-"))
        self.postgres: PrivatePostgres | None = None
        self.redis: PrivateRedis | None = None
        self.database_url: str | None = None
        self.redis_url = ""
        self.redis_prefix = f"haven-bench-{secrets.token_hex(4)}:"
        self.nodes: list[Node] = []
        self.tails: list[StderrTail] = []
        self.sessions: list[aiohttp.ClientSession] = []
        self.clients: list[Client] = []
        self.rooms: list[Room] = []
        self.probe = CpuProbe()
        self.phases: dict[str, Phase] = {}
        self.samples = Samples()

    # -- servers ---------------------------------------------------------------------------------------------

    async def start_services(self) -> None:
        server_url = os.environ.get("HAVEN_TEST_DATABASE_URL")
        if not server_url:
            self.postgres = PrivatePostgres()
            await asyncio.to_thread(self.postgres.start)
            server_url = self.postgres.url
            pid_file = self.postgres.root / "data" / "postmaster.pid"
            self.probe.add("postgres", int(pid_file.read_text().split()[0]), tree=True)
        self.database_url = await databases.create_database(server_url)
        given_redis = os.environ.get("HAVEN_TEST_REDIS_URL")
        if given_redis:
            self.redis_url = given_redis
        else:
            self.redis = PrivateRedis()
            await asyncio.to_thread(self.redis.start)
            self.redis_url = self.redis.url
            assert self.redis.process is not None
            self.probe.add("redis", self.redis.process.pid)
        self.probe.add("loadgen", os.getpid())

    async def start_nodes(self) -> None:
        assert self.database_url is not None
        env = clean_env(
            HAVEN_DATABASE_URL=self.database_url,
            HAVEN_REDIS_URL=self.redis_url,
            HAVEN_REDIS_PREFIX=self.redis_prefix,
            HAVEN_JWT_SECRET="bench-secret-" + secrets.token_hex(24),
            HAVEN_LOG_LEVEL="warning",
        )
        await asyncio.to_thread(create_admin, self.workdir, env)
        started = await asyncio.gather(
            *(asyncio.to_thread(start_node, self.workdir, {**env, "HAVEN_NODE_ID": name}) for name in NODE_NAMES),
            return_exceptions=True,
        )
        for result in started:
            if isinstance(result, Node):
                self.nodes.append(result)
                self.tails.append(StderrTail(result))
        for result in started:
            if isinstance(result, BaseException):
                raise result
        for name, node in zip(NODE_NAMES, self.nodes, strict=True):
            # With its children: the node runs its forwarder in worker processes (HAVEN_MEDIA_WORKERS).
            self.probe.add(name, node.process.pid, tree=True)

    # -- people ----------------------------------------------------------------------------------------------

    async def create_people(self) -> None:
        """Groups through node A; users created and signed in through both nodes to share the hashing."""
        apis = []
        for node in self.nodes:
            session = aiohttp.ClientSession(base_url=node.base, timeout=aiohttp.ClientTimeout(total=60))
            self.sessions.append(session)
            apis.append(Api(session))
        admin = await apis[0].login(ADMIN_EMAIL, ADMIN_PASSWORD)
        rooms_count, per_room = self.args.rooms, self.args.participants

        async def make_group(index: int) -> str:
            body = {"name": f"Bench room {index:02d}", "capacity": per_room + 3, "lobby_enabled": False}
            status, answer = await apis[0].call("POST", "/api/groups", admin, body)
            if status != 201:
                raise BenchError(f"POST /api/groups: {status} {answer}")
            return str(answer["id"])

        group_ids = await bounded(SETUP_CONCURRENCY, [partial(make_group, i) for i in range(rooms_count)])

        def make_person(number: int, email: str, role: str, group_id: str) -> Callable[[], Awaitable[Person]]:
            async def make() -> Person:
                api = apis[number % len(apis)]
                user_id, token = await api.user(admin, email, role)
                await api.enrol(admin, group_id, user_id, role)
                return Person(user_id, token, email, role)

            return make

        jobs: list[Callable[[], Awaitable[Person]]] = []
        for index, group_id in enumerate(group_ids):
            if isinstance(group_id, BaseException):
                raise group_id
            jobs.append(make_person(len(jobs), f"bench-r{index:02d}-fac@example.org", "facilitator", group_id))
            for seat in range(per_room):
                email = f"bench-r{index:02d}-p{seat}@example.org"
                jobs.append(make_person(len(jobs), email, "participant", group_id))
        people = await bounded(SETUP_CONCURRENCY, jobs)
        for result in people:
            if isinstance(result, BaseException):
                raise result
        stride = per_room + 1
        for index, group_id in enumerate(group_ids):
            assert isinstance(group_id, str)
            mine = [p for p in people[index * stride : (index + 1) * stride] if isinstance(p, Person)]
            self.rooms.append(Room(index, group_id, mine[0], mine[1:]))

    # -- measuring -------------------------------------------------------------------------------------------

    async def timed(self, name: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run ``action``, adding its wall time and per-process CPU to phase ``name``."""
        phase = self.phases.setdefault(name, Phase())
        before, started = self.probe.snapshot(), time.perf_counter()
        try:
            return await action()
        finally:
            phase.wall_s += time.perf_counter() - started
            add_into(phase.cpu_s, delta(before, self.probe.snapshot()))

    def client_for(self, person: Person, room: Room, node_index: int) -> Client:
        client = Client(person, room, self.nodes[node_index], NODE_NAMES[node_index])
        self.clients.append(client)
        return client

    async def enter(self, client: Client) -> None:
        try:
            self.samples.join.append(await client.enter())
        except Exception as exc:
            self.samples.errors.append(f"join {client.person.email} via {client.node_name}: {exc!r}")
            return
        if client.person.role == "facilitator":
            client.room.facilitator_client = client
        else:
            client.room.participant_clients.append(client)

    async def join_all(self) -> None:
        limit = self.args.concurrency
        facilitators = [self.client_for(room.facilitator, room, room.index % 2) for room in self.rooms]
        await bounded(limit, [partial(self.enter, c) for c in facilitators])
        # Participant ``seat`` of room ``index`` goes to node (index + seat + 1) % 2: every room is split 5/5.
        participants = [
            self.client_for(room.participants[seat], room, (room.index + seat + 1) % 2)
            for seat in range(self.args.participants)
            for room in self.rooms
        ]
        await bounded(limit, [partial(self.enter, c) for c in participants])

    async def wait_all(self, futures: list[asyncio.Future[float]]) -> None:
        if futures:
            await asyncio.wait(futures, timeout=DELIVERY_TIMEOUT)

    async def mute_in(self, room: Room, target: Client) -> None:
        assert room.facilitator_client is not None
        members, target_id = room.members, target.person.user_id
        futures = [member.expect(target_id, False) for member in members]
        notice: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        target.muted_notice = notice
        payload = {"room_id": room.group_id, "user_id": target_id, "kind": "audio"}
        self.samples.mutes_sent += 1
        sent = time.perf_counter()
        try:
            await room.facilitator_client.call("room:mute", payload)
            self.samples.mute_ack.append(time.perf_counter() - sent)
            await self.wait_all([*futures, notice])
        except Exception as exc:
            self.samples.errors.append(f"room:mute in room {room.index}: {exc!r}")
        for member, future in zip(members, futures, strict=True):
            if future.done():
                self.samples.mute_fanout.append(future.result() - sent)
            else:
                self.samples.missing_mute_updates += 1
                member.forget(target_id, False)
        if notice.done():
            self.samples.muted_notice.append(notice.result() - sent)
        else:
            self.samples.missing_muted_notices += 1
        target.muted_notice = None

    async def unmute_in(self, room: Room, target: Client) -> None:
        members, target_id = room.members, target.person.user_id
        futures = [member.expect(target_id, True) for member in members]
        self.samples.unmutes_sent += 1
        sent = time.perf_counter()
        try:
            await target.call("room:media", {"room_id": room.group_id, "kind": "audio", "enabled": True})
            await self.wait_all(list(futures))
        except Exception as exc:
            self.samples.errors.append(f"room:media in room {room.index}: {exc!r}")
        for member, future in zip(members, futures, strict=True):
            if future.done():
                self.samples.unmute_fanout.append(future.result() - sent)
            else:
                self.samples.missing_unmute_updates += 1
                member.forget(target_id, True)

    async def mute_rounds(self) -> None:
        rooms = [room for room in self.rooms if room.facilitator_client and room.participant_clients]
        for number in range(self.args.rounds):
            targets = [room.participant_clients[number % len(room.participant_clients)] for room in rooms]
            pairs = list(zip(rooms, targets, strict=True))

            async def mute(pairs: list[tuple[Room, Client]] = pairs) -> None:
                await asyncio.gather(*(self.mute_in(room, target) for room, target in pairs))

            async def unmute(pairs: list[tuple[Room, Client]] = pairs) -> None:
                await asyncio.gather(*(self.unmute_in(room, target) for room, target in pairs))

            await self.timed("mute", mute)
            await self.timed("unmute", unmute)
            await asyncio.sleep(ROUND_PAUSE)

    async def measure(self) -> dict[str, Any]:
        began = time.perf_counter()
        await self.start_services()
        await self.start_nodes()
        setup_started = time.perf_counter()
        await self.timed("setup", self.create_people)
        print(
            f"setup: {len(self.rooms)} rooms, {sum(1 + len(r.participants) for r in self.rooms)} users "
            f"in {time.perf_counter() - setup_started:.1f} s",
            file=sys.stderr,
        )
        await self.timed("join", self.join_all)
        print(f"join: {len(self.samples.join)} clients joined", file=sys.stderr)
        await self.timed("idle", lambda: asyncio.sleep(IDLE_SECONDS))
        await self.timed("mute_phase", self.mute_rounds)
        print(f"mute: {len(self.samples.mute_fanout)} deliveries", file=sys.stderr)
        return self.results(time.perf_counter() - began)

    # -- reporting -------------------------------------------------------------------------------------------

    def results(self, total_s: float) -> dict[str, Any]:
        s = self.samples
        phases = {name: phase.view() for name, phase in self.phases.items()}

        def per_op(phase: str, operations: int) -> dict[str, Any]:
            cpu = self.phases[phase].cpu_s if phase in self.phases else {}
            nodes = sum(cpu.get(name, 0.0) for name in NODE_NAMES)
            if not operations:
                return {"operations": 0, "nodes_cpu_ms_per_op": None}
            return {
                "operations": operations,
                "nodes_cpu_ms_per_op": round(nodes * 1000 / operations, 3),
                **{f"{name}_cpu_ms_per_op": round(cpu.get(name, 0.0) * 1000 / operations, 3) for name in cpu},
            }

        deliveries = len(s.mute_fanout) + len(s.muted_notice)
        return {
            "benchmark": "rooms",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": COMMAND,
            "total_wall_s": round(total_s, 1),
            "config": {
                "rooms": self.args.rooms,
                "participants_per_room": self.args.participants,
                "clients": len(self.clients),
                "rounds": self.args.rounds,
                "join_concurrency": self.args.concurrency,
                "nodes": list(NODE_NAMES),
                "group": {"capacity": self.args.participants + 3, "lobby_enabled": False},
                "placement": "facilitator: node A for even rooms, B for odd; participant seat s of room i: "
                "node (i + s + 1) % 2, so every room has 5 members on each node",
                "timeouts_s": {"connect": CONNECT_TIMEOUT, "call": CALL_TIMEOUT, "delivery": DELIVERY_TIMEOUT},
                "percentiles": "nearest rank",
                "postgres": "private" if self.postgres else "HAVEN_TEST_DATABASE_URL",
                "redis": "private" if self.redis else "HAVEN_TEST_REDIS_URL",
            },
            "machine": machine(),
            "latency_ms": {
                "join": summarize(s.join),
                "mute_fanout": summarize(s.mute_fanout),
                "mute_ack": summarize(s.mute_ack),
                "muted_notice": summarize(s.muted_notice),
                "unmute_fanout": summarize(s.unmute_fanout),
            },
            "counts": {
                "joined": len(s.join),
                "mutes_sent": s.mutes_sent,
                "unmutes_sent": s.unmutes_sent,
                "mute_updates_delivered": len(s.mute_fanout),
                "muted_notices_delivered": len(s.muted_notice),
                "missing_mute_updates": s.missing_mute_updates,
                "missing_muted_notices": s.missing_muted_notices,
                "missing_unmute_updates": s.missing_unmute_updates,
                "errors": len(s.errors),
            },
            "errors": s.errors[:50],
            "cpu": {"clock_ticks_per_s": CLOCK_TICKS, "phases": phases},
            "cpu_per_operation": {
                "join": per_op("join", len(s.join)),
                "mute_command": per_op("mute", len(s.mute_ack)),
                "mute_delivery": per_op("mute", deliveries),
                "unmute_command": per_op("unmute", s.unmutes_sent),
            },
            "idle_nodes_cores_busy": phases.get("idle", {}).get("nodes_cores_busy"),
            "samples_ms": {
                "join": [round(v * 1000, 3) for v in s.join],
                "mute_fanout": [round(v * 1000, 3) for v in s.mute_fanout],
                "mute_ack": [round(v * 1000, 3) for v in s.mute_ack],
                "unmute_fanout": [round(v * 1000, 3) for v in s.unmute_fanout],
            },
        }

    # -- cleaning up -----------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        await bounded(50, [c.close for c in self.clients])
        for session in self.sessions:
            with contextlib.suppress(Exception):
                await session.close()
        for node in self.nodes:
            with contextlib.suppress(Exception):
                await node.stop(within=15)
        if self.redis is not None:
            self.redis.remove()
        elif self.redis_url:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    connection = aioredis.from_url(self.redis_url)
                    async for key in connection.scan_iter(match=self.redis_prefix + "*"):
                        await connection.delete(key)
                    await connection.aclose()
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.stop)
        elif self.database_url is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(20):
                    await databases.drop_database(self.database_url)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def node_logs(self) -> str:
        return "\n".join(
            f"--- {name} stderr (last lines) ---\n" + "\n".join(tail.lines)
            for name, tail in zip(NODE_NAMES, self.tails, strict=False)
        )


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("python-socketio", "python-engineio", "aiohttp", "redis", "asyncpg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "load_generator": "same machine, same cores, one asyncio process",
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    latency, counts = results["latency_ms"], results["counts"]
    rows = [
        ("join: connect + `room:join` ack, per client", "join"),
        ("mute fan-out: `room:mute` sent → `room:participant_updated`, per member", "mute_fanout"),
        ("`room:mute` ack at the facilitator", "mute_ack"),
        ("`room:muted` at the muted participant", "muted_notice"),
        ("self unmute: `room:media` sent → `room:participant_updated`, per member", "unmute_fanout"),
    ]
    lines = [
        f"Haven rooms benchmark, {results['started_at']}: {results['config']['rooms']} rooms x "
        f"{results['config']['participants_per_room'] + 1} clients on 2 nodes, {results['config']['rounds']} mute "
        f"rounds, {results['machine']['cpus']} CPUs shared with the load generator",
        "",
        "| Measure | count | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in rows:
        row = latency[key]
        lines.append(
            f"| {label} | {row['count']} | {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} |"
        )
    lines += [
        "",
        f"Missing: {counts['missing_mute_updates']} mute updates, {counts['missing_muted_notices']} `room:muted`, "
        f"{counts['missing_unmute_updates']} unmute updates; errors: {counts['errors']}.",
        "",
        "| Phase | wall s | node A CPU s | node B CPU s | nodes, cores busy | Redis CPU s | PostgreSQL CPU s | "
        "load generator CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, phase in results["cpu"]["phases"].items():
        cpu = phase["cpu_s"]

        def get(key: str, cpu: dict[str, float] = cpu) -> str:
            return f"{cpu[key]:.2f}" if key in cpu else "-"

        busy = phase["nodes_cores_busy"]
        lines.append(
            f"| {name} | {phase['wall_s']:.2f} | {get('node-a')} | {get('node-b')} | "
            f"{'-' if busy is None else f'{busy:.2f}'} | {get('redis')} | {get('postgres')} | {get('loadgen')} |"
        )
    per_op = results["cpu_per_operation"]
    lines += [
        "",
        "| Operation | count | nodes CPU ms / op | Redis CPU ms / op | PostgreSQL CPU ms / op |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = {
        "join": "join (connect + `room:join`)",
        "mute_command": "`room:mute` command (10 updates + 1 notice)",
        "mute_delivery": "delivered mute event (update or notice)",
        "unmute_command": "`room:media` unmute (10 updates)",
    }
    for key, label in labels.items():
        op = per_op[key]

        def value(name: str, op: dict[str, Any] = op) -> str:
            found = op.get(name)
            return "-" if found is None else f"{found:.2f}"

        lines.append(
            f"| {label} | {op['operations']} | {value('nodes_cpu_ms_per_op')} | {value('redis_cpu_ms_per_op')} | "
            f"{value('postgres_cpu_ms_per_op')} |"
        )
    lines += ["", f"CPU time resolution: 1/{results['cpu']['clock_ticks_per_s']} s per reading."]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = RoomsBench(args)
    results = await bounded_run(bench.measure, bench.cleanup, bench.node_logs, args.time_limit, 60)
    print(markdown(results))
    write_results("rooms", results)
    failed = results["counts"]["errors"] or results["counts"]["missing_mute_updates"]
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rooms", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=None, help="groups, one live room each (default 20; burst 100)")
    parser.add_argument("--participants", type=int, default=9, help="participants per room (default 9, max 47)")
    parser.add_argument("--rounds", type=int, default=10, help="mute rounds (default 10)")
    parser.add_argument("--concurrency", type=int, default=20, help="joins in flight (default 20; not in a burst)")
    parser.add_argument("--time-limit", type=float, default=None, help="cap on the run, s (default 240; burst 600)")
    burst = parser.add_argument_group("join burst (bench/rooms_burst.py), beside the reference peer")
    burst.add_argument("--burst", action="store_true", help="every client joins at once; then idle; per target")
    burst.add_argument("--targets", default="haven,reference", help="comma-separated: haven, reference")
    burst.add_argument("--reps", type=int, default=2, help="bursts per target, alternating targets (default 2)")
    burst.add_argument("--spread", type=float, default=0.0, help="seconds over which the connects start (default 0)")
    burst.add_argument("--idle-seconds", type=float, default=10.0, help="idle window with all connected (default 10)")
    burst.add_argument(
        "--scheduled",
        action="store_true",
        help="Haven's groups have a session scheduled now, so participants' joins read the schedule",
    )
    burst.add_argument(
        "--busy-retries",
        type=int,
        default=4,
        help="sends again after a `busy` refusal, as the protocol says (default 4)",
    )
    profiling.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.rooms is None:
        args.rooms = 100 if args.burst else 20
    if args.time_limit is None:
        args.time_limit = 600.0 if args.burst else 240.0
    if not 1 <= args.rooms <= (200 if args.burst else 100) or not 1 <= args.participants <= 47:
        parser.error("rooms 1-100 (burst: 1-200), participants 1-47")
    if not 1 <= args.rounds <= 100 or not 1 <= args.concurrency <= 200 or not 10 <= args.time_limit <= 1200:
        parser.error("rounds 1-100, concurrency 1-200, time limit 10-1200 s")
    profiling.check_arguments(parser, args)
    if args.burst:
        from bench import rooms_burst  # here: it imports this module (through bench.chat_targets)

        rooms_burst.check_arguments(parser, args)
    elif args.profile_dir is not None:
        parser.error("--profile-dir is for --burst")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.burst:
        from bench import rooms_burst  # here: it imports this module (through bench.chat_targets)

        return asyncio.run(rooms_burst.run(args))
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
