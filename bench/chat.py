"""Chat benchmark: Haven against a reference peer (Node.js socket.io 4 + Redis adapter + PostgreSQL), same run.

Run from the repository root::

    .venv/bin/python -m bench.chat

It starts one private PostgreSQL and one Redis on loopback (or uses ``HAVEN_TEST_DATABASE_URL`` /
``HAVEN_TEST_REDIS_URL``), then two deployments of two nodes each on them, each with a fresh database:

- Haven: two ``haven serve`` nodes; accounts and groups (lobby off) through the admin REST API, tokens from
  ``POST /api/auth/login``, each room's first member a facilitator (it joins first);
- the reference peer: two ``node bench/reference/server.mjs`` (see that file; it trusts the token as a user id).

One load generator (this process, one asyncio loop, one clock) holds every client. Members of a room alternate
between the two nodes (seat s of room i on node (i + s) % 2), so every message crosses Redis. Each member sends
``chat:send`` at a fixed rate (open loop, random phase); the body carries the sender's ``time.time()``. Measured
over a window after a warm-up, per run:

- acknowledged messages per second and the ack latency (send -> ``{"ok": true, "message": {...}}``);
- deliveries per second (each ``chat:message`` received by a member is one) and the send-to-delivery latency;
- CPU seconds of each node, PostgreSQL, Redis and the generator (``/proc/<pid>/stat``), hence deliveries per
  node CPU second ("per core");
- losses: for every acknowledged message, members of its room that never received it (after a bounded drain).

Workloads, run against both targets in the same run, alternating (Haven, reference, Haven, reference, ...):

- W1: 100 rooms x 10 members, at a base rate (0.3 msgs/s per member: 300 msgs/s offered, 20 s window) and a
  higher one (0.6: 600 msgs/s, 8 s), ``--w1-rates`` / ``--w1-durations``;
- W2: one large room at a lower per-member rate (0.25), of 50 and of 200 members, on both targets.

Neither server sends a ``chat:message`` back to the sending connection (it has the ack), so a message in a room of
n members makes n - 1 deliveries. Between runs the bench waits (bounded) until the target just measured is idle
again (an overloaded run's backlog still counts for it) and, for at most 10 s more, until other processes on the
machine are quiet; every run records the CPU that processes not started by the bench used during its window.

The clients are a minimal raw Socket.IO client over aiohttp WebSockets (``bench/chat_client.py``) by default;
``--client sio`` uses python-socketio's ``AsyncClient`` instead, which costs the generator about twice the CPU
per delivery (see docs/benchmarks.md).

A Markdown summary goes to stdout and everything (with the configuration and machine) to
``bench/results/chat-<timestamp>.json``. Every wait is bounded and the run is capped by ``--time-limit``; the
processes and servers it started are stopped on the way out. ``--check-haven`` only reports whether Haven's
``chat:send`` is implemented (an ``unknown_event`` acknowledgement means it is not) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import heapq
import json
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

from bench.chat_client import ChatClient, ConnectRefused, make_client
from bench.chat_targets import (
    REFERENCE_DIR,
    Deployment,
    HavenDeployment,
    ReferenceDeployment,
    RoomPlan,
    Seat,
    Services,
)
from bench.cpu import CLOCK_TICKS, CpuProbe, delta
from bench.profiling import Profiler, add_arguments, check_arguments
from bench.rooms import bounded, machine
from bench.runs import bounded_run, write_results
from bench.stats import summarize

COMMAND = ".venv/bin/python -m bench.chat"

CONNECT_TIMEOUT = 10.0  # seconds for the connect handshake
CALL_TIMEOUT = 10.0  # seconds for a join or probe acknowledgement
DRAIN_TIMEOUT = 10.0  # seconds after the window for outstanding acks and deliveries
PROBE_TIMEOUT = 5.0
MAX_OUTSTANDING = 3  # unacknowledged sends per member after which its next sends are skipped (and counted)
SETTLE_SECONDS = 1.0  # pause between runs, after the target went idle
SETTLE_MAX = 30.0  # seconds to wait at most for an overloaded target's backlog to finish
SETTLE_SAMPLE = 0.5  # seconds per idleness sample
SETTLE_IDLE_CORES = 0.15  # the target's nodes + PostgreSQL below this many cores count as idle
QUIET_MAX = 10.0  # seconds to wait at most, after that, for other processes on the machine to go quiet
DISTURBED_CORES = 0.1  # a run during which other processes used more than this is flagged
IDLE_SECONDS = 3.0
SEED = 20261201


# A request or connect refused with ``busy`` is made again as docs/protocol.md (7.2.1) tells clients: after the hint
# plus up to half of it again, at most BUSY_SENDS sends in all.
BUSY_SENDS = 5


def busy_delay(answer: Any, randomness: random.Random) -> float | None:
    """Seconds to wait before sending again, if ``answer`` (an ack or a connect refusal's data) is ``busy``."""
    error = answer.get("error", answer) if isinstance(answer, dict) else None
    if not isinstance(error, dict) or error.get("code") != "busy":
        return None
    hint = error.get("retry_after_ms")
    base = (hint if isinstance(hint, int) and hint > 0 else 500) / 1000
    return base * (1 + randomness.uniform(0, 0.5))


class BenchError(RuntimeError):
    pass


@dataclass(eq=False)
class Member:
    """One client of one person in one room on one node."""

    seat: int
    seat_info: Seat
    plan: RoomPlan
    url: str
    node: int
    client: ChatClient | None = None
    outstanding: int = 0
    last_seq: int = 0
    sent: int = 0

    @property
    def conversation(self) -> str:
        return self.plan.conversation

    @property
    def bit(self) -> int:
        return 1 << self.seat


@dataclass
class Tracker:
    """Every message of one run: who sent it when, whom it must reach, whom it reached, its ack."""

    tag: str
    echo: bool  # the sender receives its own chat:message on this target
    window_start: float = float("inf")
    window_end: float = float("inf")
    sending: bool = True
    send_t: list[float] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    acked: list[bool] = field(default_factory=list)
    pending: int = 0
    missing: int = 0  # for acknowledged messages: expected receipts not seen yet
    acks_in_window: int = 0
    deliveries_in_window: int = 0
    sent_in_window: int = 0
    delivery_latency: list[float] = field(default_factory=list)
    delivery_sent: list[float] = field(default_factory=list)  # send time of each delivery_latency sample
    ack_latency: list[float] = field(default_factory=list)
    ack_errors: Counter[str] = field(default_factory=Counter)
    send_errors: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    unexpected: int = 0
    misrouted: int = 0
    order_inversions: int = 0
    skipped_backlog: int = 0
    busy_resends: int = 0  # chat:send refused with busy and sent again
    late_deliveries: int = 0  # received after the window, for messages sent in it (part of the drain)

    def in_window(self, t: float) -> bool:
        return self.window_start <= t < self.window_end

    def new_message(self, member: Member, now: float) -> int:
        number = len(self.send_t)
        full = (1 << len(member.plan.seats)) - 1
        self.send_t.append(now)
        self.expected.append(full if self.echo else full & ~member.bit)
        self.mask.append(0)
        self.acked.append(False)
        self.pending += 1
        if self.in_window(now):
            self.sent_in_window += 1
        return number

    def on_ack(self, number: int, member: Member, answer: Any) -> None:
        now = time.time()
        self.pending -= 1
        member.outstanding -= 1
        message = answer.get("message") if isinstance(answer, dict) and answer.get("ok") is True else None
        if not isinstance(message, dict) or not isinstance(message.get("seq"), int):
            code = answer.get("error", {}).get("code", "?") if isinstance(answer, dict) else repr(answer)[:40]
            self.ack_errors[str(code)] += 1
            return
        self.acked[number] = True
        self.missing += (self.expected[number] & ~self.mask[number]).bit_count()
        if self.in_window(self.send_t[number]):
            self.ack_latency.append(now - self.send_t[number])
        if self.in_window(now):
            self.acks_in_window += 1

    def on_message(self, member: Member, data: dict[str, Any], parts: list[str]) -> None:
        now = time.time()
        if data.get("conversation") != member.conversation:
            self.misrouted += 1
            return
        number = int(parts[1])
        bit = member.bit
        mask = self.mask[number]
        if mask & bit:
            self.duplicates += 1
            return
        self.mask[number] = mask | bit
        if not self.expected[number] & bit:
            self.unexpected += 1
            return
        if self.acked[number]:
            self.missing -= 1
        seq = data.get("seq")
        if isinstance(seq, int):
            if seq <= member.last_seq:
                self.order_inversions += 1
            member.last_seq = max(member.last_seq, seq)
        sent = float(parts[2])
        if self.in_window(self.send_t[number]):
            self.delivery_latency.append(now - sent)
            self.delivery_sent.append(sent)
            if now >= self.window_end:
                self.late_deliveries += 1
        if self.in_window(now):
            self.deliveries_in_window += 1

    def losses(self) -> tuple[int, int, int]:
        """(lost deliveries, messages with a loss, messages never acknowledged)."""
        lost = with_loss = 0
        for number, acked in enumerate(self.acked):
            if acked:
                gone = (self.expected[number] & ~self.mask[number]).bit_count()
                if gone:
                    lost += gone
                    with_loss += 1
        return lost, with_loss, self.pending


@dataclass
class Run:
    workload: str
    target: str
    room_size: int
    rooms: int
    rate: float
    duration: float
    rep: int


class ChatBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-chat-"))
        self.probe = CpuProbe()
        self.services = Services(self.probe)
        self.deployments: dict[str, Deployment] = {}
        self.session: aiohttp.ClientSession | None = None
        self.members: list[Member] = []
        self.trackers: dict[str, Tracker] = {}  # runs whose messages may still arrive, by tag
        self.stray = 0  # chat:message events of no known run
        self.echo: dict[str, bool] = {}
        self.runs: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.setup: dict[str, Any] = {}
        self.random = random.Random(SEED)  # noqa: S311 - send phases, not secrets
        self.busy_setup = 0  # connects and joins refused with busy and made again
        self._background: set[asyncio.Future[Any]] = set()
        self.run_counter = 0
        self.profiler = Profiler.from_args(args)  # --profile-dir: py-spy on the Haven nodes in measured windows
        if self.profiler.note or self.profiler.enabled:
            self.notes.append(self.profiler.note or self.profiler.caveat())

    # -- deployments ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        began = time.perf_counter()
        await self.services.start()
        self.probe.add("loadgen", os.getpid())
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=False))
        if "haven" in self.args.targets:
            self.deployments["haven"] = HavenDeployment(self.services, self.workdir)
        if "reference" in self.args.targets:
            self.deployments["reference"] = ReferenceDeployment(self.services, self.workdir)
        await asyncio.gather(*(d.start() for d in self.deployments.values()))
        self.setup["start_s"] = round(time.perf_counter() - began, 1)
        log(f"servers up in {self.setup['start_s']} s: " + ", ".join(self.deployments))

    def client_for(self, member: Member) -> ChatClient:
        def on_event(event: str, data: Any) -> None:
            if event != "chat:message":
                return
            body = data.get("body") if isinstance(data, dict) else None
            parts = body.split("|", 3) if isinstance(body, str) else []
            tracker = self.trackers.get(parts[0]) if len(parts) > 2 else None
            if tracker is None or not parts[1].isdigit() or int(parts[1]) >= len(tracker.mask):
                self.stray += 1
                return
            tracker.on_message(member, data, parts)

        return make_client(self.args.client, self.session, on_event)

    async def enter(self, deployment: Deployment, plans: list[RoomPlan]) -> list[Member]:
        """Connect and join every seat; seat 0 of every room (Haven's facilitator) first."""
        urls = deployment.urls()
        members = [
            Member(seat, info, plan, urls[(index + seat) % 2], (index + seat) % 2)
            for index, plan in enumerate(plans)
            for seat, info in enumerate(plan.seats)
        ]
        self.members.extend(members)

        async def join(member: Member) -> None:
            for sends in range(1, BUSY_SENDS + 1):
                client = member.client = self.client_for(member)
                try:
                    await client.connect(member.url, member.seat_info.token, CONNECT_TIMEOUT)
                    break
                except ConnectRefused as exc:
                    delay = busy_delay(exc.data, self.random)
                    if delay is None or sends == BUSY_SENDS:
                        raise
                    self.busy_setup += 1
                    await asyncio.sleep(delay)
            for sends in range(1, BUSY_SENDS + 1):
                ack = await client.call("room:join", {"room_id": member.plan.room_id}, CALL_TIMEOUT)
                delay = busy_delay(ack, self.random)
                if delay is None or sends == BUSY_SENDS:
                    break
                self.busy_setup += 1
                await asyncio.sleep(delay)
            if not (isinstance(ack, dict) and ack.get("ok") is True and ack.get("status") == "joined"):
                raise BenchError(f"room:join on {deployment.name} not joined: {ack!r}")

        began = time.perf_counter()
        for first in (True, False):
            wave = [m for m in members if (m.seat == 0) == first]
            results = await bounded(self.args.join_concurrency, [partial(join, m) for m in wave])
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                raise BenchError(f"{len(failures)} of {len(wave)} joins failed on {deployment.name}: {failures[0]!r}")
        log(
            f"{deployment.name}: {len(members)} clients joined {len(plans)} rooms in {time.perf_counter() - began:.1f} s"
        )
        return members

    async def leave(self, members: list[Member]) -> None:
        """``room:leave`` first (so Haven does not hold places for a grace period and act on it later, in another
        run's window), then disconnect."""

        async def go(member: Member) -> None:
            if member.client is not None:
                with contextlib.suppress(Exception):
                    await member.client.call("room:leave", {"room_id": member.plan.room_id}, CALL_TIMEOUT)
                await member.client.close()

        await bounded(self.args.join_concurrency, [partial(go, m) for m in members])
        for member in members:
            member.client = None
        self.members = [m for m in self.members if m.client is not None]

    async def chat_ready(self, deployment: Deployment, members: list[Member]) -> tuple[bool, Any]:
        """Probe one room: the first seat sends once; who receives it (the sender too?) within the bound."""
        room = [m for m in members if m.plan is members[0].plan]
        sender = room[0]
        tracker = Tracker(tag=f"probe{self.run_counter}", echo=True)
        self.run_counter += 1
        tracker.window_start, tracker.window_end = 0.0, float("inf")
        self.trackers[tracker.tag] = tracker
        try:
            number = tracker.new_message(sender, time.time())
            body = f"{tracker.tag}|{number}|{time.time():.6f}|probe"
            assert sender.client is not None
            ack = await sender.client.call(
                "chat:send",
                {"conversation": sender.conversation, "body": body, "client_id": f"{tracker.tag}-{number}"},
                CALL_TIMEOUT,
            )
            tracker.pending -= 1
            if not (isinstance(ack, dict) and ack.get("ok") is True):
                return False, ack
            others = tracker.expected[number] & ~sender.bit
            async with asyncio.timeout(PROBE_TIMEOUT):
                while tracker.mask[number] & others != others:  # noqa: ASYNC110 - bounded poll
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)  # the sender's own copy, if it gets one, is not later than the others'
            self.echo[deployment.name] = bool(tracker.mask[number] & sender.bit)
            return True, ack
        except TimeoutError:
            raise BenchError(
                f"{deployment.name}: probe message reached {tracker.mask[0].bit_count()} of {len(room)} members"
            ) from None
        finally:
            self.trackers.pop(tracker.tag, None)

    # -- one measured run ----------------------------------------------------------------------------------

    async def drive(self, tracker: Tracker, members: list[Member], rate: float) -> None:
        """Open-loop sender: each member every 1/rate s from a random phase, until ``tracker.sending`` ends."""
        loop = asyncio.get_running_loop()
        period = 1.0 / rate
        start = loop.time()
        schedule = sorted((start + self.random.uniform(0, period), i) for i in range(len(members)))
        heapq.heapify(schedule)
        pad = "x" * max(0, self.args.body_bytes - 40)
        while tracker.sending:
            due, index = schedule[0]
            now = loop.time()
            if due > now:
                await asyncio.sleep(due - now)
                continue
            heapq.heapreplace(schedule, (due + period, index))
            member = members[index]
            client = member.client
            if client is None:
                continue
            if member.outstanding >= MAX_OUTSTANDING:
                tracker.skipped_backlog += 1
                continue
            stamp = time.time()
            number = tracker.new_message(member, stamp)
            member.outstanding += 1
            member.sent += 1
            payload = {
                "conversation": member.conversation,
                "body": f"{tracker.tag}|{number}|{stamp:.6f}|{pad}",
                "client_id": f"{tracker.tag}-{number}",
            }
            await self.submit(tracker, client, member, number, payload, 1)

    async def submit(
        self, tracker: Tracker, client: ChatClient, member: Member, number: int, payload: dict[str, Any], sends: int
    ) -> None:
        """Send, and send the very same again after a ``busy`` refusal's hint, as a client must."""

        def answered(answer: Any) -> None:
            delay = busy_delay(answer, self.random)
            if delay is None or sends == BUSY_SENDS:
                tracker.on_ack(number, member, answer)
                return
            tracker.busy_resends += 1
            again = self.submit(tracker, client, member, number, payload, sends + 1)
            asyncio.get_running_loop().call_later(delay, lambda: self.background(again))

        try:
            await client.send("chat:send", payload, answered)
        except Exception as exc:
            tracker.pending -= 1
            member.outstanding -= 1
            tracker.acked[number] = False
            tracker.send_errors[type(exc).__name__] += 1

    def background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def measure(self, run: Run, deployment: Deployment, members: list[Member]) -> dict[str, Any]:
        tracker = Tracker(tag=f"r{self.run_counter}", echo=self.echo.get(deployment.name, True))
        self.run_counter += 1
        for member in members:
            member.last_seq = 0  # sequence numbers go on across runs; inversions are counted within a run
        self.trackers[tracker.tag] = tracker
        stray_before = self.stray
        sender = asyncio.create_task(self.drive(tracker, members, run.rate))
        try:
            await asyncio.sleep(self.args.warmup)
            label = f"{run.workload}-size{run.room_size}-rate{run.rate}-{deployment.name}-rep{run.rep}"
            async with self.profiler.recording(deployment.python_processes(), label, run.duration + 10) as profiled:
                before = self.probe.snapshot()
                before["machine"] = machine_busy_seconds()
                tracker.window_start = time.time()
                await asyncio.sleep(run.duration)
                tracker.window_end = time.time()
                after = self.probe.snapshot()
                after["machine"] = machine_busy_seconds()
            tracker.sending = False
            await asyncio.wait_for(sender, timeout=5)
            drain_began = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    while tracker.pending > 0 or tracker.missing > 0:  # noqa: ASYNC110 - bounded poll
                        await asyncio.sleep(0.05)
            drain_s = time.perf_counter() - drain_began
            at_drain_end = tracker.losses()
            settled = await self.settle(deployment)
        finally:
            tracker.sending = False
            if not sender.done():
                sender.cancel()
            self.trackers.pop(tracker.tag, None)
        for member in members:
            member.outstanding = 0
        wall = tracker.window_end - tracker.window_start
        cpu = delta(before, after)
        result = self.report(run, deployment, members, tracker, wall, cpu, drain_s)
        if profiled:  # py-spy's own CPU is not another process's
            result["profile"] = [r.result for r in profiled]
            spy = sum(float(r.result.get("py_spy_cpu_s") or 0.0) for r in profiled)
            others = max(0.0, result["other_processes_cores_busy"] - spy / wall)
            result["other_processes_cores_busy"] = round(others, 3)
        result["undelivered_at_drain_end"] = at_drain_end[0]
        result["unacked_at_drain_end"] = at_drain_end[2]
        result.update(settled)
        result["stray_during_run"] = self.stray - stray_before
        return result

    async def settle(self, deployment: Deployment | None) -> dict[str, float]:
        """Wait (bounded) until the deployment's nodes and PostgreSQL are nearly idle, so that a backlog left by an
        overloaded run finishes (late deliveries still count for it) before the next run, on the other target,
        starts; then (bounded again) until processes that are not ours leave the cores alone."""
        began = time.perf_counter()
        names = [*(deployment.node_names if deployment else ()), "postgres"]
        ours_busy = others_busy = 0.0
        deadline = began + SETTLE_MAX
        while time.perf_counter() < deadline:
            first = self.probe.snapshot()
            first_machine = machine_busy_seconds()
            await asyncio.sleep(SETTLE_SAMPLE)
            used = delta(first, self.probe.snapshot())
            ours_busy = sum(used.get(name, 0.0) for name in names) / SETTLE_SAMPLE
            others_busy = max(0.0, machine_busy_seconds() - first_machine - sum(used.values())) / SETTLE_SAMPLE
            if ours_busy < SETTLE_IDLE_CORES and (
                others_busy < SETTLE_IDLE_CORES or time.perf_counter() - began > QUIET_MAX
            ):
                break
        return {
            "settle_s": round(time.perf_counter() - began, 2),
            "target_cores_at_end": round(ours_busy, 3),
            "other_processes_cores_at_end": round(others_busy, 3),
        }

    def report(
        self,
        run: Run,
        deployment: Deployment,
        members: list[Member],
        tracker: Tracker,
        wall: float,
        cpu: dict[str, float],
        drain_s: float,
    ) -> dict[str, Any]:
        machine_cpu = cpu.pop("machine", 0.0)
        others = max(0.0, machine_cpu - sum(cpu.values()))
        nodes_cpu = sum(cpu.get(name, 0.0) for name in deployment.node_names)
        shared_cpu = nodes_cpu + cpu.get("postgres", 0.0) + cpu.get("redis", 0.0)
        lost, with_loss, unacked = tracker.losses()
        deliveries = tracker.deliveries_in_window
        return {
            "workload": run.workload,
            "target": deployment.name,
            "rep": run.rep,
            "rooms": run.rooms,
            "room_size": run.room_size,
            "members": len(members),
            "rate_per_member": run.rate,
            "offered_msgs_per_s": round(len(members) * run.rate, 1),
            "echo_to_sender": tracker.echo,
            "window_s": round(wall, 3),
            "sent_in_window": tracker.sent_in_window,
            "acked_msgs_per_s": round(tracker.acks_in_window / wall, 1),
            "deliveries_per_s": round(deliveries / wall, 1),
            "delivery_ms": summarize(tracker.delivery_latency),
            "delivery_timeline": timeline(tracker),
            "ack_ms": summarize(tracker.ack_latency),
            "cpu_s": {name: round(value, 2) for name, value in cpu.items()},
            "nodes_cpu_s": round(nodes_cpu, 2),
            "nodes_cores_busy": round(nodes_cpu / wall, 3),
            "loadgen_cores_busy": round(cpu.get("loadgen", 0.0) / wall, 3),
            "machine_cores_busy": round(machine_cpu / wall, 3),
            "other_processes_cores_busy": round(others / wall, 3),
            "deliveries_per_node_cpu_s": round(deliveries / nodes_cpu, 1) if nodes_cpu else None,
            "deliveries_per_cpu_s_with_pg_redis": round(deliveries / shared_cpu, 1) if shared_cpu else None,
            "node_cpu_us_per_delivery": round(nodes_cpu * 1e6 / deliveries, 1) if deliveries else None,
            "loadgen_cpu_us_per_delivery": round(cpu.get("loadgen", 0.0) * 1e6 / deliveries, 1) if deliveries else None,
            "lost_deliveries": lost,
            "messages_with_loss": with_loss,
            "unacked_messages": unacked,
            "ack_errors": dict(tracker.ack_errors),
            "send_errors": dict(tracker.send_errors),
            "skipped_backlog": tracker.skipped_backlog,
            "busy_resends": tracker.busy_resends,
            "duplicates": tracker.duplicates,
            "unexpected": tracker.unexpected,
            "misrouted": tracker.misrouted,
            "order_inversions": tracker.order_inversions,
            "late_deliveries": tracker.late_deliveries,
            "drain_s": round(drain_s, 2),
            "messages_total": len(tracker.send_t),
        }

    async def one(self, run: Run, deployment: Deployment, members: list[Member]) -> None:
        before = await self.settle(deployment)
        result = await self.measure(run, deployment, members)
        result["quiet_wait_before_s"] = before["settle_s"]
        self.runs.append(result)
        d = result["delivery_ms"]
        log(
            f"{run.workload} {deployment.name:9s} size {run.room_size:3d} rate {run.rate:.2f} rep {run.rep}: "
            f"{result['acked_msgs_per_s']:.0f} acked/s, {result['deliveries_per_s']:.0f} deliveries/s, "
            f"p50 {d['p50_ms']} p99 {d['p99_ms']} ms, nodes {result['nodes_cores_busy']:.2f} cores, "
            f"gen {result['loadgen_cores_busy']:.2f}, others {result['other_processes_cores_busy']:.2f}, "
            f"{result['deliveries_per_node_cpu_s']} del/cpu-s, "
            f"lost {result['lost_deliveries']} (undelivered at drain end {result['undelivered_at_drain_end']}), "
            f"unacked {result['unacked_messages']}, skipped {result['skipped_backlog']}, "
            f"busy resends {result['busy_resends']}, "
            f"errors {result['ack_errors'] or 0}, settle {result['settle_s']} s, "
            f"quiet wait before {result['quiet_wait_before_s']} s"
        )
        gc.collect()
        await asyncio.sleep(SETTLE_SECONDS)

    # -- the whole run -------------------------------------------------------------------------------------

    async def check_haven(self) -> tuple[bool, Any]:
        haven = self.deployments["haven"]
        plans = await haven.make_rooms("probe", 1, 2)
        members = await self.enter(haven, plans)
        try:
            return await self.chat_ready(haven, members)
        finally:
            await self.leave(members)

    async def main(self) -> dict[str, Any]:
        began = time.perf_counter()
        await self.start()
        if "haven" in self.deployments:
            ready, ack = await self.check_haven()
            self.setup["haven_chat_probe"] = ack
            if not ready:
                note = f"Haven's chat:send is not usable ({ack!r}): Haven was not measured"
                self.notes.append(note)
                log(note)
                haven = self.deployments.pop("haven")
                await haven.stop()
            if self.args.check_haven:
                return {"haven_chat_ready": ready, "ack": ack}
        order: list[str] = [name for name in ("haven", "reference") if name in self.deployments]
        if not order:
            raise BenchError("no target to measure")
        sizes_w2 = {name: [s for s in self.args.w2_sizes if s <= self.max_size(name)] for name in order}
        for name in order:
            skipped = [s for s in self.args.w2_sizes if s > self.max_size(name)]
            if skipped:
                self.notes.append(
                    f"W2 on {name}: room sizes {skipped} exceed its largest room ({self.max_size(name)}); not run"
                )

        # Every account first (Haven: argon2 twice per account), so no setup runs beside a measurement.
        setup_began = time.perf_counter()
        plans: dict[tuple[str, str, int], list[RoomPlan]] = {}

        async def make(name: str) -> None:
            deployment = self.deployments[name]
            plans[(name, "W1", self.args.w1_size)] = await deployment.make_rooms(
                "w1", self.args.w1_rooms, self.args.w1_size
            )
            for size in sizes_w2[name] if not self.args.skip_w2 else []:
                plans[(name, "W2", size)] = await deployment.make_rooms(f"w2s{size}", 1, size)

        await asyncio.gather(*(make(name) for name in order))
        self.setup["accounts_s"] = round(time.perf_counter() - setup_began, 1)
        self.setup["accounts"] = {
            f"{name} {workload} size {size}": sum(len(p.seats) for p in found)
            for (name, workload, size), found in plans.items()
        }
        log(f"accounts and rooms ready in {self.setup['accounts_s']} s")

        # W1: both targets' clients connected, runs alternating.
        w1 = {name: await self.enter(self.deployments[name], plans[(name, "W1", self.args.w1_size)]) for name in order}
        for name in order:
            await self.chat_ready(self.deployments[name], w1[name])
        gc.collect()
        gc.freeze()
        await self.idle(IDLE_SECONDS, sum(len(m) for m in w1.values()))
        for rate, duration in zip(self.args.w1_rates, self.args.w1_durations, strict=True):
            for rep in range(1, self.args.reps + 1):
                for name in order:
                    run = Run("W1", name, self.args.w1_size, self.args.w1_rooms, rate, duration, rep)
                    await self.one(run, self.deployments[name], w1[name])
        for name in order:
            await self.leave(w1[name])
        gc.unfreeze()

        if not self.args.skip_w2:
            w2: dict[tuple[str, int], list[Member]] = {}
            for name in order:
                for size in sizes_w2[name]:
                    w2[(name, size)] = await self.enter(self.deployments[name], plans[(name, "W2", size)])
                    await self.chat_ready(self.deployments[name], w2[(name, size)])
            gc.collect()
            for rep in range(1, self.args.reps + 1):
                for size in sorted(self.args.w2_sizes):
                    for name in order:
                        if (name, size) in w2:
                            run = Run("W2", name, size, 1, self.args.w2_rate, self.args.w2_duration, rep)
                            await self.one(run, self.deployments[name], w2[(name, size)])
            for members in w2.values():
                await self.leave(members)
        return self.results(time.perf_counter() - began)

    async def idle(self, seconds: float, clients: int) -> None:
        """Background CPU with every W1 client connected and nobody sending."""
        for deployment in self.deployments.values():
            await self.settle(deployment)
        python = {n: pid for d in self.deployments.values() for n, pid in d.python_processes().items()}
        async with self.profiler.recording(python, "idle", seconds + 10):
            before = self.probe.snapshot()
            began = time.perf_counter()
            await asyncio.sleep(seconds)
            cpu = delta(before, self.probe.snapshot())
            wall = time.perf_counter() - began
        self.setup["idle"] = {
            "clients_connected": clients,
            "wall_s": round(wall, 2),
            "cores_busy": {name: round(value / wall, 3) for name, value in cpu.items()},
            "nodes_cores_busy": {
                name: round(sum(cpu.get(n, 0.0) for n in d.node_names) / wall, 3)
                for name, d in self.deployments.items()
            },
        }
        log(f"idle with {clients} clients connected: nodes {self.setup['idle']['nodes_cores_busy']} cores")

    def max_size(self, name: str) -> int:
        deployment = self.deployments[name]
        return int(getattr(deployment, "max_room_size", 10_000))

    # -- reporting -----------------------------------------------------------------------------------------

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
            "benchmark": "chat",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": " ".join([COMMAND, *sys.argv[1:]]),
            "total_wall_s": round(total_s, 1),
            "config": {
                "targets": list(self.deployments),
                "client": self.args.client,
                "reps": self.args.reps,
                "warmup_s": self.args.warmup,
                "w1": {
                    "rooms": self.args.w1_rooms,
                    "room_size": self.args.w1_size,
                    "rates_per_member": self.args.w1_rates,
                    "durations_s": self.args.w1_durations,
                },
                "w2": None
                if self.args.skip_w2
                else {
                    "sizes": self.args.w2_sizes,
                    "rate_per_member": self.args.w2_rate,
                    "duration_s": self.args.w2_duration,
                },
                "body_bytes": self.args.body_bytes,
                "placement": "seat s of room i on node (i + s) % 2; seat 0 (Haven: the facilitator) joins first",
                "join_concurrency": self.args.join_concurrency,
                "max_outstanding_per_member": MAX_OUTSTANDING,
                "timeouts_s": {"connect": CONNECT_TIMEOUT, "call": CALL_TIMEOUT, "drain": DRAIN_TIMEOUT},
                "percentiles": "nearest rank",
                "postgres": "private" if self.services.postgres else "HAVEN_TEST_DATABASE_URL",
                "redis": "private" if self.services.redis else "HAVEN_TEST_REDIS_URL",
                "echo_to_sender": self.echo,
                "profiling": self.profiler.config(),
            },
            "setup": self.setup,
            "notes": self.notes,
            "machine": host,
            "cpu_clock_ticks_per_s": CLOCK_TICKS,
            "runs": self.runs,
            "summary": summary(self.runs),
        }

    # -- cleaning up ---------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        await self.profiler.close()
        await bounded(100, [m.client.close for m in self.members if m.client is not None])
        if self.session is not None:
            with contextlib.suppress(Exception):
                await self.session.close()
        await asyncio.gather(*(d.stop() for d in self.deployments.values()), return_exceptions=True)
        await self.services.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(d.logs() for d in self.deployments.values())


def timeline(tracker: Tracker) -> list[dict[str, Any]]:
    """Delivery latency per second of the window, by send time: count, p50, p99, max (to see spikes)."""
    buckets: dict[int, list[float]] = {}
    for sent, latency in zip(tracker.delivery_sent, tracker.delivery_latency, strict=True):
        buckets.setdefault(int(sent - tracker.window_start), []).append(latency)
    rows = []
    for second in sorted(buckets):
        found = summarize(buckets[second])
        rows.append({"second": second, **{k: found[k] for k in ("count", "p50_ms", "p99_ms", "max_ms")}})
    return rows


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``: user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def node_version() -> str:
    binary = shutil.which("node")
    if binary is None:
        return ""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
    return done.stdout.strip()


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 3) if present else None


def summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (workload, room size, rate): each target's mean over repetitions, and Haven / reference ratios."""
    groups: dict[tuple[str, int, float], dict[str, list[dict[str, Any]]]] = {}
    for run in runs:
        key = (run["workload"], run["room_size"], run["rate_per_member"])
        groups.setdefault(key, {}).setdefault(run["target"], []).append(run)
    rows = []
    for (workload, size, rate), targets in groups.items():
        row: dict[str, Any] = {"workload": workload, "room_size": size, "rate_per_member": rate, "targets": {}}
        for name, found in targets.items():
            row["targets"][name] = {
                "reps": len(found),
                "members": found[0]["members"],
                "offered_msgs_per_s": found[0]["offered_msgs_per_s"],
                "acked_msgs_per_s": _mean([r["acked_msgs_per_s"] for r in found]),
                "deliveries_per_s": _mean([r["deliveries_per_s"] for r in found]),
                "delivery_p50_ms": _mean([r["delivery_ms"]["p50_ms"] for r in found]),
                "delivery_p99_ms": _mean([r["delivery_ms"]["p99_ms"] for r in found]),
                "ack_p50_ms": _mean([r["ack_ms"]["p50_ms"] for r in found]),
                "ack_p99_ms": _mean([r["ack_ms"]["p99_ms"] for r in found]),
                "nodes_cores_busy": _mean([r["nodes_cores_busy"] for r in found]),
                "deliveries_per_node_cpu_s": _mean([r["deliveries_per_node_cpu_s"] for r in found]),
                "deliveries_per_cpu_s_with_pg_redis": _mean([r["deliveries_per_cpu_s_with_pg_redis"] for r in found]),
                "loadgen_cores_busy": _mean([r["loadgen_cores_busy"] for r in found]),
                "other_processes_cores_busy": _mean([r["other_processes_cores_busy"] for r in found]),
                "disturbed_reps": sum(r["other_processes_cores_busy"] > DISTURBED_CORES for r in found),
                "lost_deliveries": sum(r["lost_deliveries"] for r in found),
                "ack_errors": sum(sum(r["ack_errors"].values()) for r in found),
                "unacked_messages": sum(r["unacked_messages"] for r in found),
            }
        ours, peer = row["targets"].get("haven"), row["targets"].get("reference")
        if ours and peer:

            def ratio(key: str, ours: dict[str, Any] = ours, peer: dict[str, Any] = peer) -> float | None:
                a, b = ours[key], peer[key]
                return round(a / b, 2) if a is not None and b else None

            row["ratios_haven_over_reference"] = {
                "deliveries_per_node_cpu_s": ratio("deliveries_per_node_cpu_s"),
                "deliveries_per_cpu_s_with_pg_redis": ratio("deliveries_per_cpu_s_with_pg_redis"),
                "delivery_p99_ms": ratio("delivery_p99_ms"),
                "ack_p99_ms": ratio("ack_p99_ms"),
                "deliveries_per_s": ratio("deliveries_per_s"),
            }
        rows.append(row)
    return rows


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [
        f"Chat benchmark, {results['started_at']}: targets {', '.join(config['targets'])}; client `{config['client']}`; "
        f"{results['machine']['cpus']} CPUs shared by both deployments, PostgreSQL, Redis and the load generator; "
        f"total {results['total_wall_s']} s",
        "",
        "| workload | target | rep | members | offered msg/s | acked msg/s | deliveries/s | delivery p50 / p99 ms | "
        "ack p50 / p99 ms | nodes cores | deliveries per node CPU s | PG CPU s | Redis CPU s | generator cores | "
        "other processes' cores | lost | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        d, a, cpu = run["delivery_ms"], run["ack_ms"], run["cpu_s"]
        errors = sum(run["ack_errors"].values()) + sum(run["send_errors"].values()) + run["unacked_messages"]
        lines.append(
            f"| {run['workload']} {run['rooms']}x{run['room_size']} @{run['rate_per_member']}/s | {run['target']} | "
            f"{run['rep']} | {run['members']} | {_f(run['offered_msgs_per_s'])} | {_f(run['acked_msgs_per_s'])} | "
            f"{_f(run['deliveries_per_s'])} | {_f(d['p50_ms'])} / {_f(d['p99_ms'])} | {_f(a['p50_ms'])} / "
            f"{_f(a['p99_ms'])} | {_f(run['nodes_cores_busy'], 2)} | {_f(run['deliveries_per_node_cpu_s'], 0)} | "
            f"{_f(cpu.get('postgres'), 2)} | {_f(cpu.get('redis'), 2)} | {_f(run['loadgen_cores_busy'], 2)} | "
            f"{_f(run['other_processes_cores_busy'], 2)} | {run['lost_deliveries']} | {errors} |"
        )
    lines += [
        "",
        "| workload | target | deliveries/s | deliveries per node CPU s | same, incl. PG + Redis CPU | "
        "delivery p99 ms | ack p99 ms | lost | reps disturbed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratio_lines = []
    for row in results["summary"]:
        label = f"{row['workload']} size {row['room_size']} @{row['rate_per_member']}/s"
        for name, t in row["targets"].items():
            lines.append(
                f"| {label} | {name} | {_f(t['deliveries_per_s'])} | {_f(t['deliveries_per_node_cpu_s'], 0)} | "
                f"{_f(t['deliveries_per_cpu_s_with_pg_redis'], 0)} | {_f(t['delivery_p99_ms'])} | "
                f"{_f(t['ack_p99_ms'])} | {t['lost_deliveries']} | {t['disturbed_reps']} of {t['reps']} |"
            )
        ratios = row.get("ratios_haven_over_reference")
        if ratios:
            ratio_lines.append(
                f"| {label} | {_f(ratios['deliveries_per_node_cpu_s'], 2)} | "
                f"{_f(ratios['deliveries_per_cpu_s_with_pg_redis'], 2)} | {_f(ratios['delivery_p99_ms'], 2)} | "
                f"{_f(ratios['ack_p99_ms'], 2)} |"
            )
    if ratio_lines:
        lines += [
            "",
            "| Haven / reference | deliveries per node CPU s | same, incl. PG + Redis | delivery p99 | ack p99 |",
            "|---|---:|---:|---:|---:|",
            *ratio_lines,
        ]
    idle = results["setup"].get("idle")
    if idle:
        lines += [
            "",
            f"Idle, {idle['clients_connected']} clients connected, nobody sending: nodes "
            + ", ".join(f"{name} {cores:.3f}" for name, cores in idle["nodes_cores_busy"].items())
            + " cores.",
        ]
    if results["notes"]:
        lines += ["", *(f"Note: {note}" for note in results["notes"])]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = ChatBench(args)
    results = await bounded_run(bench.main, bench.cleanup, bench.logs, args.time_limit, 90)
    if args.check_haven:
        print(json.dumps(results, default=str))
        return 0 if results["haven_chat_ready"] else 3
    print(markdown(results))
    write_results("chat", results)
    failed = any(r["lost_deliveries"] or r["unacked_messages"] for r in results["runs"])
    return 1 if failed else 0


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part]


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default="haven,reference", help="comma-separated: haven, reference")
    parser.add_argument("--client", choices=("raw", "sio"), default="raw", help="load-generator client (default raw)")
    parser.add_argument("--reps", type=int, default=2, help="repetitions of every run per target (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of sending before each window")
    parser.add_argument("--w1-rooms", type=int, default=100)
    parser.add_argument("--w1-size", type=int, default=10)
    parser.add_argument("--w1-rates", type=_floats, default=[0.3, 0.6], help="msgs/s per member (default 0.3,0.6)")
    parser.add_argument("--w1-durations", type=_floats, default=[20.0, 8.0], help="window s per W1 rate")
    parser.add_argument("--w2-sizes", type=_ints, default=[50, 200], help="W2 room sizes (at most 200)")
    parser.add_argument("--w2-rate", type=float, default=0.25, help="W2 msgs/s per member (default 0.25)")
    parser.add_argument("--w2-duration", type=float, default=10.0)
    parser.add_argument("--skip-w2", action="store_true")
    parser.add_argument("--body-bytes", type=int, default=100, help="chat body length (default 100)")
    parser.add_argument("--join-concurrency", type=int, default=40)
    parser.add_argument("--time-limit", type=float, default=480.0, help="cap on the whole run, seconds")
    parser.add_argument("--check-haven", action="store_true", help="only probe Haven's chat:send, then exit")
    add_arguments(parser)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    args.targets = [t for t in args.targets.split(",") if t]
    if args.check_haven:
        args.targets = ["haven"]
    if not set(args.targets) <= {"haven", "reference"} or not args.targets:
        parser.error("targets: haven and/or reference")
    if len(args.w1_durations) != len(args.w1_rates):
        parser.error("give one --w1-durations value per --w1-rates value")
    if not 1 <= args.reps <= 5 or not 0 <= args.warmup <= 30:
        parser.error("reps 1-5, warmup 0-30 s")
    if not 1 <= args.w1_rooms <= 200 or not 2 <= args.w1_size <= 50:
        parser.error("w1 rooms 1-200, size 2-50")
    if any(not 0 < r <= 4 for r in [*args.w1_rates, args.w2_rate]):
        parser.error("rates per member 0-4 msgs/s (Haven's per-user chat limit is about 5/s)")
    if any(not 1 <= d <= 60 for d in [*args.w1_durations, args.w2_duration]):
        parser.error("durations 1-60 s")
    if any(not 2 <= s <= 500 for s in args.w2_sizes) or not 40 <= args.body_bytes <= 4000:
        parser.error("w2 sizes 2-500, body 40-4000 characters")
    if not 1 <= args.join_concurrency <= 200 or not 10 <= args.time_limit <= 1200:
        parser.error("join concurrency 1-200, time limit 10-1200 s")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
