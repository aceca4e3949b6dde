"""Sampling profiles of server processes during a benchmark's measured windows, with py-spy.

Shared by the benchmarks (``--profile-dir DIR``): for each window they want profiled, they hand the Python
processes' ids to ``Profiler.recording``; one ``py-spy record`` per process samples it (``-r`` times a second, on-CPU
stacks only) until the window ends, then is stopped with SIGINT, which makes it write its file:
``DIR/<label>-<name>.<ext>`` (speedscope JSON by default; open it at https://www.speedscope.app/, or ask for
``flamegraph`` SVGs or ``raw`` collapsed stacks).

py-spy is looked for at ``/tmp/tools/bin/py-spy`` (install it there with ``python3 -m venv /tmp/tools &&
/tmp/tools/bin/pip install py-spy``), then on PATH; without it the benchmark runs unprofiled and says so. It
attaches with ptrace, so it needs the right to trace the servers (root, or ``kernel.yama.ptrace_scope`` 0).

A profiled run is a different run: by default py-spy stops the process for each sample (``--profile-nonblocking``
does not, at the price of occasionally torn stacks), and py-spy's own CPU lands on the same cores. The benchmarks
record that the run was profiled and how much CPU py-spy used; compare figures only between unprofiled runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import cpu_seconds

PY_SPY_LOCATIONS = (Path("/tmp/tools/bin/py-spy"),)  # noqa: S108 - where the tooling is installed on this machine
FORMATS = {"speedscope": "json", "flamegraph": "svg", "raw": "txt"}
ATTACH_TIMEOUT = 10.0  # seconds for py-spy to attach and say it is sampling
STOP_TIMEOUT = 20.0  # seconds for py-spy to write its file after SIGINT (it symbolises every sample then)


def find_py_spy() -> Path | None:
    for candidate in PY_SPY_LOCATIONS:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("py-spy")
    return Path(found) if found else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The profiling options every benchmark offers."""
    parser.add_argument(
        "--profile-dir",
        type=Path,
        default=None,
        help="record the Haven nodes with py-spy during the measured windows, into this folder",
    )
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second (default 200)")
    parser.add_argument(
        "--profile-format", choices=sorted(FORMATS), default="speedscope", help="py-spy output (default speedscope)"
    )
    parser.add_argument(
        "--profile-nonblocking", action="store_true", help="py-spy does not pause the process to sample it"
    )
    parser.add_argument(
        "--profile-native",
        action="store_true",
        help="py-spy also records native frames (C extensions, uvloop's loop), at a higher cost per sample",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 1 <= args.profile_rate <= 1000:
        parser.error("profile rate 1-1000 samples per second")


@dataclass
class Recording:
    """One ``py-spy record`` of one process."""

    name: str
    pid: int
    output: Path
    log: Path
    process: subprocess.Popen[bytes]
    started: float
    cpu_before: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)


class Profiler:
    """Starts and stops py-spy around windows; a no-op (``enabled`` false) without ``--profile-dir`` or py-spy."""

    def __init__(
        self,
        directory: Path | None,
        rate: int = 200,
        output_format: str = "speedscope",
        nonblocking: bool = False,
        native: bool = False,
    ) -> None:
        self.directory = directory
        self.native = native
        self.rate = rate
        self.output_format = output_format
        self.nonblocking = nonblocking
        self.binary = find_py_spy() if directory is not None else None
        self.active: list[Recording] = []
        self.done: list[dict[str, Any]] = []
        self.note = ""
        if directory is not None and self.binary is None:
            self.note = (
                "profiling asked for, but py-spy was not found (install it with `python3 -m venv /tmp/tools && "
                "/tmp/tools/bin/pip install py-spy`): the run is not profiled"
            )
            print(self.note, file=sys.stderr, flush=True)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Profiler:
        return cls(
            args.profile_dir, args.profile_rate, args.profile_format, args.profile_nonblocking, args.profile_native
        )

    @property
    def enabled(self) -> bool:
        return self.binary is not None and self.directory is not None

    def caveat(self) -> str:
        return (
            f"the Haven nodes were profiled with py-spy ({self.rate}/s, "
            f"{'nonblocking' if self.nonblocking else 'pausing them for each sample'}) into {self.directory}: "
            "their latencies and CPU are inflated; compare only unprofiled runs"
        )

    def config(self) -> dict[str, Any] | None:
        if self.directory is None:
            return None
        return {
            "directory": str(self.directory),
            "py_spy": str(self.binary) if self.binary else None,
            "rate_per_s": self.rate,
            "format": self.output_format,
            "nonblocking": self.nonblocking,
            "native": self.native,
            "note": self.note or None,
        }

    async def start(self, processes: dict[str, int], label: str, max_seconds: float) -> list[Recording]:
        """One py-spy per process, attached and sampling when this returns (or failed, which is recorded)."""
        if not self.enabled:
            return []
        assert self.directory is not None
        assert self.binary is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        started: list[Recording] = []
        for name, pid in processes.items():
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{label}-{name}")
            output = self.directory / f"{stem}.{FORMATS[self.output_format]}"
            log = self.directory / f"{stem}.log"
            command = [
                str(self.binary),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, int(max_seconds + 0.999))),
                "--rate",
                str(self.rate),
                "--format",
                self.output_format,
                "--output",
                str(output),
            ]
            if self.nonblocking:
                command.append("--nonblocking")
            if self.native:
                command.append("--native")
            process = _spawn(command, log)
            recording = Recording(name, pid, output, log, process, time.perf_counter())
            self.active.append(recording)
            started.append(recording)
        await self._attached(started)
        for recording in started:
            recording.cpu_before = cpu_seconds(recording.process.pid)
        return started

    async def _attached(self, recordings: list[Recording]) -> None:
        """Wait (bounded) until every py-spy says it is sampling, or has exited (its log then says why)."""
        deadline = time.perf_counter() + ATTACH_TIMEOUT
        waiting = list(recordings)
        while waiting and time.perf_counter() < deadline:
            waiting = [r for r in waiting if r.process.poll() is None and "Sampling process" not in _read(r.log, 4096)]
            if waiting:
                await asyncio.sleep(0.05)

    async def stop(self, recordings: list[Recording]) -> list[dict[str, Any]]:
        """SIGINT each (so it writes its file), wait for them (bounded), and say what each produced."""
        for recording in recordings:
            recording.result["py_spy_cpu_s"] = round(cpu_seconds(recording.process.pid) - recording.cpu_before, 2)
            if recording.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    recording.process.send_signal(signal.SIGINT)
        deadline = time.perf_counter() + STOP_TIMEOUT
        for recording in recordings:
            while recording.process.poll() is None and time.perf_counter() < deadline:  # noqa: ASYNC110 - bounded
                await asyncio.sleep(0.05)
            if recording.process.poll() is None:
                recording.process.kill()
                recording.process.wait()
            if recording in self.active:
                self.active.remove(recording)
            text = _read(recording.log, 100_000)
            samples = re.search(r"Samples: (\d+) Errors: (\d+)", text)
            recording.result.update(
                {
                    "name": recording.name,
                    "pid": recording.pid,
                    "file": str(recording.output) if recording.output.exists() else None,
                    "seconds": round(time.perf_counter() - recording.started, 2),
                    "exit_code": recording.process.returncode,
                    "samples": int(samples.group(1)) if samples else None,
                    "sample_errors": int(samples.group(2)) if samples else None,
                }
            )
            if not recording.output.exists():
                recording.result["log_tail"] = text[-1000:]
            self.done.append(recording.result)
        return [r.result for r in recordings]

    @contextlib.asynccontextmanager
    async def recording(
        self, processes: dict[str, int], label: str, max_seconds: float
    ) -> AsyncIterator[list[Recording]]:
        """Profile ``processes`` (name -> pid) for the body of the ``async with``; at most ``max_seconds``."""
        recordings = await self.start(processes, label, max_seconds)
        try:
            yield recordings
        finally:
            await self.stop(recordings)

    async def close(self) -> None:
        """Stop any recording still running (for a benchmark's clean-up)."""
        if self.active:
            await self.stop(list(self.active))

    def pids(self) -> list[int]:
        """Process ids of the running py-spy processes (to leave their CPU out of 'other processes')."""
        return [r.process.pid for r in self.active]


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start py-spy with its output going to ``log`` (it only says what it is doing, and the totals at the end)."""
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603 - fixed tool command


def _read(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode(errors="replace")
    except OSError:
        return ""


def top(path: Path, count: int = 25) -> str:
    """The functions with the most samples in a speedscope file py-spy wrote, on the stack (total) and running
    (self), for the main thread and for all threads together. py-spy leaves out idle threads by the OS's view of
    them, so a thread parked in a C call (a thread pool's worker waiting for work, a child watcher in waitpid) can
    still show up: read the per-thread totals first."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]

    def label(index: int) -> str:
        frame = frames[index]
        return f"{frame['name']} ({Path(frame.get('file') or '?').name}:{frame.get('line')})"

    def tally(profiles: list[dict[str, Any]]) -> tuple[float, Counter[int], Counter[int]]:
        total: Counter[int] = Counter()
        own: Counter[int] = Counter()
        seconds = 0.0
        for profile in profiles:
            for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
                seconds += weight
                for index in set(stack):
                    total[index] += weight
                if stack:
                    own[stack[-1]] += weight
        return seconds, total, own

    lines = [f"{path}:"]
    lines += [f"  thread {p['name']}: {sum(p['weights']):.2f} s sampled" for p in data["profiles"]]
    main_thread = [p for p in data["profiles"] if "MainThread" in p["name"]]
    for title, profiles in (("main thread", main_thread), ("all threads", data["profiles"])):
        seconds, total, own = tally(profiles)
        if not seconds:
            continue
        for kind, counter in (("total (on the stack)", total), ("self (running)", own)):
            lines.append(f"  {title}, {kind}, of {seconds:.2f} s:")
            lines += [f"    {weight / seconds:6.1%}  {label(index)}" for index, weight in counter.most_common(count)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profiling", description="Summarise speedscope files py-spy wrote."
    )
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--count", type=int, default=25, help="functions per list (default 25)")
    args = parser.parse_args(argv)
    for path in args.files:
        print(top(path, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
