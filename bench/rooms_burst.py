"""Join burst: 1,000 clients (100 rooms x 10) joining at once, Haven beside the Node.js reference peer, same run.

Run from the repository root (``bench/rooms.py`` hands ``--burst`` over to this module)::

    .venv/bin/python -m bench.rooms --burst

It starts one private PostgreSQL and one Redis on loopback (or uses ``HAVEN_TEST_DATABASE_URL`` /
``HAVEN_TEST_REDIS_URL``) and the two deployments of ``bench/chat_targets.py`` on them, each two nodes with a fresh
database: two ``haven serve`` and two ``node bench/reference/server.mjs``. Rooms and accounts are made once per
target (Haven: groups with the lobby off, seat 0 of every room a facilitator; argon2 makes this the slow part) and
reused by every repetition. Repetitions alternate targets (haven, reference, haven, reference, ...). In each:

1. **Burst.** Every client of the target (``--rooms`` x (1 + ``--participants``), 1,000 by default) starts its
   Socket.IO connect at once (``--spread 0``: all launched in the same event-loop turn; ``--spread S`` spreads the
   starts evenly over S seconds), with no limiter but the OS's. Seat s of room i connects to node (i + s) % 2, so
   every room is split 5/5 across the nodes. A facilitator sends ``room:join`` as soon as it is connected; a
   participant, once connected, waits until its room's facilitator has joined (so that it enters the room directly
   rather than Haven's lobby) and then sends ``room:join``. The sample is, per client, the time from starting the
   connect to the ``room:join`` acknowledgement with ``status: "joined"`` (for a participant that includes any wait
   for its facilitator). A connect or a request refused with ``busy`` (Haven's admission control) is made again as
   docs/protocol.md 7.2.1 tells clients to: after ``retry_after_ms`` plus up to half of it again, at most
   ``--busy-retries`` (4) times, within 30 s of the first; the sample still runs from the first connect. A connect
   or an acknowledgement not done within 10 s, a refusal given up on, or any other answer is a failure: counted,
   reported, and the exit status is 1.
   CPU (utime + stime, ``/proc/<pid>/stat``) of each node, PostgreSQL, Redis and this generator is read just
   before the first start and just after the last client finished: CPU per join is that over the clients joined.
2. **Idle.** After the burst's tail has settled (bounded), ``--idle-seconds`` (10) with every client connected and
   silent: the nodes' cores busy.
3. **Leave.** Every client sends ``room:leave`` (so that Haven does not hold its place for the 30 s grace period of
   a dropped connection) and disconnects; the bench then waits (bounded) until the machine is quiet.

With ``--profile-dir DIR`` (and py-spy, see ``bench/profiling.py``) each Haven node is recorded during every burst
and idle window. A Markdown summary goes to stdout and every raw sample to
``bench/results/rooms-burst-<UTC timestamp>.json``. Every wait is bounded, the run is capped by ``--time-limit``,
and everything it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

from bench.chat import log, machine_busy_seconds, node_version
from bench.chat_client import ConnectRefused, RawClient
from bench.chat_targets import REFERENCE_DIR, Deployment, HavenDeployment, ReferenceDeployment, RoomPlan, Services
from bench.cpu import CLOCK_TICKS, CpuProbe, all_processes, busiest_others, children, cpu_seconds, delta
from bench.profiling import Profiler
from bench.rooms import bounded, machine
from bench.runs import REPOSITORY, bounded_run, write_results
from bench.stats import summarize

COMMAND = ".venv/bin/python -m bench.rooms --burst"

CONNECT_TIMEOUT = 10.0  # seconds for the connect handshake (WebSocket + Engine.IO open + Socket.IO CONNECT)
CALL_TIMEOUT = 10.0  # seconds for the room:join (and room:leave) acknowledgement
# Retrying a refusal with ``busy`` as docs/protocol.md (7.2.1) tells clients, like the web client: again after at least
# ``retry_after_ms`` plus a random extra of up to half of it, at most BUSY_SENDS sends in all (``--busy-retries``),
# never later than BUSY_BUDGET seconds after the first.
BUSY_BUDGET = 30.0
BUSY_HINT_DEFAULT_MS = 500  # when a busy refusal carries no usable hint
# A participant's wait for its facilitator: that one's own bound, retries included.
GATE_TIMEOUT = BUSY_BUDGET + CONNECT_TIMEOUT + CALL_TIMEOUT
SEED = 20261203
TAIL_SECONDS = 1.0  # CPU read again this long after the last join, for the work that follows the acks
LEAVE_CONCURRENCY = 200  # room:leave + disconnect in flight after a repetition
SETTLE_SAMPLE = 0.5  # seconds per idleness sample
SETTLE_QUIET_CORES = 0.15  # before a burst: every node, PostgreSQL and Redis together below this
SETTLE_QUIET_MAX = 30.0
SETTLE_OTHERS_MAX = 10.0  # then at most this long more for processes that are not ours to go quiet
SETTLE_TAIL_CORES = 0.3  # after a burst, before the idle window: the target's nodes and PostgreSQL below this
SETTLE_TAIL_MAX = 15.0
DISTURBED_CORES = 0.1  # a window in which other processes used more than this is flagged
NETSTAT_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPReqQFullDrop", "SyncookiesSent", "TCPSynRetrans")


class BenchError(RuntimeError):
    pass


@dataclass(eq=False)
class Entrant:
    """One client of one seat in one room, and when each of its steps happened (seconds after the burst began)."""

    room: int
    seat: int
    plan: RoomPlan
    url: str
    node: int
    client: RawClient | None = None
    started: float | None = None
    connected: float | None = None
    join_sent: float | None = None
    joined: float | None = None
    failure: str | None = None
    busy_connects: int = 0  # connects refused with busy (then made again)
    busy_joins: int = 0  # room:join refused with busy (then sent again)

    @property
    def token(self) -> str:
        return self.plan.seats[self.seat].token

    @property
    def join_s(self) -> float | None:
        if self.joined is None or self.started is None:
            return None
        return self.joined - self.started

    def row(self) -> list[Any]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 2)

        return [
            self.room,
            self.seat,
            self.node,
            ms(self.started),
            ms(self.connected),
            ms(self.join_sent),
            ms(self.joined),
            self.failure,
            self.busy_connects,
            self.busy_joins,
        ]


@dataclass
class Gate:
    """A room's facilitator has joined (``ok``) or failed: participants wait on ``event``."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    ok: bool = False

    def open(self, ok: bool) -> None:
        if not self.event.is_set():
            self.ok = ok
            self.event.set()


def code_state() -> dict[str, Any]:
    """The commit measured, and which server files differed from it (the tree may hold uncommitted work)."""
    git = shutil.which("git")
    if git is None:
        return {}
    found: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(  # noqa: S603 - a fixed command line
            [git, "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, timeout=10, check=False
        )
        found["commit"] = head.stdout.strip()
        status = subprocess.run(  # noqa: S603 - a fixed command line
            [git, "status", "--porcelain", "--", "server", "signaling", "rooms", "media"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        found["uncommitted_server_files"] = [line[3:] for line in status.stdout.splitlines()]
    return found


def refusal(error: Any) -> tuple[str, int | None]:
    """The code and ``retry_after_ms`` of a refusal: an ack's ``error``, or a connect_error's payload (python-socketio
    sends ``{"message", "data": {"code", ...}}``; the reference peer ``{"message", "data"}`` too)."""
    if isinstance(error, dict) and "code" not in error and isinstance(error.get("data"), dict):
        error = error["data"]
    if not isinstance(error, dict):
        return repr(error)[:60], None
    hint = error.get("retry_after_ms")
    return str(error.get("code") or error.get("message") or "?")[:60], hint if isinstance(hint, int) else None


def own_cpu(deployment: Deployment) -> dict[str, float]:
    """CPU seconds of each node's own process, without its children (Haven's forwarder workers)."""
    return {
        name: cpu_seconds(node.process.pid) for name, node in zip(deployment.node_names, deployment.nodes, strict=False)
    }


def netstat() -> dict[str, int]:
    """Kernel TCP counters of interest (this network namespace), from ``/proc/net/netstat``."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        lines = Path("/proc/net/netstat").read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            if names.startswith("TcpExt:"):
                table = dict(zip(names.split()[1:], (int(v) for v in values.split()[1:]), strict=False))
                found = {name: table[name] for name in NETSTAT_COUNTERS if name in table}
    return found


class BurstBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-burst-"))
        self.probe = CpuProbe()
        self.services = Services(self.probe)
        self.deployments: dict[str, Deployment] = {}
        self.plans: dict[str, list[RoomPlan]] = {}
        self.session: aiohttp.ClientSession | None = None
        self.entrants: list[Entrant] = []  # the repetition in progress (closed in clean-up if it fails)
        self.events: Counter[str] = Counter()
        self.runs: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.setup: dict[str, Any] = {}
        self.random = random.Random(SEED)  # noqa: S311 - retry jitter, not a secret
        self.profiler = Profiler.from_args(args)
        if self.profiler.note or self.profiler.enabled:
            self.notes.append(self.profiler.note or self.profiler.caveat())

    # -- servers and accounts ------------------------------------------------------------------------------

    async def start(self) -> None:
        began = time.perf_counter()
        await self.services.start()
        self.probe.add("loadgen", os.getpid())
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        if "haven" in self.args.targets:
            haven = HavenDeployment(self.services, self.workdir)
            haven.scheduled = self.args.scheduled
            self.deployments["haven"] = haven
        if "reference" in self.args.targets:
            self.deployments["reference"] = ReferenceDeployment(self.services, self.workdir)
        await asyncio.gather(*(d.start() for d in self.deployments.values()))
        self.setup["start_s"] = round(time.perf_counter() - began, 1)
        log(f"servers up in {self.setup['start_s']} s: " + ", ".join(self.deployments))
        began = time.perf_counter()
        size = self.args.participants + 1

        async def make(name: str) -> None:
            self.plans[name] = await self.deployments[name].make_rooms("burst", self.args.rooms, size)

        await asyncio.gather(*(make(name) for name in self.deployments))
        self.setup["accounts_s"] = round(time.perf_counter() - began, 1)
        self.setup["accounts"] = {name: sum(len(p.seats) for p in plans) for name, plans in self.plans.items()}
        log(f"rooms and accounts ready in {self.setup['accounts_s']} s: {self.setup['accounts']}")

    # -- one repetition ------------------------------------------------------------------------------------

    def on_event(self, event: str, _data: Any) -> None:
        self.events[event] += 1

    def busy_wait(self, hint_ms: int | None, first: float, sends: int) -> float | None:
        """Seconds to wait before sending again after a ``busy`` refusal, or None when the client gives up."""
        if sends >= self.args.busy_retries + 1:
            return None
        base = (hint_ms if hint_ms and hint_ms > 0 else BUSY_HINT_DEFAULT_MS) / 1000
        wait = base + self.random.uniform(0, base / 2)
        return wait if time.perf_counter() + wait - first <= BUSY_BUDGET else None

    async def connect(self, entrant: Entrant, first: float) -> RawClient:
        """Connect, again after a ``busy`` refusal as the protocol says; raises the last refusal or error."""
        assert self.session is not None
        sends = 0
        while True:
            sends += 1
            client = entrant.client = RawClient(self.session, self.on_event)
            try:
                await client.connect(entrant.url, entrant.token, CONNECT_TIMEOUT)
                return client
            except ConnectRefused as exc:
                code, hint = refusal(exc.data)
                if code != "busy":
                    raise
                entrant.busy_connects += 1
                wait = self.busy_wait(hint, first, sends)
                if wait is None:
                    raise
            await client.close()
            await asyncio.sleep(wait)

    async def call(self, client: RawClient, event: str, payload: dict[str, Any], first: float) -> tuple[Any, int]:
        """Send ``event`` and return its acknowledgement and how many ``busy`` refusals came before it (it is sent
        again, the very same, after each, as the protocol says, until its retries or their time run out)."""
        sends = refused = 0
        while True:
            sends += 1
            ack = await client.call(event, payload, CALL_TIMEOUT)
            code, hint = refusal(ack.get("error") if isinstance(ack, dict) and ack.get("ok") is False else None)
            if code != "busy":
                return ack, refused
            refused += 1
            wait = self.busy_wait(hint, first, sends)
            if wait is None:
                return ack, refused
            await asyncio.sleep(wait)

    async def enter(self, entrant: Entrant, gate: Gate, t0: float, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        first = time.perf_counter()
        entrant.started = first - t0
        try:
            try:
                client = await self.connect(entrant, first)
            except TimeoutError:
                entrant.failure = "connect: no answer within 10 s"
                return
            except ConnectRefused as exc:
                entrant.failure = f"connect refused: {refusal(exc.data)[0]}"
                return
            except Exception as exc:
                entrant.failure = f"connect failed: {type(exc).__name__}"
                return
            entrant.connected = time.perf_counter() - t0
            if entrant.seat != 0:
                try:
                    async with asyncio.timeout(GATE_TIMEOUT):
                        await gate.event.wait()
                except TimeoutError:
                    entrant.failure = "facilitator not joined within its bound"
                    return
                if not gate.ok:
                    entrant.failure = "facilitator failed to join"
                    return
            entrant.join_sent = time.perf_counter() - t0
            try:
                ack, entrant.busy_joins = await self.call(client, "room:join", {"room_id": entrant.plan.room_id}, first)
            except TimeoutError:
                entrant.failure = "room:join: no acknowledgement within 10 s"
                return
            except Exception as exc:
                entrant.failure = f"room:join failed: {type(exc).__name__}"
                return
            now = time.perf_counter() - t0
            if isinstance(ack, dict) and ack.get("ok") is True and ack.get("status") == "joined":
                entrant.joined = now
            elif isinstance(ack, dict) and ack.get("ok") is True:
                entrant.failure = f"room:join status {ack.get('status')!r}"
            else:
                entrant.failure = f"room:join refused: {refusal(ack.get('error') if isinstance(ack, dict) else ack)[0]}"
        finally:
            if entrant.seat == 0:
                gate.open(entrant.joined is not None)

    async def burst(self, name: str, rep: int) -> dict[str, Any]:
        deployment = self.deployments[name]
        urls = deployment.urls()
        plans = self.plans[name]
        entrants = [
            Entrant(index, seat, plan, urls[(index + seat) % 2], (index + seat) % 2)
            for index, plan in enumerate(plans)
            for seat in range(len(plan.seats))
        ]
        self.entrants = entrants
        gates = [Gate() for _ in plans]
        count, spread = len(entrants), self.args.spread
        quiet_before = await self.settle(
            [*self.node_names(), "postgres", "redis"], SETTLE_QUIET_CORES, SETTLE_QUIET_MAX, SETTLE_OTHERS_MAX
        )
        self.events.clear()
        gc.collect()
        bound = spread + GATE_TIMEOUT + BUSY_BUDGET + CALL_TIMEOUT + 5
        label = f"{name}-rep{rep}"
        async with self.profiler.recording(deployment.python_processes(), f"{label}-burst", bound + 5) as recorded:
            net_before = netstat()
            table_before = all_processes()
            own_before = own_cpu(deployment)
            before = self.probe.snapshot()
            machine_before = machine_busy_seconds()
            t0 = time.perf_counter()
            tasks = [
                asyncio.create_task(self.enter(e, gates[e.room], t0, spread * k / count))
                for k, e in enumerate(entrants)
            ]
            done, pending = await asyncio.wait(tasks, timeout=bound)
            wall = time.perf_counter() - t0
            after = self.probe.snapshot()
            own_after = own_cpu(deployment)
            machine_after = machine_busy_seconds()
            net_after = netstat()
            busiest = busiest_others(table_before, all_processes(), self.our_pids(), wall)
            for task in pending:
                task.cancel()
            for entrant, task in zip(entrants, tasks, strict=True):
                if task in pending and entrant.failure is None and entrant.joined is None:
                    entrant.failure = "not finished within the burst's bound"
                elif task in done and task.exception() is not None and entrant.failure is None:
                    entrant.failure = f"client error: {task.exception()!r}"
            await asyncio.sleep(TAIL_SECONDS)
            after_tail = self.probe.snapshot()
        profile = [r.result for r in recorded]
        events_in_burst = dict(self.events)
        cpu = delta(before, after)
        profiler_cpu = sum(float(r.get("py_spy_cpu_s") or 0.0) for r in profile)
        others = max(0.0, machine_after - machine_before - sum(cpu.values()) - profiler_cpu)
        result = self.report(name, rep, entrants, wall, cpu, delta(after, after_tail))
        own = {n: v - own_before[n] for n, v in own_after.items()}
        children_cpu = max(0.0, result["nodes_cpu_s"] - sum(own.values()))
        result.update(
            {
                "node_process_only_cpu_s": {n: round(v, 3) for n, v in own.items()},
                "nodes_children_cpu_s": round(children_cpu, 3),
                "nodes_children_cpu_ms_per_join": round(children_cpu * 1000 / result["joined"], 3)
                if result["joined"]
                else None,
                "quiet_before": quiet_before,
                "other_processes_cores_busy": round(others / wall, 3),
                "other_processes_busiest": busiest,
                "tcp_counters": {k: net_after.get(k, 0) - v for k, v in net_before.items()},
                "events_received_in_burst": events_in_burst,
            }
        )
        if profile:
            result["profile_burst"] = profile
        log(
            f"{name} rep {rep}: {result['joined']}/{count} joined, {result['failed']} failed, join p50 "
            f"{result['join_ms']['p50_ms']} p99 {result['join_ms']['p99_ms']} ms, burst {wall:.2f} s, nodes "
            f"{result['nodes_cpu_ms_per_join']} ms CPU per join, others {result['other_processes_cores_busy']} cores "
            f"{busiest}, "
            f"tcp {result['tcp_counters']}"
        )
        return result

    async def idle(self, name: str, rep: int, connected: int) -> dict[str, Any]:
        deployment = self.deployments[name]
        settled = await self.settle([*deployment.node_names, "postgres"], SETTLE_TAIL_CORES, SETTLE_TAIL_MAX, 0.0)
        seconds = self.args.idle_seconds
        async with self.profiler.recording(
            deployment.python_processes(), f"{name}-rep{rep}-idle", seconds + 5
        ) as recorded:
            table_before = all_processes()
            own_before = own_cpu(deployment)
            before = self.probe.snapshot()
            machine_before = machine_busy_seconds()
            began = time.perf_counter()
            await asyncio.sleep(seconds)
            wall = time.perf_counter() - began
            cpu = delta(before, self.probe.snapshot())
            own = delta(own_before, own_cpu(deployment))
            machine_used = machine_busy_seconds() - machine_before
            busiest = busiest_others(table_before, all_processes(), self.our_pids(), wall)
        profile = [r.result for r in recorded]
        profiler_cpu = sum(float(r.get("py_spy_cpu_s") or 0.0) for r in profile)
        nodes = {n: cpu.get(n, 0.0) for n in deployment.node_names}
        found: dict[str, Any] = {
            "clients_connected": connected,
            "settle_s": settled["settle_s"],
            "wall_s": round(wall, 3),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "nodes_cores_busy": round(sum(nodes.values()) / wall, 4),
            "node_cores_busy": {n: round(v / wall, 4) for n, v in nodes.items()},
            "node_process_only_cores_busy": {n: round(v / wall, 4) for n, v in own.items()},
            "postgres_cores_busy": round(cpu.get("postgres", 0.0) / wall, 4),
            "redis_cores_busy": round(cpu.get("redis", 0.0) / wall, 4),
            "loadgen_cores_busy": round(cpu.get("loadgen", 0.0) / wall, 4),
            "other_processes_cores_busy": round(max(0.0, machine_used - sum(cpu.values()) - profiler_cpu) / wall, 3),
            "other_processes_busiest": busiest,
        }
        if profile:
            found["profile"] = profile
        log(
            f"{name} rep {rep}: idle with {connected} connected: nodes {found['nodes_cores_busy']} cores, others "
            f"{found['other_processes_cores_busy']} {busiest}"
        )
        return found

    async def leave(self) -> dict[str, Any]:
        """``room:leave`` for every joined client, then disconnect every client."""
        failures: Counter[str] = Counter()
        busy = [0]

        async def go(entrant: Entrant) -> None:
            client = entrant.client
            if client is None:
                return
            payload = {"room_id": entrant.plan.room_id}
            if entrant.joined is not None:
                try:
                    ack, refused = await self.call(client, "room:leave", payload, time.perf_counter())
                    busy[0] += refused
                    if not (isinstance(ack, dict) and ack.get("ok") is True):
                        failures[str(refusal(ack.get("error") if isinstance(ack, dict) else ack)[0])[:60]] += 1
                except Exception as exc:
                    failures[type(exc).__name__] += 1
            elif entrant.join_sent is not None:  # not joined (a failure already counted): perhaps in the lobby
                with contextlib.suppress(Exception):
                    await self.call(client, "room:leave", payload, time.perf_counter())
            await client.close()
            entrant.client = None

        began = time.perf_counter()
        await bounded(LEAVE_CONCURRENCY, [partial(go, e) for e in self.entrants])
        self.entrants = []
        return {"seconds": round(time.perf_counter() - began, 2), "failures": dict(failures), "busy_refusals": busy[0]}

    async def one(self, name: str, rep: int) -> None:
        try:
            result = await self.burst(name, rep)
            result["idle"] = await self.idle(name, rep, result["joined"])
        finally:
            left = await self.leave()
        result["leave"] = left
        if left["failures"]:
            log(f"{name} rep {rep}: room:leave failures {left['failures']}")
        self.runs.append(result)
        gc.collect()

    # -- measuring helpers ---------------------------------------------------------------------------------

    def our_pids(self) -> set[int]:
        """The processes the bench started or measures (PostgreSQL's backends included) and its profilers."""
        pids = set(self.probe.pids.values()) | set(self.profiler.pids())
        for name in self.probe.tree:
            pids.update(children(self.probe.pids[name]))
        return pids

    def node_names(self) -> list[str]:
        return [n for d in self.deployments.values() for n in d.node_names]

    async def settle(self, names: list[str], cores: float, most: float, others_most: float) -> dict[str, Any]:
        """Wait (bounded by ``most``) until ``names`` together use fewer than ``cores``; then (bounded by
        ``others_most`` more) until processes that are not ours do too."""
        began = time.perf_counter()
        ours = others = 0.0
        while True:
            first, first_machine = self.probe.snapshot(), machine_busy_seconds()
            await asyncio.sleep(SETTLE_SAMPLE)
            used = delta(first, self.probe.snapshot())
            ours = sum(used.get(n, 0.0) for n in names) / SETTLE_SAMPLE
            others = max(0.0, machine_busy_seconds() - first_machine - sum(used.values())) / SETTLE_SAMPLE
            elapsed = time.perf_counter() - began
            quiet = ours < cores or elapsed > most
            if quiet and (others < cores or others_most <= 0 or elapsed > most + others_most):
                break
        return {
            "settle_s": round(time.perf_counter() - began, 2),
            "ours_cores": round(ours, 3),
            "others_cores": round(others, 3),
        }

    def report(
        self,
        name: str,
        rep: int,
        entrants: list[Entrant],
        wall: float,
        cpu: dict[str, float],
        tail: dict[str, float],
    ) -> dict[str, Any]:
        deployment = self.deployments[name]
        joined = [e for e in entrants if e.joined is not None]
        count = len(joined)
        started = [e.started for e in entrants if e.started is not None]

        def durations(pick: list[Entrant], frm: str, to: str) -> list[float]:
            values = [(getattr(e, to), getattr(e, frm)) for e in pick]
            return [b - a for b, a in values if a is not None and b is not None]

        nodes = {n: cpu.get(n, 0.0) for n in deployment.node_names}
        nodes_cpu = sum(nodes.values())

        def per_join(seconds: float) -> float | None:
            return round(seconds * 1000 / count, 3) if count else None

        return {
            "target": name,
            "rep": rep,
            "rooms": len(self.plans[name]),
            "room_size": self.args.participants + 1,
            "clients": len(entrants),
            "joined": count,
            "failed": len(entrants) - count,
            "failures": dict(Counter(e.failure or "unfinished" for e in entrants if e.joined is None)),
            "busy_connects": sum(e.busy_connects for e in entrants),
            "busy_joins": sum(e.busy_joins for e in entrants),
            "clients_refused_busy": sum(bool(e.busy_connects or e.busy_joins) for e in entrants),
            "spread_s": self.args.spread,
            "launch_spread_ms": round((max(started) - min(started)) * 1000, 1) if started else None,
            "burst_wall_s": round(wall, 3),
            "join_ms": summarize([e.join_s for e in joined if e.join_s is not None]),
            "join_ms_facilitators": summarize([e.join_s for e in joined if e.seat == 0 and e.join_s is not None]),
            "join_ms_participants": summarize([e.join_s for e in joined if e.seat != 0 and e.join_s is not None]),
            "connect_ms": summarize(durations(entrants, "started", "connected")),
            "join_ack_ms": summarize(durations(entrants, "join_sent", "joined")),
            "gate_wait_ms": summarize(durations([e for e in entrants if e.seat != 0], "connected", "join_sent")),
            "since_burst_start_ms": summarize([e.joined for e in joined if e.joined is not None]),
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "tail_cpu_s": {k: round(v, 3) for k, v in tail.items()},
            "tail_s": TAIL_SECONDS,
            "nodes_cpu_s": round(nodes_cpu, 3),
            "nodes_cores_busy": round(nodes_cpu / wall, 3) if wall else None,
            "nodes_cpu_ms_per_join": per_join(nodes_cpu),
            "node_cpu_ms_per_join": {n: per_join(v) for n, v in nodes.items()},
            "nodes_cpu_ms_per_join_with_tail": per_join(nodes_cpu + sum(tail.get(n, 0.0) for n in nodes)),
            "postgres_cpu_ms_per_join": per_join(cpu.get("postgres", 0.0)),
            "redis_cpu_ms_per_join": per_join(cpu.get("redis", 0.0)),
            "loadgen_cpu_ms_per_join": per_join(cpu.get("loadgen", 0.0)),
            "samples_columns": [
                "room",
                "seat",
                "node",
                "started_ms",
                "connected_ms",
                "join_sent_ms",
                "joined_ms",
                "failure",
                "busy_connects",
                "busy_joins",
            ],
            "samples": [e.row() for e in entrants],
        }

    # -- the whole run -------------------------------------------------------------------------------------

    async def main(self) -> dict[str, Any]:
        began = time.perf_counter()
        await self.start()
        order = [name for name in ("haven", "reference") if name in self.deployments]
        for rep in range(1, self.args.reps + 1):
            for name in order:
                await self.one(name, rep)
        return self.results(time.perf_counter() - began)

    def results(self, total_s: float) -> dict[str, Any]:
        versions = {}
        for package in ("socket.io", "@socket.io/redis-adapter", "redis", "pg"):
            with contextlib.suppress(OSError, ValueError):
                found = json.loads((REFERENCE_DIR / "node_modules" / package / "package.json").read_text())
                versions[package] = found["version"]
        host = machine()
        host["node"] = node_version()
        host["reference_packages"] = versions
        with contextlib.suppress(metadata.PackageNotFoundError):
            host["packages"]["haven"] = metadata.version("haven")
        return {
            "benchmark": "rooms-burst",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": " ".join([COMMAND, *(a for a in sys.argv[1:] if a != "--burst")]),
            "total_wall_s": round(total_s, 1),
            "config": {
                "targets": list(self.deployments),
                "reps": self.args.reps,
                "rooms": self.args.rooms,
                "room_size": self.args.participants + 1,
                "clients_per_burst": self.args.rooms * (self.args.participants + 1),
                "spread_s": self.args.spread,
                "idle_s": self.args.idle_seconds,
                "client": "raw (bench/chat_client.py), one shared aiohttp session, no connection limit",
                "placement": "seat s of room i on node (i + s) % 2; seat 0 (Haven: the facilitator) sends room:join "
                "once connected, the others once their room's facilitator has joined",
                "timeouts_s": {"connect": CONNECT_TIMEOUT, "join_ack": CALL_TIMEOUT, "facilitator_wait": GATE_TIMEOUT},
                "busy": {
                    "retries": self.args.busy_retries,
                    "rule": "a connect or request refused with busy is made again after retry_after_ms plus a random "
                    f"extra of up to half of it, at most retries + 1 sends, within {BUSY_BUDGET} s of the first "
                    "(docs/protocol.md 7.2.1); the join sample runs from the first connect",
                },
                "cpu_window": "from just before the first client starts to just after the last one finished; "
                f"tail_cpu_s is the {TAIL_SECONDS} s after that",
                "node_cpu": "each node's process and its direct children (a Haven node runs its forwarder in "
                "HAVEN_MEDIA_WORKERS worker processes, by default one per CPU), live or exited",
                "percentiles": "nearest rank",
                "postgres": "private" if self.services.postgres else "HAVEN_TEST_DATABASE_URL",
                "redis": "private" if self.services.redis else "HAVEN_TEST_REDIS_URL",
                "profiling": self.profiler.config(),
            },
            "setup": self.setup,
            "notes": self.notes,
            "machine": host,
            "code": code_state(),
            "cpu_clock_ticks_per_s": CLOCK_TICKS,
            "runs": self.runs,
            "summary": summary(self.runs),
            "node_logs": {
                d.name: {
                    name: {"stderr_lines": tail.total, "last_lines": list(tail.lines)}
                    for name, tail in zip(d.node_names, d.tails, strict=False)
                }
                for d in self.deployments.values()
            },
        }

    # -- cleaning up ---------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        await self.profiler.close()
        await bounded(100, [e.client.close for e in self.entrants if e.client is not None])
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.close()
        await asyncio.gather(*(d.stop() for d in self.deployments.values()), return_exceptions=True)
        await self.services.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(d.logs() for d in self.deployments.values())


# -- reporting ---------------------------------------------------------------------------------------------


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Join latency over every client of every repetition (column 6 of the samples minus column 3)."""
    values = [(row[6] - row[3]) / 1000 for run in runs for row in run["samples"] if row[6] is not None]
    return summarize(values)


def _per_join(runs: list[dict[str, Any]], names: list[str] | None, key: str | None = None) -> float | None:
    joins = sum(int(r["joined"]) for r in runs)
    if not joins:
        return None
    keys = names if names is not None else [key or ""]
    seconds = sum(float(r["cpu_s"].get(k, 0.0)) for r in runs for k in keys)
    return round(seconds * 1000 / joins, 3)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target, over its repetitions: pooled join latency, failures, CPU per join, idle cores; and the ratios."""
    targets: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["target"] for r in runs):
        mine = [r for r in runs if r["target"] == name]
        node_names = [f"{name}-a", f"{name}-b"]
        targets[name] = {
            "reps": len(mine),
            "clients": sum(r["clients"] for r in mine),
            "joined": sum(r["joined"] for r in mine),
            "failed": sum(r["failed"] for r in mine),
            "busy_refusals": sum(r["busy_connects"] + r["busy_joins"] for r in mine),
            "clients_refused_busy": sum(r["clients_refused_busy"] for r in mine),
            "join_ms_pooled": _pooled(mine),
            "join_p99_ms_per_rep": [r["join_ms"]["p99_ms"] for r in mine],
            "burst_wall_s_mean": _mean([r["burst_wall_s"] for r in mine]),
            "nodes_cpu_ms_per_join": _per_join(mine, node_names),
            "postgres_cpu_ms_per_join": _per_join(mine, None, "postgres"),
            "redis_cpu_ms_per_join": _per_join(mine, None, "redis"),
            "loadgen_cpu_ms_per_join": _per_join(mine, None, "loadgen"),
            "idle_nodes_cores_busy_mean": _mean([r["idle"]["nodes_cores_busy"] for r in mine]),
            "idle_nodes_cores_busy_per_rep": [r["idle"]["nodes_cores_busy"] for r in mine],
            "disturbed_windows": sum(
                (r["other_processes_cores_busy"] > DISTURBED_CORES)
                + (r["idle"]["other_processes_cores_busy"] > DISTURBED_CORES)
                for r in mine
            ),
            "leave_failures": sum(sum(r["leave"]["failures"].values()) for r in mine),
        }
    found: dict[str, Any] = {"targets": targets}
    ours, peer = targets.get("haven"), targets.get("reference")
    if ours and peer:

        def ratio(a: float | None, b: float | None) -> float | None:
            return round(a / b, 2) if a is not None and b else None

        found["ratios_haven_over_reference"] = {
            "join_p50": ratio(ours["join_ms_pooled"]["p50_ms"], peer["join_ms_pooled"]["p50_ms"]),
            "join_p99": ratio(ours["join_ms_pooled"]["p99_ms"], peer["join_ms_pooled"]["p99_ms"]),
            "nodes_cpu_per_join": ratio(ours["nodes_cpu_ms_per_join"], peer["nodes_cpu_ms_per_join"]),
            "postgres_cpu_per_join": ratio(ours["postgres_cpu_ms_per_join"], peer["postgres_cpu_ms_per_join"]),
            "redis_cpu_per_join": ratio(ours["redis_cpu_ms_per_join"], peer["redis_cpu_ms_per_join"]),
        }
    return found


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [
        f"Rooms join burst, {results['started_at']}: {config['rooms']} rooms x {config['room_size']} = "
        f"{config['clients_per_burst']} clients at once (spread {config['spread_s']} s) per target, targets "
        f"{', '.join(config['targets'])}, {config['reps']} reps alternating; {results['machine']['cpus']} CPUs shared "
        f"by both deployments, PostgreSQL, Redis and the load generator; total {results['total_wall_s']} s"
        + ("; PROFILED with py-spy (figures distorted)" if (config["profiling"] or {}).get("py_spy") else ""),
        "",
        "| target | rep | joined | failed | refused busy: connects / joins (clients) | join p50 / p99 / max ms | "
        "connect p50 / p99 ms | join ack p50 / p99 ms | burst s | nodes cores | "
        "nodes CPU ms/join (of which their child processes) | PG CPU ms/join | Redis CPU ms/join | "
        "generator CPU ms/join | others' cores | idle: nodes cores (A + B) | idle: PG / Redis cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        j, c, a, idle = run["join_ms"], run["connect_ms"], run["join_ack_ms"], run["idle"]
        nodes = idle["node_cores_busy"]
        lines.append(
            f"| {run['target']} | {run['rep']} | {run['joined']} | {run['failed']} | {run['busy_connects']} / "
            f"{run['busy_joins']} ({run['clients_refused_busy']}) | {_f(j['p50_ms'])} / "
            f"{_f(j['p99_ms'])} / {_f(j['max_ms'])} | {_f(c['p50_ms'])} / {_f(c['p99_ms'])} | {_f(a['p50_ms'])} / "
            f"{_f(a['p99_ms'])} | {_f(run['burst_wall_s'], 2)} | {_f(run['nodes_cores_busy'], 2)} | "
            f"{_f(run['nodes_cpu_ms_per_join'], 2)} ({_f(run['nodes_children_cpu_ms_per_join'], 2)}) | "
            f"{_f(run['postgres_cpu_ms_per_join'], 2)} | "
            f"{_f(run['redis_cpu_ms_per_join'], 2)} | {_f(run['loadgen_cpu_ms_per_join'], 2)} | "
            f"{_f(run['other_processes_cores_busy'], 2)} | {_f(idle['nodes_cores_busy'], 3)} ("
            + " + ".join(_f(v, 3) for v in nodes.values())
            + f") | {_f(idle['postgres_cores_busy'], 3)} / {_f(idle['redis_cores_busy'], 3)} |"
        )
    failures = [f"{run['target']} rep {run['rep']}: {run['failures']}" for run in results["runs"] if run["failures"]]
    leaves = [
        f"{run['target']} rep {run['rep']}: {run['leave']['failures']}"
        for run in results["runs"]
        if run["leave"]["failures"]
    ]
    lines += [
        "",
        "| target | reps | clients | failed | refused busy (clients) | join p50 / p99 ms (all reps) | "
        "nodes CPU ms/join | PG CPU ms/join | Redis CPU ms/join | idle nodes cores (mean) | windows disturbed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = results["summary"]["targets"]
    for name, t in targets.items():
        pooled = t["join_ms_pooled"]
        lines.append(
            f"| {name} | {t['reps']} | {t['clients']} | {t['failed']} | {t['busy_refusals']} "
            f"({t['clients_refused_busy']}) | {_f(pooled['p50_ms'])} / "
            f"{_f(pooled['p99_ms'])} | {_f(t['nodes_cpu_ms_per_join'], 2)} | {_f(t['postgres_cpu_ms_per_join'], 2)} | "
            f"{_f(t['redis_cpu_ms_per_join'], 2)} | {_f(t['idle_nodes_cores_busy_mean'], 3)} | "
            f"{t['disturbed_windows']} of {2 * t['reps']} |"
        )
    ratios = results["summary"].get("ratios_haven_over_reference")
    if ratios:
        lines += [
            "",
            "| Haven / reference | join p50 | join p99 | nodes CPU per join | PG CPU per join | Redis CPU per join |",
            "|---|---:|---:|---:|---:|---:|",
            f"| ratio | {_f(ratios['join_p50'], 2)} | {_f(ratios['join_p99'], 2)} | "
            f"{_f(ratios['nodes_cpu_per_join'], 2)} | {_f(ratios['postgres_cpu_per_join'], 2)} | "
            f"{_f(ratios['redis_cpu_per_join'], 2)} |",
        ]
    lines += [
        "",
        f"Failures: {'; '.join(failures) if failures else 'none'}. room:leave failures: "
        f"{'; '.join(leaves) if leaves else 'none'}.",
    ]
    busy = [
        f"{run['target']} rep {run['rep']} {window} {found['other_processes_cores_busy']:.2f} "
        f"({', '.join(found['other_processes_busiest']) or 'no single process'})"
        for run in results["runs"]
        for window, found in (("burst", run), ("idle", run["idle"]))
        if found["other_processes_cores_busy"] > DISTURBED_CORES
    ]
    lines.append(f"Other processes above {DISTURBED_CORES} core: {'; '.join(busy) if busy else 'none'}.")
    logs = results.get("node_logs", {})
    lines.append(
        "Node stderr lines (log level warning): "
        + ", ".join(f"{node} {info['stderr_lines']}" for nodes in logs.values() for node, info in nodes.items())
        + "."
    )
    if results["notes"]:
        lines += ["", *(f"Note: {note}" for note in results["notes"])]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = BurstBench(args)
    results = await bounded_run(bench.main, bench.cleanup, bench.logs, args.time_limit, 90)
    print(markdown(results))
    write_results("rooms-burst", results)
    failed = any(r["failed"] or r["leave"]["failures"] for r in results["runs"])
    return 1 if failed else 0


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Validate and complete the ``--burst`` options of ``bench/rooms.py``'s parser."""
    args.targets = [t for t in args.targets.split(",") if t]
    if not args.targets or not set(args.targets) <= {"haven", "reference"}:
        parser.error("targets: haven and/or reference")
    if not 1 <= args.reps <= 5 or not 0 <= args.busy_retries <= 10:
        parser.error("reps 1-5, busy retries 0-10")
    if not 0 <= args.spread <= 10 or not 1 <= args.idle_seconds <= 120:
        parser.error("spread 0-10 s, idle 1-120 s")
    if math.isnan(args.spread) or math.isnan(args.idle_seconds):
        parser.error("spread and idle seconds must be numbers")
