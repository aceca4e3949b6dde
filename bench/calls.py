"""One-on-one call benchmark: ringing latency and time to first video, aiortc peers through two Haven nodes.

Run from the repository root::

    .venv/bin/python -m bench.calls

It starts a private PostgreSQL and Redis on loopback (or uses ``HAVEN_TEST_DATABASE_URL`` /
``HAVEN_TEST_REDIS_URL``) and two ``haven serve`` nodes on a fresh database (``bench.chat_targets.HavenDeployment``),
then makes ``--pairs`` mentor/mentee pairings through the admin API. Every mentor's device connects to node A and
every mentee's to node B, so each call's events and signals cross Redis. The devices are
``tests.support.call_peer.CallPeer``: a Socket.IO connection kept for the whole run and, per call, a fresh aiortc
RTCPeerConnection sending synthetic audio (Opus, 20 ms) and video (VP8, 320x240 at 15 fps), with no ICE servers
(the peers meet on this machine's own addresses).

``--calls`` calls in all, shared round-robin among the pairs; the pairs call at the same time (``--pairs`` calls in
flight at most), each pair one call after another. Per call the mentor sends ``call:invite``, the mentee's device
accepts as soon as it rings, the mentor offers on ``call:accepted``, the mentee answers, and once each side has
decoded a video frame the mentor hangs up. Measured per call:

1. ring: from just before ``call:invite`` is sent to the callee's receipt of ``call:incoming``;
2. first video: from just before ``call:accept`` is sent to the first decoded video frame at the caller (the
   caller's offer, two relayed ``rtc:signal``, ICE checks, the DTLS handshake, the first keyframe's encode and decode);
3. the same at the callee, and hang-up: from just before ``call:hangup`` to ``call:ended`` at the callee.

The first-video time is also cut into stages at moments both devices record (``call:accepted`` at the caller, offer
sent and received, answer sent and received, the caller's connection up, first frame), to tell Haven's hops from
aiortc's work. CPU (utime + stime from ``/proc/<pid>/stat``) of each node, Redis, PostgreSQL and this process is read
around the calls, after a 3 s idle baseline, hence server CPU per call; with one pair, node CPU is also summed per
step of a call. The CPU other processes used meanwhile is recorded: the machine is shared. A Markdown summary goes to stdout and everything to
``bench/results/calls-<timestamp>.json``. Every wait is bounded and the run is capped by ``--time-limit``; what it
started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.chat import log, machine_busy_seconds
from bench.chat_targets import HavenDeployment, Services
from bench.cpu import CLOCK_TICKS, CpuProbe, cpu_seconds, delta
from bench.rooms import bounded, machine
from bench.runs import bounded_run, write_results
from bench.stats import summarize
from tests.support.call_peer import CallPeer

COMMAND = ".venv/bin/python -m bench.calls"

RING_TIMEOUT = 10.0  # seconds from call:invite to call:incoming
MEDIA_TIMEOUT = 20.0  # seconds from call:accept to the first decoded video frame on each side
ENDED_TIMEOUT = 10.0  # seconds from call:hangup to call:ended on each side
SETUP_CONCURRENCY = 4  # account creations in flight (argon2 hashing on the nodes' 2 cores)
PAUSE = 0.2  # seconds between a pair's calls, so a call's teardown is not measured in the next one's ring
IDLE_SECONDS = 3.0  # every device connected, no call: the nodes' background CPU (heartbeats, sweeps) as a baseline


# The time from call:accept to the caller's first video frame, cut at the moments both devices record.
STAGES = (
    ("accepted", "`call:accept` sent → `call:accepted` at the caller (Haven, across Redis)"),
    ("offer_made", "caller makes its offer (aiortc: transceivers, candidates gathered)"),
    ("offer_relayed", "offer sent → offer at the callee (Haven `rtc:signal`, across Redis)"),
    ("answer_made", "callee makes its answer (aiortc)"),
    ("answer_relayed", "answer sent → answer at the caller (Haven `rtc:signal`, across Redis)"),
    ("connected", "answer at the caller → caller connected (ICE checks, DTLS handshake)"),
    ("first_frame", "connected → first decoded video frame (keyframe encode, SRTP, decode)"),
)


STEPS = ("invite_to_ring", "accept_to_video", "hangup_to_ended")


class BenchError(RuntimeError):
    pass


@dataclass
class Couple:
    """A mentor and mentee with an active pairing, each with one device kept for the whole run."""

    index: int
    mentor_id: str
    mentor_token: str
    mentee_id: str
    mentee_token: str
    mentor: CallPeer = field(init=False)
    mentee: CallPeer = field(init=False)

    def __post_init__(self) -> None:
        self.mentor = CallPeer(f"mentor-{self.index}")
        self.mentee = CallPeer(f"mentee-{self.index}")


@dataclass
class Samples:
    ring: list[float] = field(default_factory=list)
    first_video_caller: list[float] = field(default_factory=list)
    first_video_callee: list[float] = field(default_factory=list)
    hangup_ended: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name, _ in STAGES})
    errors: list[str] = field(default_factory=list)
    # Node CPU seconds spent while each step of a call was in progress, summed over completed calls.
    step_cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))
    started: int = 0
    completed: int = 0


class CallsBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-calls-"))
        self.probe = CpuProbe()
        self.services = Services(self.probe)
        self.deployment = HavenDeployment(self.services, self.workdir)
        self.couples: list[Couple] = []
        self.samples = Samples()
        self.phase: dict[str, Any] = {}
        self.idle: dict[str, Any] = {}

    # -- set-up ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.services.start()
        await self.deployment.start()
        self.probe.add("loadgen", os.getpid())

    async def make_couples(self) -> None:
        apis, admin = self.deployment.apis, self.deployment.admin
        tag = secrets.token_hex(3)

        async def make(index: int) -> Couple:
            mentor_id, mentor_token = await apis[0].user(admin, f"calls-{tag}-mentor-{index}@example.org", "mentor")
            mentee_id, mentee_token = await apis[1].user(
                admin, f"calls-{tag}-mentee-{index}@example.org", "participant"
            )
            status, body = await apis[0].call(
                "POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentee_id}
            )
            if status != 201:
                raise BenchError(f"POST /api/pairings: {status} {body}")
            return Couple(index, mentor_id, mentor_token, mentee_id, mentee_token)

        made = await bounded(SETUP_CONCURRENCY, [partial(make, i) for i in range(self.args.pairs)])
        for result in made:
            if isinstance(result, BaseException):
                raise result
            self.couples.append(result)
        node_a, node_b = self.deployment.urls()
        for couple in self.couples:
            await couple.mentor.connect(node_a, couple.mentor_token)
            await couple.mentee.connect(node_b, couple.mentee_token)

    # -- one call --------------------------------------------------------------------------------------------

    async def one_call(self, couple: Couple) -> None:
        caller, callee, s = couple.mentor, couple.mentee, self.samples
        s.started += 1
        try:
            cpu = [self.nodes_cpu()]
            invited_at = time.perf_counter()
            ack = await caller.invite(couple.mentee_id)
            if ack["state"] != "ringing":
                raise BenchError(f"call:invite answered {ack!r}")
            await callee.incoming(RING_TIMEOUT)
            ring = callee.arrived_at["call:incoming"] - invited_at
            cpu.append(self.nodes_cpu())

            accepted_at = time.perf_counter()
            await callee.accept()
            await caller.wait_frames(video=1, within=MEDIA_TIMEOUT)
            await callee.wait_frames(video=1, within=MEDIA_TIMEOUT)
            if caller.media is None or callee.media is None:
                raise BenchError("frames counted without a peer connection")
            first_caller = caller.media.first_frame_at["video"] - accepted_at
            first_callee = callee.media.first_frame_at["video"] - accepted_at
            stages = self.stages(caller, callee, accepted_at)
            cpu.append(self.nodes_cpu())

            hangup_at = time.perf_counter()
            await caller.hangup()
            ended = await callee.ended(ENDED_TIMEOUT)
            ended_at = callee.arrived_at["call:ended"]
            if ended["reason"] != "hangup" or (await caller.ended(ENDED_TIMEOUT))["reason"] != "hangup":
                raise BenchError(f"call:ended with {ended!r}")
            cpu.append(self.nodes_cpu())
        except Exception as exc:
            s.errors.append(f"pair {couple.index} call {s.started}: {exc!r}")
            with contextlib.suppress(Exception):
                await caller.hangup()
        else:
            s.ring.append(ring)
            s.first_video_caller.append(first_caller)
            s.first_video_callee.append(first_callee)
            s.hangup_ended.append(ended_at - hangup_at)
            for name, seconds in stages.items():
                s.stages[name].append(seconds)
            for step, before, after in zip(STEPS, cpu[:-1], cpu[1:], strict=True):
                s.step_cpu[step] += after - before
            s.completed += 1
        finally:
            await asyncio.gather(caller.leave_call(), callee.leave_call(), return_exceptions=True)

    def nodes_cpu(self) -> float:
        # The nodes alone: a whole snapshot walks /proc for PostgreSQL's backends, which would cost the peers' CPU.
        return sum(cpu_seconds(self.probe.pids[name]) for name in self.deployment.node_names)

    @staticmethod
    def stages(caller: CallPeer, callee: CallPeer, accepted_at: float) -> dict[str, float]:
        if caller.media is None or caller.media.connected_at is None:
            raise BenchError("a first frame before the caller's connection was up")
        moments = [
            accepted_at,
            caller.arrived_at["call:accepted"],
            caller.sent_at["offer"],
            callee.arrived_at["rtc:signal:offer"],
            callee.sent_at["answer"],
            caller.arrived_at["rtc:signal:answer"],
            caller.media.connected_at,
            caller.media.first_frame_at["video"],
        ]
        return {
            name: later - earlier for (name, _), earlier, later in zip(STAGES, moments[:-1], moments[1:], strict=True)
        }

    async def calls(self) -> None:
        pairs = len(self.couples)
        shares = [self.args.calls // pairs + (1 if i < self.args.calls % pairs else 0) for i in range(pairs)]

        async def pair_calls(couple: Couple, count: int) -> None:
            for _ in range(count):
                await self.one_call(couple)
                await asyncio.sleep(PAUSE)

        before, busy_before, began = self.probe.snapshot(), machine_busy_seconds(), time.perf_counter()
        await asyncio.gather(*(pair_calls(c, n) for c, n in zip(self.couples, shares, strict=True)))
        wall = time.perf_counter() - began
        cpu = delta(before, self.probe.snapshot())
        # This machine is shared: what processes the bench did not start used meanwhile goes in the record.
        others = max(0.0, machine_busy_seconds() - busy_before - sum(cpu.values()))
        self.phase = {"wall_s": wall, "cpu_s": cpu, "other_processes_cores_busy": others / wall if wall else None}

    async def measure(self) -> dict[str, Any]:
        began = time.perf_counter()
        await self.start()
        await self.make_couples()
        log(f"setup: {len(self.couples)} pairings, devices on both nodes, in {time.perf_counter() - began:.1f} s")
        before = self.probe.snapshot()
        await asyncio.sleep(IDLE_SECONDS)
        self.idle = {"wall_s": IDLE_SECONDS, "cpu_s": delta(before, self.probe.snapshot())}
        await self.calls()
        log(f"calls: {self.samples.completed} of {self.args.calls} completed, {len(self.samples.errors)} errors")
        return self.results(time.perf_counter() - began)

    # -- reporting -------------------------------------------------------------------------------------------

    def results(self, total_s: float) -> dict[str, Any]:
        s = self.samples
        cpu, wall = self.phase.get("cpu_s", {}), self.phase.get("wall_s", 0.0)
        nodes = sum(cpu.get(name, 0.0) for name in self.deployment.node_names)
        idle_nodes = sum(self.idle.get("cpu_s", {}).get(name, 0.0) for name in self.deployment.node_names)
        # The nodes' background work goes on during the calls too; take it out to get what the calls cost.
        background = idle_nodes / IDLE_SECONDS * wall if self.idle else 0.0

        def per_call(seconds: float) -> float | None:
            return round(seconds * 1000 / s.completed, 2) if s.completed else None

        media_versions = {}
        for package in ("aiortc", "aioice", "av"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                media_versions[package] = metadata.version(package)
        return {
            "benchmark": "calls",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": COMMAND,
            "total_wall_s": round(total_s, 1),
            "config": {
                "calls": self.args.calls,
                "pairs": self.args.pairs,
                "nodes": list(self.deployment.node_names),
                "placement": "mentor (caller) devices on node A, mentee (callee) devices on node B",
                "media": "aiortc, synthetic Opus audio + VP8 320x240 at 15 fps, no ICE servers, policy all",
                "pause_between_calls_s": PAUSE,
                "timeouts_s": {"ring": RING_TIMEOUT, "media": MEDIA_TIMEOUT, "ended": ENDED_TIMEOUT},
                "percentiles": "nearest rank",
                "postgres": "private" if self.services.postgres else "HAVEN_TEST_DATABASE_URL",
                "redis": "private" if self.services.redis else "HAVEN_TEST_REDIS_URL",
            },
            "machine": {**machine(), "media_packages": media_versions},
            "latency_ms": {
                "ring": summarize(s.ring),
                "first_video_caller": summarize(s.first_video_caller),
                "first_video_callee": summarize(s.first_video_callee),
                "hangup_ended": summarize(s.hangup_ended),
            },
            "first_video_caller_stages_ms": {name: summarize(values) for name, values in s.stages.items()},
            "counts": {"started": s.started, "completed": s.completed, "errors": len(s.errors)},
            "errors": s.errors[:50],
            "cpu": {
                "clock_ticks_per_s": CLOCK_TICKS,
                "calls_phase_wall_s": round(wall, 2),
                "calls_phase_cpu_s": {name: round(value, 2) for name, value in cpu.items()},
                "other_processes_cores_busy": _round(self.phase.get("other_processes_cores_busy"), 3),
                "nodes_cpu_ms_per_call": per_call(nodes),
                "idle_nodes_cores_busy": round(idle_nodes / IDLE_SECONDS, 4) if self.idle else None,
                "nodes_cpu_ms_per_call_above_idle": per_call(max(0.0, nodes - background)),
                # Only meaningful with one pair: with several, other calls' steps overlap each window.
                "nodes_cpu_ms_per_call_by_step": {step: per_call(value) for step, value in s.step_cpu.items()},
                "redis_cpu_ms_per_call": per_call(cpu.get("redis", 0.0)),
                "postgres_cpu_ms_per_call": per_call(cpu.get("postgres", 0.0)),
                "loadgen_cpu_ms_per_call": per_call(cpu.get("loadgen", 0.0)),
            },
            "samples_ms": {
                "ring": [round(v * 1000, 2) for v in s.ring],
                "first_video_caller": [round(v * 1000, 2) for v in s.first_video_caller],
                "first_video_callee": [round(v * 1000, 2) for v in s.first_video_callee],
                "hangup_ended": [round(v * 1000, 2) for v in s.hangup_ended],
                "stages": {name: [round(v * 1000, 2) for v in values] for name, values in s.stages.items()},
            },
        }

    # -- cleaning up -----------------------------------------------------------------------------------------

    async def cleanup(self) -> None:
        devices = [device for couple in self.couples for device in (couple.mentor, couple.mentee)]
        await asyncio.gather(*(device.close() for device in devices), return_exceptions=True)
        await self.deployment.stop()
        await self.services.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    latency, counts, cpu = results["latency_ms"], results["counts"], results["cpu"]
    config = results["config"]
    rows = [
        ("ring: `call:invite` sent → `call:incoming` at the callee", "ring"),
        ("first video at the caller: `call:accept` sent → first decoded frame", "first_video_caller"),
        ("first video at the callee: `call:accept` sent → first decoded frame", "first_video_callee"),
        ("hang-up: `call:hangup` sent → `call:ended` at the callee", "hangup_ended"),
    ]
    lines = [
        f"Haven calls benchmark, {results['started_at']}: {config['calls']} calls, {config['pairs']} pair(s) calling "
        f"at once, caller on node A and callee on node B, {results['machine']['cpus']} CPUs shared with the peers",
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
        "| First video at the caller, by stage | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, label in STAGES:
        row = results["first_video_caller_stages_ms"][name]
        lines.append(f"| {label} | {_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} |")
    phase = cpu["calls_phase_cpu_s"]
    lines += [
        "",
        f"Completed {counts['completed']} of {counts['started']} calls; errors: {counts['errors']}.",
        "",
        f"CPU over the calls ({cpu['calls_phase_wall_s']:.1f} s): "
        + ", ".join(f"{name} {value:.2f} s" for name, value in phase.items())
        + f". Per call: nodes {_ms(cpu['nodes_cpu_ms_per_call'])} ms "
        f"({_ms(cpu['nodes_cpu_ms_per_call_above_idle'])} ms above their idle {cpu['idle_nodes_cores_busy']} cores), "
        f"Redis {_ms(cpu['redis_cpu_ms_per_call'])} ms, "
        f"PostgreSQL {_ms(cpu['postgres_cpu_ms_per_call'])} ms, load generator (both aiortc peers) "
        f"{_ms(cpu['loadgen_cpu_ms_per_call'])} ms; resolution 1/{cpu['clock_ticks_per_s']} s per reading. "
        f"Processes the bench did not start kept {cpu['other_processes_cores_busy']} cores busy meanwhile.",
    ]
    if config["pairs"] == 1:
        by_step = cpu["nodes_cpu_ms_per_call_by_step"]
        lines += [
            "",
            "Node CPU per call while each step was in progress: "
            + ", ".join(f"{step} {_ms(value)} ms" for step, value in by_step.items())
            + "; the rest of a call's node CPU falls between calls (closing, contact status).",
        ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = CallsBench(args)
    results = await bounded_run(bench.measure, bench.cleanup, bench.deployment.logs, args.time_limit, 60)
    print(markdown(results))
    write_results("calls", results)
    return 1 if results["counts"]["errors"] or results["counts"]["completed"] < args.calls else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="calls in all (default 50)")
    parser.add_argument("--pairs", type=int, default=1, help="mentor/mentee pairs, calls in flight (default 1)")
    parser.add_argument("--time-limit", type=float, default=240.0, help="cap on the measured run, seconds")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 500 or not 1 <= args.pairs <= 5:
        parser.error("calls 1-500, pairs 1-5 (every pair's two peers encode and decode video on these cores)")
    if not 10 <= args.time_limit <= 900:
        parser.error("time limit 10-900 s")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
