"""The node's forwarder workers: ``HAVEN_MEDIA_WORKERS`` processes (one per core by default), so a node forwards
on every core, each room's media on exactly one of them.

A room is placed on the live worker serving the fewest rooms; the forwarder's peer id in the room names the worker
and its generation, so when a worker dies its rooms go to another worker under a new peer id and ``moved`` tells
signaling to announce it (``room:media``), while a replacement process starts in the dead one's place. Workers
start when the first room needs one, so a node without forwarded rooms runs none.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from media import ipc
from media.errors import raise_refusal
from media.network import MediaNetwork
from media.room import Seat
from rooms.errors import NegotiationConflict
from rooms.model import Member, Room

log = logging.getLogger("haven.media")
REQUEST_TIMEOUT = 10.0
RESTART_BACKOFF = 2.0
OUTBOX_LIMIT = 1024  # a worker's messages to members waiting to be emitted
GAUGES = ("rooms", "members", "tasks", "udp_sockets")  # what a worker holds now, rather than has done
Send = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]
Moved = Callable[[str], Awaitable[None]]


class WorkerProcess:
    """One worker: its process, its end of the socket pair, and the requests waiting for its replies."""

    def __init__(self, index: int, generation: int) -> None:
        self.index = index
        self.generation = generation
        self.rooms: set[str] = set()
        self.stats: dict[str, int] = {}
        self.process: asyncio.subprocess.Process | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.ready = asyncio.Event()
        self.dead = False
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.task: asyncio.Task[None] | None = None
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.courier: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return f"w{self.index}g{self.generation}"

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            await asyncio.wait_for(self.ready.wait(), REQUEST_TIMEOUT)
        except TimeoutError as exc:
            raise NegotiationConflict("The room's forwarder is starting; try again.") from exc
        if self.dead or self.writer is None:
            raise NegotiationConflict("The room's forwarder restarted; the room will be told where it is now.")
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        try:
            ipc.write(self.writer, {**message, "id": request_id})
            await self.writer.drain()
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        except (TimeoutError, ConnectionError) as exc:
            raise NegotiationConflict("The forwarder did not answer; try again.") from exc
        finally:
            self.pending.pop(request_id, None)


class WorkerPool:
    def __init__(self, *, network: MediaNetwork, mesh_limit: int, video_limit: int | None, workers: int) -> None:
        self.network = network
        self.mesh_limit = mesh_limit
        self.video_limit = video_limit
        self.peer_id = f"forwarder-{secrets.token_hex(6)}"
        self._key = secrets.token_bytes(16)
        self._slots = [WorkerProcess(i, 0) for i in range(workers)]
        self._placement: dict[str, WorkerProcess] = {}
        # What each room's worker was last told (the periodic re-sync sends nothing when it has not changed).
        self._synced: dict[str, tuple[WorkerProcess, list[dict[str, Any]]]] = {}
        self._send: Send | None = None
        self._moved: Moved | None = None
        self._closing = False
        self.retired: dict[str, dict[str, int]] = {}  # counters of workers that died, so totals never go back

    def connect(self, send: Send, moved: Moved | None = None, refresh: Moved | None = None) -> None:
        self._send = send
        self._moved = moved

    async def start(self) -> None:
        """Workers start with the first room that needs one."""

    # -- placement -----------------------------------------------------------------------------------------

    def _worker_for(self, room_id: str) -> WorkerProcess:
        worker = self._placement.get(room_id)
        if worker is None or worker.dead:
            live = [w for w in self._slots if not w.dead]
            worker = min(live, key=lambda w: len(w.rooms))
            worker.rooms.add(room_id)
            self._placement[room_id] = worker
            if worker.task is None:
                worker.task = asyncio.create_task(self._run(worker), name=f"haven-media-{worker.label}")
        return worker

    def room_peer(self, room_id: str) -> str:
        worker = self._worker_for(room_id)
        tag = hashlib.blake2s(room_id.encode(), key=self._key, digest_size=6).hexdigest()
        return f"{self.peer_id}-{worker.label}-{tag}"

    async def forwarder(self, room_id: str) -> str:
        return self.room_peer(room_id)

    async def sync(self, room_id: str, room: Room | None) -> None:
        if room is None:
            self._synced.pop(room_id, None)
            worker = self._placement.pop(room_id, None)
            if worker is None:
                return
            worker.rooms.discard(room_id)
            if not worker.dead:
                await worker.request({"op": "sync", "room_id": room_id, "peer_id": "", "seats": None})
            return
        peer_id = self.room_peer(room_id)
        seats = [asdict(Seat.of(m)) for m in room.members]
        worker = self._worker_for(room_id)
        last = self._synced.get(room_id)
        if last is not None and last[0] is worker and last[1] == seats:
            return
        self._synced.pop(room_id, None)
        reply = await worker.request({"op": "sync", "room_id": room_id, "peer_id": peer_id, "seats": seats})
        raise_refusal(reply)
        self._synced[room_id] = (worker, seats)

    async def signal(self, room: Room, to: str, member: Member, payload: dict[str, Any]) -> None:
        worker = self._worker_for(room.room_id)
        request = {
            "op": "signal",
            "room_id": room.room_id,
            "peer_id": to,
            "seat": asdict(Seat.of(member)),
            "payload": payload,
        }
        reply = await worker.request(request)
        if reply.get("error", {}).get("code") == "not_authorized" and to == self.room_peer(room.room_id):
            # The worker has not seen the room yet (it restarted, or this node did): give it the room, then retry.
            await self.sync(room.room_id, room)
            reply = await worker.request(request)
        raise_refusal(reply)

    # -- the processes -------------------------------------------------------------------------------------

    def _config(self) -> str:
        return json.dumps(
            {
                "addresses": list(self.network.addresses),
                "ports": list(self.network.ports) if self.network.ports else None,
                "public_address": self.network.public_address,
                "ice_servers": self.network.ice_servers,
                "video_limit": self.video_limit,
            }
        )

    async def _run(self, worker: WorkerProcess) -> None:
        """Start the worker, serve its messages until it exits, then move its rooms and start its replacement."""
        started = asyncio.get_running_loop().time()
        ours, theirs = socket.socketpair()
        try:
            worker.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "media.worker",
                str(theirs.fileno()),
                self._config(),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
            )
            reader, worker.writer = await asyncio.open_unix_connection(sock=ours)
        except Exception:
            log.exception("a forwarder worker could not be started", extra={"worker": worker.label})
            ours.close()
            await self._lost(worker, started)
            return
        finally:
            theirs.close()
        worker.ready.set()
        try:
            while True:
                message = await ipc.read(reader)
                self._handle(worker, message)
        except ipc.ChannelClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the link to a forwarder worker failed", extra={"worker": worker.label})
        finally:
            worker.writer.close()
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
            await worker.process.wait()
        await self._lost(worker, started)

    def _handle(self, worker: WorkerProcess, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "reply":
            future = worker.pending.get(str(message.get("id")))
            if future is not None and not future.done():
                future.set_result(message)
        elif op == "send" and self._send is not None:
            # In order, without holding up the worker's replies behind a slow delivery; bounded, like any queue.
            if worker.outbox.qsize() >= OUTBOX_LIMIT:
                log.warning("a forwarder's messages to members are not going out; dropping one")
                return
            worker.outbox.put_nowait(message)
            if worker.courier is None or worker.courier.done():
                worker.courier = asyncio.create_task(self._deliver(worker), name=f"haven-media-out-{worker.label}")
        elif op == "stats":
            worker.stats = dict(message.get("stats") or {})

    async def _deliver(self, worker: WorkerProcess) -> None:
        while not worker.outbox.empty():
            message = worker.outbox.get_nowait()
            try:
                assert self._send is not None
                await self._send(message["room_id"], message["to"], message["event"], message["data"])
            except Exception:
                log.exception("delivering a forwarder message failed")

    async def _lost(self, worker: WorkerProcess, started: float) -> None:
        worker.dead = True
        worker.ready.set()
        for future in worker.pending.values():
            if not future.done():
                future.set_exception(NegotiationConflict("The room's forwarder restarted."))
        if self._closing:
            return
        log.warning("a forwarder worker exited; moving its rooms", extra={"worker": worker.label})
        if asyncio.get_running_loop().time() - started < RESTART_BACKOFF:
            await asyncio.sleep(RESTART_BACKOFF)  # one that dies at once is not restarted in a tight loop
        totals = self.retired.setdefault(str(worker.index), {})
        for name, value in worker.stats.items():
            if name not in GAUGES:
                totals[name] = totals.get(name, 0) + value
        replacement = WorkerProcess(worker.index, worker.generation + 1)
        self._slots[worker.index] = replacement
        rooms = sorted(worker.rooms)
        worker.rooms.clear()
        for room_id in rooms:
            self._placement.pop(room_id, None)
            if self._moved is not None:
                try:
                    await self._moved(room_id)
                except Exception:
                    log.exception("moving a room's media failed", extra={"room_id": room_id})

    def serving(self) -> list[str]:
        return list(self._placement)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per worker slot: its counters (those of replaced processes included) and what it holds now."""
        found: dict[str, dict[str, int]] = {}
        for worker in self._slots:
            values = dict(self.retired.get(str(worker.index), {}))
            for name, value in worker.stats.items():
                if name in GAUGES:
                    values[name] = value
                else:
                    values[name] = values.get(name, 0) + value
            found[str(worker.index)] = values
        return found

    async def close(self) -> None:
        self._closing = True
        for worker in self._slots:
            if worker.writer is not None:
                worker.writer.close()
        for worker in self._slots:
            if worker.task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(worker.task), 5.0)
                except (TimeoutError, asyncio.CancelledError):
                    worker.task.cancel()
                    if worker.process is not None and worker.process.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            worker.process.kill()
