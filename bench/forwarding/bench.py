"""Media-forwarding benchmark: three forwarders side by side on the same all-video rooms, in one run.

Run from the repository root::

    .venv/bin/python -m bench.forwarding                       # relay, janus, haven; about 8 minutes
    .venv/bin/python -m bench.forwarding --quick               # about 2 minutes
    .venv/bin/python -m bench.forwarding --peers relay,janus   # only these

The forwarders (``bench.forwarding.servers``): aiortc's ``MediaRelay`` in ``bench/reference/relay_server.py``,
Janus's VideoRoom plugin (Debian's ``janus``) and Haven's forwarder (``haven serve`` with ``HAVEN_MESH_LIMIT=0``).

Every member of a room publishes a 640x360 VP8 stream at 30 fps and about 500 kbps and an Opus stream (20 ms
packets) and receives every other member's. The clients (``bench.forwarding.media``/``client``) never encode or
decode: they replay a clip encoded once and count what arrives at the RTP level. They are spread over ``--workers``
processes (``bench.forwarding.worker``), so one event loop does not carry a whole room. Members join one after
another, ``JOIN_STAGGER`` apart; when every member has a complete keyframe from every other (or after a bounded
wait), ``--warmup`` seconds pass, then a ``--window`` of seconds is measured:

1. **Forwarder CPU per forwarded packet.** utime + stime of the forwarding process (``/proc/<pid>/stat``, all its
   threads; Haven's with its children) over the window, divided by the RTP packets the subscribers received in it
   (distinct sequence numbers, video and audio, retransmissions not counted). Loopback delivery is charged to the
   sending process, so each side pays its own sends.
2. **Loss and delivery.** Per received stream, loss = 1 - received / expected, expected from the first and last
   sequence numbers seen in the window; video frames and audio packets delivered against what each publisher sent
   in the window (this is what catches a forwarder that re-encodes: its sequence numbers have no gaps when it drops
   frames). A room is *carried* when loss < 1 %, at least 99 % of the video frames and audio packets arrive, and no
   stream is missing. Rooms grow (``--sizes``, per forwarder) until one is not carried, or the forwarder and the
   load generator together keep ``SATURATED_CORES`` of the two cores busy. What other processes on the (shared)
   machine used in each window is recorded beside it.
3. **Audio delay.** Every Opus packet carries its send time (``time.monotonic_ns()``) in Opus padding; a forwarder
   that passes payloads on unchanged (Janus, Haven) yields a delay for every packet. The audio comes in talk spurts
   (0.9 s on, 0.1 s off), so the first packet of each spurt can be timed through a forwarder that re-encodes too
   (the relay): "spurt onset" delay, every forwarder. Both include the clients' own send and receive path
   (``DIRECT_BASELINE`` runs two clients back to back to show it).
4. **Join to first video frame.** For each ordered pair of members, the time from the later of the two starting to
   join to the viewer's first complete VP8 keyframe of the other (a PLI is sent every 0.5 s until one arrives;
   a publisher answers a keyframe request at most every 0.5 s), reported for the ``--join-size`` room (10); a
   forwarder whose ladder stopped earlier gets a separate room of that size for this alone.

Results: a Markdown summary on stdout and everything in ``bench/results/forwarding-<UTC time>.json``. The run is
bounded by ``--time-limit``; every process it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.cpu import CLOCK_TICKS, cpu_seconds
from bench.forwarding.client import Member
from bench.forwarding.media import (
    AUDIO_CLOCK,
    AUDIO_GAP_PACKETS,
    AUDIO_SAMPLES,
    AUDIO_SPURT_PACKETS,
    gather_on,
    load_clip,
)
from bench.forwarding.servers import REPOSITORY, Server, make_server
from bench.runs import bounded_run, write_results
from bench.stats import summarize

COMMAND = ".venv/bin/python -m bench.forwarding"
PEERS = ("relay", "janus", "haven")
LADDER = (4, 6, 8, 10, 12, 15, 18, 20)
SIZES = {"relay": (2, 3, 4, 5), "janus": LADDER, "haven": LADDER}
QUICK_SIZES = {"relay": (2, 3), "janus": (4, 10), "haven": (4, 10)}
JOIN_STAGGER = 0.3  # seconds between two members starting to join
READY_BASE = 10.0  # seconds to wait for every first frame, plus READY_PER_MEMBER per member
READY_PER_MEMBER = 1.0
WORKER_TIMEOUT = 45.0  # seconds for any one worker command
LOSS_LIMIT = 0.01
DELIVERY_MIN = 0.99
SATURATED_CORES = 1.9  # of 2: above this over a window, the machine is the limit
SPURT_SECONDS = (AUDIO_SPURT_PACKETS + AUDIO_GAP_PACKETS) * AUDIO_SAMPLES / AUDIO_CLOCK
DIRECT_BASELINE = 5.0  # seconds of two clients connected directly, to time the clients' own audio path


class BenchError(RuntimeError):
    pass


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``: user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class WorkerProcess:
    """One ``bench.forwarding.worker`` process and its line-per-command protocol."""

    def __init__(self, index: int, log_path: Path) -> None:
        self.index = index
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self._log: Any = None

    async def start(self) -> None:
        self._log = self.log_path.open("w")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.forwarding.worker",
            cwd=str(REPOSITORY),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            limit=2**26,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def call(self, command: dict[str, Any], within: float = WORKER_TIMEOUT) -> dict[str, Any]:
        assert self.process is not None
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()
        async with asyncio.timeout(within):
            line = await self.process.stdout.readline()
        if not line:
            raise BenchError(f"worker {self.index} exited:\n{self.tail()}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.call({"cmd": "leave"}, within=30)
            with contextlib.suppress(Exception):
                assert self.process.stdin is not None
                self.process.stdin.write(b'{"cmd": "exit"}\n')
                await self.process.stdin.drain()
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._log is not None:
            self._log.close()

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Room:
    """One room of one size on one forwarder, from joins to the window's figures."""

    server: str
    size: int
    purpose: str = "ladder"  # or "join" (only the join measurement)
    names: list[str] = field(default_factory=list)
    join_started: dict[str, float] = field(default_factory=dict)
    join_errors: list[str] = field(default_factory=list)
    first_frames: dict[str, dict[str, float | None]] = field(default_factory=dict)
    ready_s: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def join_samples(self) -> list[float]:
        samples = []
        for viewer in self.names:
            for publisher in self.names:
                if viewer == publisher:
                    continue
                first = self.first_frames.get(viewer, {}).get(publisher)
                start = max(self.join_started.get(viewer, 0.0), self.join_started.get(publisher, 0.0))
                if first is not None and start:
                    samples.append(first - start)
        return samples

    def missing_first_frames(self) -> int:
        return sum(
            1
            for viewer in self.names
            for publisher in self.names
            if viewer != publisher and self.first_frames.get(viewer, {}).get(publisher) is None
        )


class ForwardingBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started_at = datetime.now(UTC)
        self.workdir = Path(tempfile.mkdtemp(prefix="haven-bench-forwarding-"))
        self.servers: dict[str, Server] = {}
        self.workers: list[WorkerProcess] = []
        self.rooms: list[Room] = []
        self.errors: list[str] = []
        self.baseline: dict[str, Any] = {}
        self.current: Server | None = None

    # -- one room ----------------------------------------------------------------------------------------------

    async def start_workers(self, spec: dict[str, Any], addresses: list[str], tag: str) -> None:
        self.workers = [WorkerProcess(i, self.workdir / f"worker-{tag}-{i}.log") for i in range(self.args.workers)]
        for worker in self.workers:
            await worker.start()
        for worker in self.workers:
            answer = await worker.call({"cmd": "setup", "spec": spec, "addresses": addresses})
            if not answer.get("ok"):
                raise BenchError(f"worker setup: {answer}")

    async def stop_workers(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
        self.workers = []

    async def run_room(self, server: Server, size: int, purpose: str = "ladder") -> Room:
        room = Room(server.name, size, purpose)
        self.current = server
        spec = await server.open_room(size)
        try:
            await self.start_workers(spec, server.client_addresses(), f"{server.name}-{size}-{purpose}")
            room.names = [server.member_name(i) for i in range(size)]
            await self.join_all(room)
            await self.wait_ready(room)
            if purpose == "ladder":
                await asyncio.sleep(self.args.warmup)
                room.figures = await self.measure_window(server, room)
        finally:
            await self.stop_workers()
            await server.close_room()
        return room

    def worker_for(self, index: int) -> WorkerProcess:
        return self.workers[index % len(self.workers)]

    async def join_all(self, room: Room) -> None:
        for index, name in enumerate(room.names):
            answer = await self.worker_for(index).call({"cmd": "join", "index": index, "name": name})
            room.join_started[name] = float(answer.get("join_started") or 0.0)
            if not answer.get("ok"):
                room.join_errors.append(f"{name}: {answer.get('error')}")
            await asyncio.sleep(JOIN_STAGGER)

    async def poll_status(self, room: Room) -> None:
        answers = await asyncio.gather(*(w.call({"cmd": "status"}) for w in self.workers))
        for answer in answers:
            for name, state in answer.get("members", {}).items():
                room.first_frames[name] = state["first_frames"]

    async def wait_ready(self, room: Room) -> None:
        began = time.monotonic()
        deadline = began + READY_BASE + READY_PER_MEMBER * room.size
        while True:
            await self.poll_status(room)
            if room.missing_first_frames() == 0:
                room.ready_s = time.monotonic() - began
                return
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.25)

    async def measure_window(self, server: Server, room: Room) -> dict[str, Any]:
        forwarder0, busy0, parts0 = server.forwarder_cpu(), machine_busy_seconds(), server.cpu_parts()
        workers0 = [cpu_seconds(w.pid) for w in self.workers]
        own0 = cpu_seconds(os.getpid())
        opened = await asyncio.gather(*(w.call({"cmd": "open"}) for w in self.workers))
        began = time.monotonic()
        await asyncio.sleep(self.args.window)
        closed = await asyncio.gather(*(w.call({"cmd": "close"}, within=90) for w in self.workers))
        wall = time.monotonic() - began
        forwarder_cpu = server.forwarder_cpu() - forwarder0
        parts = {name: round(value - parts0.get(name, 0.0), 3) for name, value in server.cpu_parts().items()}
        busy = machine_busy_seconds() - busy0
        workers_cpu = [cpu_seconds(w.pid) - c for w, c in zip(self.workers, workers0, strict=True)]
        workers_cpu.append(cpu_seconds(os.getpid()) - own0)  # this coordinating process, last
        for answer in (*opened, *closed):
            if not answer.get("ok"):
                raise BenchError(f"worker window: {answer}")
        await self.poll_status(room)
        figures = analyse(room, closed, wall, forwarder_cpu, workers_cpu, busy, server.forwarder_alive())
        figures["forwarder_cpu_parts_s"] = parts
        return figures

    # -- the run -----------------------------------------------------------------------------------------------

    async def direct_baseline(self) -> None:
        """Two clients back to back in this process: the clients' own audio path, with no forwarder."""
        gather_on(["127.0.0.1"])
        clip = load_clip()
        sender, receiver = Member("a", 0, clip), Member("b", 1, clip)
        try:
            pc_a, pc_b = sender.new_pc(), receiver.new_pc()
            sender.publish_on(pc_a)
            answer = await receiver.answer(pc_b, await sender.offer(pc_a), {})
            await sender.accept_answer(pc_a, answer)
            await asyncio.sleep(2)
            receiver.open_window()
            await asyncio.sleep(DIRECT_BASELINE)
            delays = [d for w in receiver.close_window().values() for d in w.delays]
            self.baseline = {"audio_delay_ms": summarize(delays), "seconds": DIRECT_BASELINE}
        finally:
            await sender.close()
            await receiver.close()

    def sizes_for(self, peer: str) -> tuple[int, ...]:
        if self.args.sizes:
            return tuple(self.args.sizes)
        return (QUICK_SIZES if self.args.quick else SIZES)[peer]

    async def ladder(self, peer: str) -> None:
        server = self.servers[peer]
        for size in self.sizes_for(peer):
            log(f"{peer}: room of {size} ...")
            try:
                room = await self.run_room(server, size)
            except Exception as exc:
                self.errors.append(f"{peer} size {size}: {exc!r}")
                log(f"{peer}: room of {size} failed: {exc!r}\n{server.logs()}")
                break
            self.rooms.append(room)
            f = room.figures
            log(
                f"{peer}: {size} members: loss {pct(f['loss'])}, video delivered {pct(f['video_delivery'])}, "
                f"forwarder {f['forwarder_cores']:.2f} cores, {fmt(f['forwarder_us_per_packet'])} us/packet, "
                f"load generator {f['load_generator_cores']:.2f}, other processes {f['other_processes_cores']:.2f} cores, "
                f"carried: {f['carried']}"
            )
            if not f["carried"] or f["bench_cores"] >= SATURATED_CORES:
                break
        if not any(r.server == peer and r.size == self.args.join_size for r in self.rooms):
            log(f"{peer}: room of {self.args.join_size} for the join measurement ...")
            try:
                self.rooms.append(await self.run_room(server, self.args.join_size, purpose="join"))
            except Exception as exc:
                self.errors.append(f"{peer} join room: {exc!r}")
                log(f"{peer}: join room failed: {exc!r}")

    async def measure(self) -> dict[str, Any]:
        began = time.monotonic()
        clip = load_clip()
        await self.direct_baseline()
        for peer in self.args.peers:
            server = make_server(peer, self.workdir, max(max(self.sizes_for(peer)), self.args.join_size))
            self.servers[peer] = server
            try:
                await server.start()
            except Exception as exc:
                self.errors.append(f"{peer} start: {exc!r}")
                log(f"{peer}: could not start: {exc!r}\n{server.logs()}")
                with contextlib.suppress(Exception):
                    await server.stop()
                continue
            try:
                await self.ladder(peer)
            finally:
                with contextlib.suppress(Exception):
                    await server.stop()
        return self.results(time.monotonic() - began, clip.describe())

    async def cleanup(self) -> None:
        await self.stop_workers()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                await server.stop()
        if not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self) -> str:
        parts = [server.logs() for server in self.servers.values()]
        parts += [f"--- worker {w.index} ---\n{w.tail()}" for w in self.workers]
        return "\n".join(parts)

    # -- results -----------------------------------------------------------------------------------------------

    def results(self, total_s: float, clip: dict[str, Any]) -> dict[str, Any]:
        peers = {}
        for peer, server in self.servers.items():
            ladder = [r for r in self.rooms if r.server == peer and r.purpose == "ladder"]
            carried = [r.size for r in ladder if r.figures.get("carried")]
            largest = None
            for room in ladder:  # the largest size below which every room was carried
                if not room.figures.get("carried"):
                    break
                largest = room.size
            join_room = next((r for r in self.rooms if r.server == peer and r.size == self.args.join_size), None)
            peers[peer] = {
                "server": server.describe(),
                "largest_room_carried": largest,
                # False when every size tried was carried: the limit lies above the ladder.
                "limit_found": bool(ladder) and not all(r.figures.get("carried") for r in ladder),
                "sizes_carried": carried,
                "rooms": [room_view(r) for r in ladder],
                "join_room": room_view(join_room) if join_room else None,
                "join_to_first_video_ms": summarize(join_room.join_samples()) if join_room else None,
                "join_missing_first_frames": join_room.missing_first_frames() if join_room else None,
            }
        versions = {}
        for package in ("aiortc", "aioice", "av", "pylibsrtp", "python-socketio", "aiohttp"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions[package] = metadata.version(package)
        return {
            "benchmark": "forwarding",
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "command": COMMAND + " " + " ".join(sys.argv[1:]),
            "total_wall_s": round(total_s, 1),
            "config": {
                "peers": list(self.args.peers),
                "sizes": {p: list(self.sizes_for(p)) for p in self.args.peers},
                "warmup_s": self.args.warmup,
                "window_s": self.args.window,
                "workers": self.args.workers,
                "join_stagger_s": JOIN_STAGGER,
                "join_size": self.args.join_size,
                "loss_limit": LOSS_LIMIT,
                "delivery_min": DELIVERY_MIN,
                "saturated_cores": SATURATED_CORES,
                "clip": clip,
                "audio_spurts": f"{AUDIO_SPURT_PACKETS} packets on, {AUDIO_GAP_PACKETS} off",
                "percentiles": "nearest rank",
            },
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "packages": versions,
                "load_generator": f"{self.args.workers} worker processes on the same 2 cores",
            },
            "direct_baseline": self.baseline,
            "peers": peers,
            "errors": self.errors,
        }


def analyse(
    room: Room,
    closed: list[dict[str, Any]],
    wall: float,
    forwarder_cpu: float,
    workers_cpu: list[float],
    busy: float,
    alive: bool,
) -> dict[str, Any]:
    members: dict[str, Any] = {}
    streams: list[dict[str, Any]] = []
    for answer in closed:
        members.update(answer["members"])
        streams += answer["streams"]
    by_key = {(s["subscriber"], s["publisher"], s["kind"]): s for s in streams}
    received = sum(s["received"] for s in streams)
    expected = sum(s["expected"] for s in streams)
    frames_sent = frames_got = audio_sent = audio_got = 0
    missing = []
    for subscriber in room.names:
        for publisher in room.names:
            if subscriber == publisher:
                continue
            sent = members.get(publisher, {})
            frames_sent += sent.get("video_frames_sent", 0)
            audio_sent += sent.get("audio_packets_sent", 0)
            for kind in ("video", "audio"):
                stream = by_key.get((subscriber, publisher, kind))
                if stream is None or not stream["packets"]:
                    missing.append(f"{publisher}->{subscriber} {kind}")
                elif kind == "video":
                    frames_got += stream["frames"]
                else:
                    audio_got += stream["packets"]
    worst = max((1 - s["received"] / s["expected"] for s in streams if s["expected"]), default=None)
    loss = 1 - received / expected if expected else None
    video_delivery = frames_got / frames_sent if frames_sent else None
    audio_delivery = audio_got / audio_sent if audio_sent else None
    delays = [d / 1000 for s in streams if s["kind"] == "audio" for d in s["delays_ms"]]
    onset, unmatched = onset_delays(streams, members)
    carried = bool(
        alive
        and loss is not None
        and loss < LOSS_LIMIT
        and not missing
        and (video_delivery or 0) >= DELIVERY_MIN
        and (audio_delivery or 0) >= DELIVERY_MIN
    )
    worker_peak = max(workers_cpu) / wall if workers_cpu else 0.0
    bench_cores = (forwarder_cpu + sum(workers_cpu)) / wall
    return {
        "window_s": round(wall, 2),
        "streams_received": len([s for s in streams if s["packets"]]),
        "streams_expected": room.size * (room.size - 1) * 2,
        "missing_streams": missing[:40],
        "missing_stream_count": len(missing),
        "packets_forwarded": received,
        "packets_per_s": round(received / wall, 1),
        "loss": loss,
        "worst_stream_loss": worst,
        "video_frames_sent": frames_sent,
        "video_frames_received": frames_got,
        "video_delivery": video_delivery,
        "audio_packets_sent": audio_sent,
        "audio_packets_received": audio_got,
        "audio_delivery": audio_delivery,
        "received_kbps_per_video_stream": round(
            sum(s["bytes"] for s in streams if s["kind"] == "video")
            * 8
            / 1000
            / wall
            / max(1, room.size * (room.size - 1)),
            1,
        ),
        "forwarder_cpu_s": round(forwarder_cpu, 3),
        "forwarder_cores": forwarder_cpu / wall,
        "forwarder_us_per_packet": forwarder_cpu / received * 1e6 if received else None,
        "load_generator_cpu_s": [round(c, 3) for c in workers_cpu],  # per worker, then the coordinator
        "load_generator_cores": sum(workers_cpu) / wall,
        "load_generator_busiest_worker_cores": worker_peak,
        "machine_cores_busy": busy / wall,
        # Processes this bench did not start (the machine is shared): their CPU in the window.
        "other_processes_cores": max(0.0, busy / wall - bench_cores),
        "bench_cores": bench_cores,
        "forwarder_alive": alive,
        "audio_delay_ms": summarize(delays),
        "audio_onset_delay_ms": summarize(onset),
        "audio_onsets_unmatched": unmatched,
        "replay_skipped": sum(m.get("replay_skipped", 0) for m in members.values()),
        "forced_keyframes": sum(m.get("forced_keyframes", 0) for m in members.values()),
        "retransmissions_or_other_packets": sum(s["other_packets"] for s in streams),
        "member_errors": {name: m["errors"] for name, m in members.items() if m.get("errors")},
        "carried": carried,
    }


def onset_delays(streams: list[dict[str, Any]], members: dict[str, Any]) -> tuple[list[float], int]:
    """Match each spurt's first packet at a subscriber with the publisher's latest spurt start before it."""
    delays: list[float] = []
    unmatched = 0
    for stream in streams:
        if stream["kind"] != "audio":
            continue
        starts = sorted(members.get(stream["publisher"], {}).get("audio_onsets", []))
        for arrival in stream["onsets"]:
            index = bisect.bisect_right(starts, arrival) - 1
            if index < 0 or arrival - starts[index] > SPURT_SECONDS / 2:
                unmatched += 1
                continue
            delays.append(arrival - starts[index])
    return delays, unmatched


def room_view(room: Room) -> dict[str, Any]:
    samples = room.join_samples()
    return {
        "size": room.size,
        "purpose": room.purpose,
        "ready_s": None if room.ready_s is None else round(room.ready_s, 2),
        "join_errors": room.join_errors,
        "missing_first_frames": room.missing_first_frames(),
        "join_to_first_video_ms": summarize(samples),
        "join_to_first_video_samples_ms": [round(s * 1000, 1) for s in samples],
        **{key: _rounded(value) for key, value in room.figures.items()},
    }


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    return value


def carried_text(largest: int | None, limit_found: bool) -> str:
    if largest is None:
        return "none"
    return str(largest) if limit_found else f"{largest} (every size tried)"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    config = results["config"]
    lines = [
        f"Forwarding benchmark, {results['started_at']}: every member publishes VP8 640x360 30 fps "
        f"(~{config['clip']['video_kbps']:.0f} kbps) + Opus and receives all others; {config['window_s']:.0f} s "
        f"windows after {config['warmup_s']:.0f} s warm-up; clients in {config['workers']} processes on the same "
        f"{results['machine']['cpus']} cores.",
        "",
        "| forwarder | members | streams | packets/s forwarded | forwarder cores | forwarder CPU us/packet | loss | "
        "video frames delivered | audio delay p50 / p99 ms | spurt-onset delay p50 / p99 ms | load gen cores | "
        "other processes cores | carried |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for peer, data in results["peers"].items():
        for room in data["rooms"]:
            delay, onset = room.get("audio_delay_ms") or {}, room.get("audio_onset_delay_ms") or {}
            lines.append(
                f"| {peer} | {room['size']} | {room.get('streams_received')}/{room.get('streams_expected')} | "
                f"{fmt(room.get('packets_per_s'), 0)} | {fmt(room.get('forwarder_cores'), 2)} | "
                f"{fmt(room.get('forwarder_us_per_packet'))} | {pct(room.get('loss'))} | "
                f"{pct(room.get('video_delivery'))} | {fmt(delay.get('p50_ms'))} / {fmt(delay.get('p99_ms'))} | "
                f"{fmt(onset.get('p50_ms'))} / {fmt(onset.get('p99_ms'))} | "
                f"{fmt(room.get('load_generator_cores'), 2)} | {fmt(room.get('other_processes_cores'), 2)} | "
                f"{'yes' if room.get('carried') else 'no'} |"
            )
    lines += [
        "",
        "| forwarder | largest room carried | CPU us/packet there | audio delay p50 / p99 ms there | "
        "spurt-onset delay p50 / p99 ms there | join → first video p50 / p99 ms (room of "
        f"{config['join_size']}) | first frames missing |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for peer, data in results["peers"].items():
        largest = data["largest_room_carried"]
        room = next((r for r in data["rooms"] if r["size"] == largest), None) or {}
        delay, onset = room.get("audio_delay_ms") or {}, room.get("audio_onset_delay_ms") or {}
        join = data.get("join_to_first_video_ms") or {}
        lines.append(
            f"| {peer} | {carried_text(largest, data['limit_found'])} | "
            f"{fmt(room.get('forwarder_us_per_packet'))} | {fmt(delay.get('p50_ms'))} / {fmt(delay.get('p99_ms'))} | "
            f"{fmt(onset.get('p50_ms'))} / {fmt(onset.get('p99_ms'))} | "
            f"{fmt(join.get('p50_ms'))} / {fmt(join.get('p99_ms'))} ({join.get('count', 0)} samples) | "
            f"{data.get('join_missing_first_frames')} |"
        )
    baseline = (results.get("direct_baseline") or {}).get("audio_delay_ms") or {}
    lines += [
        "",
        f"Clients back to back, no forwarder: audio delay p50 {fmt(baseline.get('p50_ms'), 2)} ms, "
        f"p99 {fmt(baseline.get('p99_ms'), 2)} ms (the clients' own send and receive path).",
    ]
    if results["errors"]:
        lines += ["", "Errors: " + "; ".join(results["errors"])]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    bench = ForwardingBench(args)
    results = await bounded_run(bench.measure, bench.cleanup, bench.logs, args.time_limit, 90)
    print(markdown(results))
    write_results("forwarding", results)
    return 1 if results["errors"] else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.forwarding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated: relay, janus, haven (default all)")
    parser.add_argument("--sizes", default="", help="room sizes for every peer, e.g. 4,8,12 (default per peer)")
    parser.add_argument("--quick", action="store_true", help="short windows and fewer sizes (about 2 minutes)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds after every first frame (default 5)")
    parser.add_argument("--window", type=float, default=None, help="measured seconds per room (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument("--join-size", type=int, default=10, help="room size for join → first video (default 10)")
    parser.add_argument("--time-limit", type=float, default=None, help="cap on the run, seconds (default 600)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, Janus configs)")
    args = parser.parse_args(argv)
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    if not args.peers or any(p not in PEERS for p in args.peers):
        parser.error(f"--peers takes a comma-separated subset of {', '.join(PEERS)}")
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if any(not 2 <= s <= 30 for s in args.sizes) or not 2 <= args.join_size <= 30:
        parser.error("room sizes are 2 to 30")
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 5.0)
    args.window = args.window if args.window is not None else (4.0 if args.quick else 10.0)
    args.time_limit = args.time_limit if args.time_limit is not None else (240.0 if args.quick else 600.0)
    if not 1 <= args.workers <= 4:
        parser.error("1 to 4 workers")
    if not 1 <= args.window <= 60 or not 0 <= args.warmup <= 30 or not 30 <= args.time_limit <= 1800:
        parser.error("window 1-60 s, warm-up 0-30 s, time limit 30-1800 s")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))
