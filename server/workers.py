"""``haven serve --workers N``: N server processes on one port, started and kept running by a parent process.

Each worker is a whole ``haven serve`` in a fresh interpreter (``python -m server serve --worker ...``), so it runs
exactly the code one process runs, and it binds the same host and port with ``SO_REUSEPORT``: the kernel spreads
new connections over them. Clients speak Socket.IO over WebSocket only (the server refuses long-polling), so a
connection stays on the worker that accepted it and nothing needs sticky sessions. The workers are nodes of one
deployment and share rooms, presence and fan-out through Redis and records through PostgreSQL, exactly as nodes on
separate machines do; hence both are required.

Each start of a worker is a node with a name of its own. A node's heartbeat keeps alive every connection recorded
under its name, so a replacement under the dead worker's name would keep the dead worker's connections alive
too; under a new name they expire and are retired like those of any node that died.

The parent forwards SIGTERM and SIGINT to the workers once, each of which drains its connections and exits; it
starts again, after a growing delay, a worker that dies of its own accord; it exits 1 when the workers cannot all
start. The workers run in a process group of their own (a terminal's Ctrl-C reaches the parent alone, which
forwards it) and hold the read end of a pipe from the parent: when the parent dies, even by SIGKILL, the pipe
closes and they drain and exit rather than serve on unsupervised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from aiohttp import web

from server.config import LISTEN_BACKLOG, Settings

log = logging.getLogger("haven.workers")

# A worker that does not listen within this long is taken as unable to start.
START_SECONDS = 30.0
# SIGTERM to exit: a worker drains its connections (at most 10 s), then aiohttp waits for handlers (5 s).
STOP_SECONDS = 25.0
# Restart delays double from the first to the last; a worker that ran for STABLE_SECONDS starts from the first again.
FIRST_RESTART_SECONDS = 0.5
LAST_RESTART_SECONDS = 30.0
STABLE_SECONDS = 60.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
READY = b"1"


def refusal(settings: Settings) -> str | None:
    """Why this deployment cannot run ``settings.workers`` server processes on one port, or None when it can."""
    if settings.workers == 1:
        return None
    workers = f"--workers {settings.workers} (HAVEN_WORKERS)"
    if settings.redis_url is None:
        return (
            f"{workers} needs HAVEN_REDIS_URL: each worker is a node of its own, and nodes share rooms, presence "
            "and messages only through Redis"
        )
    if settings.is_sqlite:
        return (
            f"{workers} needs PostgreSQL (HAVEN_DATABASE_URL=postgresql+asyncpg://...): the embedded SQLite "
            "database is for one process"
        )
    if settings.port == 0:
        return f"{workers} needs a fixed port: with port 0 each worker would listen on a port of its own"
    return None


def node_name(base: str, index: int) -> str:
    """The node id of one start of worker ``index``: new at every start (see the module's docstring)."""
    return f"{base}-w{index}-{secrets.token_hex(3)}"


def restart_delay(quick_deaths: int) -> float:
    """Seconds to wait before starting a worker again that died (or failed to start) ``quick_deaths`` times in a
    row within STABLE_SECONDS of its start: FIRST_RESTART_SECONDS, doubled each time, up to LAST_RESTART_SECONDS."""
    return min(LAST_RESTART_SECONDS, FIRST_RESTART_SECONDS * 2.0 ** min(quick_deaths, 16))


def worker_environment(env: Mapping[str, str], settings: Settings, index: int) -> dict[str, str]:
    """The environment of a start of worker ``index``: the parent's, with a node id of its own and, unless set,
    a share of the cores for its forwarder processes so that all workers' together number about the cores."""
    worker_env = {**env, "HAVEN_NODE_ID": node_name(settings.node_id, index)}
    if not env.get("HAVEN_MEDIA_WORKERS"):
        worker_env["HAVEN_MEDIA_WORKERS"] = str(max(1, math.ceil((os.cpu_count() or 1) / settings.workers)))
    return worker_env


@dataclass
class Worker:
    """One start of one of the parent's worker processes."""

    index: int
    node_id: str
    process: asyncio.subprocess.Process
    started: float


class Supervisor:
    """The parent of ``settings.workers`` worker processes: starts them, starts again those that die, stops them."""

    def __init__(self, settings: Settings, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = dict(env)
        self.workers: dict[int, Worker] = {}
        self.stopping = asyncio.Event()

    async def run(self) -> int:
        """Serve until SIGTERM or SIGINT; the exit status: 0 after a clean stop, 1 when the workers cannot start
        or do not all stop cleanly."""
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._stop, signum)
        # Never written: its read end in each worker reaches end-of-file when this process ends, however it ends.
        self._lifeline, self._lifeline_write = os.pipe()
        keepers: list[asyncio.Task[None]] = []
        try:
            started = await asyncio.gather(*(self._start(index) for index in range(self.settings.workers)))
            if self.stopping.is_set():
                return 0 if await self._stop_all() else 1
            if not all(started):
                log.error("the workers could not all start; stopping")
                await self._stop_all()
                return 1
            log.info("serving", extra={"workers": self.settings.workers, "port": self.settings.port})
            keepers = [
                asyncio.create_task(self._keep(index), name=f"haven-worker-{index}")
                for index in range(self.settings.workers)
            ]
            await self.stopping.wait()
            # The keepers end by themselves once their worker has stopped (or their own start has been stopped).
            clean, *_ = await asyncio.gather(self._stop_all(), *keepers)
            return 0 if clean else 1
        finally:
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            os.close(self._lifeline)
            os.close(self._lifeline_write)

    def _stop(self, signum: int) -> None:
        if self.stopping.is_set():
            log.info("already stopping", extra={"signal": signal.Signals(signum).name})
            return
        log.info("stopping the workers", extra={"signal": signal.Signals(signum).name})
        self.stopping.set()

    async def _start(self, index: int) -> bool:
        """Start worker ``index`` and wait until it listens; False when it exits, hangs or is stopped first."""
        env = worker_environment(self.env, self.settings, index)
        ready_read, ready_write = os.pipe()
        with os.fdopen(ready_read, "rb", buffering=0) as ready:
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "server",
                    "serve",
                    "--worker",
                    f"{ready_write},{self._lifeline}",
                    env=env,
                    pass_fds=(ready_write, self._lifeline),
                    stdin=asyncio.subprocess.DEVNULL,
                    process_group=0,
                )
            except OSError:
                log.exception("a worker could not be started", extra={"worker": index})
                return False
            finally:
                os.close(ready_write)
            worker = Worker(index, env["HAVEN_NODE_ID"], process, asyncio.get_running_loop().time())
            self.workers[index] = worker
            if await self._listening(ready):
                log.info("worker listening", extra={"worker": index, "pid": process.pid, "node_id": worker.node_id})
                return True
        if self.stopping.is_set():
            await _terminate(process)
            return False
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        log.error("a worker exited before it listened", extra={"worker": index, "exit_code": await process.wait()})
        return False

    async def _listening(self, ready: BinaryIO) -> bool:
        """Whether the worker said it listens within START_SECONDS, before it exited or the parent was stopped."""
        reading = asyncio.ensure_future(_read_ready(ready))
        stopped = asyncio.ensure_future(self.stopping.wait())
        try:
            done, _ = await asyncio.wait({reading, stopped}, timeout=START_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            return reading in done and reading.result() == READY
        finally:
            for waiter in (reading, stopped):
                waiter.cancel()
            await asyncio.gather(reading, stopped, return_exceptions=True)

    async def _keep(self, index: int) -> None:
        """Start worker ``index`` again whenever it dies, later each time it dies soon after starting."""
        quick_deaths = 0
        while True:
            worker = self.workers[index]
            code = await worker.process.wait()
            if self.stopping.is_set():
                return
            ran = asyncio.get_running_loop().time() - worker.started
            quick_deaths = 0 if ran >= STABLE_SECONDS else quick_deaths + 1
            delay = restart_delay(quick_deaths)
            log.error(
                "a worker died; starting it again",
                extra={"worker": index, "pid": worker.process.pid, "exit_code": code, "restart_in": delay},
            )
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self.stopping.wait()
                if self.stopping.is_set() or await self._start(index):
                    break
                quick_deaths += 1
                delay = restart_delay(quick_deaths)

    async def _stop_all(self) -> bool:
        """Stop every running worker; True when all stopped cleanly."""
        running = [worker.process for worker in self.workers.values() if worker.process.returncode is None]
        return all(await asyncio.gather(*(_terminate(process) for process in running)))


async def _terminate(process: asyncio.subprocess.Process) -> bool:
    """SIGTERM, then SIGKILL after STOP_SECONDS; True when the worker exited with status 0 (or was ended by the
    SIGTERM itself, arriving before it had anything to drain)."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(STOP_SECONDS):
            return await process.wait() in (0, -signal.SIGTERM)
    except TimeoutError:
        log.error("a worker did not stop in time; killing it", extra={"pid": process.pid})
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return False


async def _read_ready(ready: BinaryIO) -> bytes:
    """The worker's word that it listens, or b"" when it exited first."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), ready)
    try:
        return await reader.read(1)
    finally:
        transport.close()


def parse_pipes(value: str) -> tuple[int, int]:
    """The ``--worker READY,LIFELINE`` value: the file descriptors a worker was started with."""
    ready, _, lifeline = value.partition(",")
    return int(ready), int(lifeline)


def serve_worker(app: web.Application, settings: Settings, pipes: tuple[int, int], shutdown_seconds: float) -> int:
    """Run ``app`` as one of a parent's workers until SIGTERM, SIGINT or the parent's end; the exit status."""
    return asyncio.run(_serve_worker(app, settings, pipes, shutdown_seconds))


async def _serve_worker(app: web.Application, settings: Settings, pipes: tuple[int, int], shutdown: float) -> int:
    ready, lifeline = pipes
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # Only the first request to stop counts: aiohttp's own handlers would break off a drain at a second one.
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    loop.add_reader(lifeline, _on_lifeline, lifeline, stop)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.port, reuse_port=True, backlog=LISTEN_BACKLOG).start()
        except OSError as exc:
            log.error("cannot listen", extra={"host": settings.host, "port": settings.port, "error": str(exc)})
            return 1
        os.write(ready, READY)
        os.close(ready)
        await stop.wait()
        log.info("stopping", extra={"node_id": settings.node_id})
        return 0
    finally:
        loop.remove_reader(lifeline)
        await runner.cleanup()


def _on_lifeline(fd: int, stop: asyncio.Event) -> None:
    # Readable only at end-of-file: the parent never writes.
    if not os.read(fd, 1):
        if not stop.is_set():
            log.warning("the parent process is gone; stopping")
        asyncio.get_running_loop().remove_reader(fd)
        stop.set()
