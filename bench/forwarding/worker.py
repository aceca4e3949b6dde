"""A load-generator worker: some of the room's members, in a process of its own (one event loop per process, so
the clients of a large room are spread over both cores).

It reads one JSON command per line on stdin and answers each with one JSON line on stdout, in order:

- ``{"cmd": "setup", "spec": {...}, "addresses": [...]}``: the forwarder to join (``bench.forwarding.drivers``)
  and where to gather ICE candidates;
- ``{"cmd": "join", "index": i, "name": "..."}``: one member joins and publishes (answers once its own offer is
  answered);
- ``{"cmd": "status"}``: per member, the first complete keyframe seen from each publisher (monotonic seconds);
- ``{"cmd": "open"}`` / ``{"cmd": "close"}``: the measured window; ``close`` answers with what every stream
  received in it and what every member sent;
- ``{"cmd": "leave"}`` then ``{"cmd": "exit"}``.

Times are ``time.monotonic()``, the system-wide CLOCK_MONOTONIC, so they compare across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from bench.forwarding.client import Member
from bench.forwarding.drivers import JOIN_TIMEOUT, Driver, make_driver
from bench.forwarding.media import Clip, gather_on, load_clip


class Worker:
    def __init__(self) -> None:
        self.driver: Driver | None = None
        self.clip: Clip | None = None
        self.members: list[Member] = []
        self.opened: dict[str, tuple[int, int, int]] = {}  # member -> (video sent, audio sent, onsets) at open

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command.get("cmd")
        if name == "setup":
            gather_on(command["addresses"])
            self.clip = load_clip()
            self.driver = make_driver(command["spec"])
            return {"ok": True}
        if name == "join":
            return await self.join(int(command["index"]), str(command["name"]))
        if name == "status":
            return {"ok": True, "members": {m.name: self.status(m) for m in self.members}}
        if name == "open":
            for member in self.members:
                member.open_window()
                self.opened[member.name] = (member.video.sent, member.audio.sent, len(member.audio.onsets))
            return {"ok": True, "at": time.monotonic()}
        if name == "close":
            return self.close_window()
        if name == "leave":
            await self.leave()
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {name!r}"}

    async def join(self, index: int, name: str) -> dict[str, Any]:
        assert self.driver is not None
        assert self.clip is not None
        member = Member(name, index, self.clip)
        self.members.append(member)
        member.join_started = time.monotonic()
        try:
            async with asyncio.timeout(JOIN_TIMEOUT):
                await self.driver.join(member)
        except Exception as exc:
            member.errors.append(f"join: {exc!r}")
            return {"ok": False, "error": repr(exc), "join_started": member.join_started}
        return {"ok": True, "join_started": member.join_started, "joined_at": member.joined_at}

    @staticmethod
    def status(member: Member) -> dict[str, Any]:
        return {
            "first_frames": {
                publisher: counter.first_frame_at
                for (publisher, kind), counter in member.streams.items()
                if kind == "video"
            },
            "errors": member.errors[-5:],
        }

    def close_window(self) -> dict[str, Any]:
        closed_at = time.monotonic()
        streams = []
        members = {}
        for member in self.members:
            video0, audio0, onsets0 = self.opened.get(member.name, (0, 0, 0))
            members[member.name] = {
                "video_frames_sent": member.video.sent - video0,
                "audio_packets_sent": member.audio.sent - audio0,
                "audio_onsets": member.audio.onsets[onsets0:],
                "forced_keyframes": member.video.forced_keyframes,
                "keyframe_requests": member.video.keyframe_requests,
                "replay_skipped": member.video.pacer.skipped + member.audio.pacer.skipped,
                "errors": member.errors[-5:],
            }
            for (publisher, kind), window in member.close_window().items():
                counter = member.streams[(publisher, kind)]
                streams.append(
                    {
                        "subscriber": member.name,
                        "publisher": publisher,
                        "kind": kind,
                        "received": len(window.seqs),
                        "expected": window.expected(),
                        "packets": window.packets,
                        "frames": window.frames,
                        "bytes": window.bytes,
                        "other_packets": counter.other_packets,
                        "plis": counter.plis,
                        "delays_ms": [round(d * 1000, 3) for d in window.delays],
                        "onsets": window.onsets,
                    }
                )
        return {"ok": True, "closed_at": closed_at, "members": members, "streams": streams}

    async def leave(self) -> None:
        if self.driver is not None:
            for member in self.members:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await self.driver.leave(member)
        await asyncio.gather(*(m.close() for m in self.members), return_exceptions=True)
        self.members.clear()
        if self.driver is not None:
            await self.driver.close()
            self.driver = None


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command.get("cmd") == "exit":
                break
            try:
                answer = await worker.handle(command)
            except Exception as exc:  # answered, so the coordinator reports it instead of waiting
                answer = {"ok": False, "error": repr(exc)}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(20):
                await worker.leave()


def main() -> int:
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
