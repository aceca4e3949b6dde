"""A forwarder worker process: one ``Forwarder`` on its own event loop and core, driven by its node.

Started by the node (``media.pool``) as ``python -m media.worker <fd> <settings json>`` with one end of a socket
pair. It serves the node's requests (``sync``, ``signal``) in order per room, sends what the forwarder has to say
to members back to the node (``send``), reports its counters every second (``stats``), and exits when the node
goes away (the socket closes), closing every member's media.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from typing import Any

from media import ipc
from media.forwarder import Forwarder
from media.network import MediaNetwork
from media.room import Seat
from rooms.errors import RoomError

log = logging.getLogger("haven.media")
STATS_SECONDS = 1.0


def _seat(data: dict[str, Any]) -> Seat:
    return Seat(
        str(data["user_id"]), str(data["peer_id"]), bool(data["facilitator"]), bool(data["audio"]), bool(data["video"])
    )


class Worker:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: dict[str, Any]) -> None:
        self.reader = reader
        self.writer = writer
        network = MediaNetwork(
            addresses=tuple(config.get("addresses") or ()),
            ports=tuple(config["ports"]) if config.get("ports") else None,
            public_address=config.get("public_address"),
            ice_servers=list(config.get("ice_servers") or []),
        )
        self.forwarder = Forwarder(network=network, send=self._send, video_limit=config.get("video_limit"))

    async def _send(self, room_id: str, to: str, event: str, data: dict[str, Any]) -> None:
        ipc.write(self.writer, {"op": "send", "room_id": room_id, "to": to, "event": event, "data": data})
        await self.writer.drain()

    async def run(self) -> None:
        stats = asyncio.create_task(self._report())
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                try:
                    message = await ipc.read(self.reader)
                except ipc.ChannelClosed:
                    return
                task = asyncio.create_task(self._serve(message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            stats.cancel()
            for task in list(tasks):
                task.cancel()
            await self.forwarder.close()

    async def _serve(self, message: dict[str, Any]) -> None:
        room_id = str(message.get("room_id", ""))
        reply: dict[str, Any] = {"op": "reply", "id": message.get("id")}
        try:
            if message["op"] == "sync":
                seats = message.get("seats")
                await self.forwarder.sync(
                    room_id, str(message["peer_id"]), None if seats is None else [_seat(s) for s in seats]
                )
            elif message["op"] == "signal":
                await self.forwarder.signal(
                    room_id, str(message["peer_id"]), _seat(message["seat"]), message["payload"]
                )
        except RoomError as exc:
            reply["error"] = {"code": exc.code, "message": exc.message}
        except Exception:
            log.exception("a forwarder request failed", extra={"op": message.get("op")})
            reply["error"] = {"code": "internal_error", "message": "The forwarder failed to handle that."}
        ipc.write(self.writer, reply)
        await self.writer.drain()

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(STATS_SECONDS)
            ipc.write(self.writer, {"op": "stats", "stats": {**self.forwarder.stats(), **resources()}})
            await self.writer.drain()


def resources() -> dict[str, int]:
    """What this process holds: its asyncio tasks and its open UDP sockets (a leak shows here first)."""
    inodes: set[str] = set()
    for name in ("udp", "udp6"):
        with contextlib.suppress(OSError), open(f"/proc/self/net/{name}") as table:
            for line in list(table)[1:]:
                fields = line.split()
                if len(fields) > 9:
                    inodes.add(fields[9])
    held = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    held += 1
    return {"tasks": len(asyncio.all_tasks()), "udp_sockets": held}


async def main(fd: int, config: dict[str, Any]) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    await Worker(reader, writer, config).run()


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("HAVEN_LOG_LEVEL", "warning").upper(), stream=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
