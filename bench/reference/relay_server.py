"""Reference forwarder for ``bench.forwarding``: aiortc's own ``MediaRelay`` in the smallest server that works.

One RTCPeerConnection per member; every remote track a member publishes is handed to every other member with
``relay.subscribe(track)``. aiortc's receiver always decodes and its sender encodes whatever it is given, so each
subscription costs a VP8 (and Opus) encode: this is the naive way to build a Python forwarder, kept as a peer to
measure against, not as something to ship.

Signalling is a WebSocket at ``/ws?member=<id>`` carrying JSON ``{"type": "offer"|"answer", "sdp"}``: the member
offers its audio and video once; the server answers, then sends an offer whenever the set of tracks that member
receives changes, and the member answers. Offers to a member are made one at a time (a change that comes while an
offer is out is sent in the next one). Every track sent carries its publisher's member id as its stream id (msid).
Host candidates are gathered on 127.0.0.1 only and there are no ICE servers.

    .venv/bin/python bench/reference/relay_server.py --port 8700
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from aiohttp import WSMsgType, web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

log = logging.getLogger("relay_server")


def gather_on_loopback() -> None:
    """aioice leaves out 127.0.0.1 when gathering; this server is reached there and only there."""

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = loopback


@dataclass
class Member:
    name: str
    ws: web.WebSocketResponse
    pc: RTCPeerConnection
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)  # what it publishes, by kind
    receiving: set[tuple[str, str]] = field(default_factory=set)  # (publisher, kind) already added to pc
    offer_out: bool = False  # an offer of ours awaits this member's answer
    dirty: bool = False  # tracks were added while an offer was out
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RelayServer:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.members: dict[str, Member] = {}

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        name = request.query.get("member", "")
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        if not name or name in self.members:
            await ws.close(message=b"bad member")
            return ws
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        member = Member(name, ws, pc)
        self.members[name] = member

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            member.tracks[track.kind] = track

        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if data.get("type") == "offer":
                    await self.on_offer(member, data["sdp"])
                elif data.get("type") == "answer":
                    await self.on_answer(member, data["sdp"])
        except Exception:
            log.exception("member %s", name)
        finally:
            self.members.pop(name, None)
            await pc.close()
        return ws

    async def on_offer(self, member: Member, sdp: str) -> None:
        async with member.lock:
            await member.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await member.pc.setLocalDescription(await member.pc.createAnswer())
            await member.ws.send_json({"type": "answer", "sdp": member.pc.localDescription.sdp})
        for other in list(self.members.values()):
            if other is not member:
                self.add_tracks(other, member)
                self.add_tracks(member, other)
        for target in list(self.members.values()):
            await self.renegotiate(target)

    def add_tracks(self, subscriber: Member, publisher: Member) -> None:
        for kind, track in publisher.tracks.items():
            if (publisher.name, kind) in subscriber.receiving:
                continue
            subscriber.receiving.add((publisher.name, kind))
            transceiver = subscriber.pc.addTransceiver(self.relay.subscribe(track), direction="sendonly")
            transceiver.sender._stream_id = publisher.name  # msid: the publisher's id
            wanted = "video/vp8" if kind == "video" else "audio/opus"
            codecs = RTCRtpSender.getCapabilities(kind).codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in (wanted, f"{kind}/rtx")])
            subscriber.dirty = True

    async def renegotiate(self, member: Member) -> None:
        async with member.lock:
            if not member.dirty or member.offer_out or member.pc.signalingState != "stable":
                return
            member.dirty = False
            member.offer_out = True
            await member.pc.setLocalDescription(await member.pc.createOffer())
            await member.ws.send_json({"type": "offer", "sdp": member.pc.localDescription.sdp})

    async def on_answer(self, member: Member, sdp: str) -> None:
        async with member.lock:
            await member.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            member.offer_out = False
        await self.renegotiate(member)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def serve(port: int) -> None:
    gather_on_loopback()
    server = RelayServer()
    app = web.Application()
    app.router.add_get("/ws", server.websocket)
    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for member in list(server.members.values()):
        with contextlib.suppress(Exception):
            await member.pc.close()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    args: Any = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
