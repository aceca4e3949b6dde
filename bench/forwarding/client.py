"""One room member of the load generator: replayed audio and video out, RTP counted in, nothing encoded or decoded.

A ``Member`` owns its replay tracks, its peer connections and one ``StreamCounter`` per remote stream
(publisher, kind). How the SDP travels is each forwarder's business (``bench.forwarding.targets``); the
``ForwarderLink`` here is the single-connection model that Haven's forwarder and the MediaRelay reference share:
the member offers its own audio and video once, then answers every offer the forwarder makes, one at a time, in
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.sdp import SessionDescription

from bench.forwarding.media import (
    Clip,
    ReplayAudio,
    ReplayVideo,
    StreamCounter,
    Window,
    count_receiver,
    publish,
    widen_receive_buffers,
)

FORWARDED_CODECS = {"video": "vp8", "audio": "opus"}
SIGNAL_TIMEOUT = 20.0


class MediaFailure(RuntimeError):
    pass


class Member:
    """One person in the room: ``name`` is the id others see as the publisher (stream id, feed id, user id)."""

    def __init__(self, name: str, index: int, clip: Clip) -> None:
        self.name = name
        self.index = index
        self.video = ReplayVideo(clip)
        self.audio = ReplayAudio(clip, phase=(index * 7) % 50)
        self.pcs: list[RTCPeerConnection] = []
        self.streams: dict[tuple[str, str], StreamCounter] = {}
        self.counted: set[RTCRtpReceiver] = set()  # receivers already replaced by a counter
        self.join_started: float | None = None
        self.joined_at: float | None = None  # its own publishing negotiated
        self.errors: list[str] = []
        self.sockets_widened = 0
        self.context: Any = None  # the target's per-member state (connections, handles)

    def new_pc(self) -> RTCPeerConnection:
        # max-bundle: with aiortc's default (balanced), a remote offer with two m-lines of one kind in a single
        # offer leaves the second on a transport that bundling then discards (its media is never received).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pcs.append(pc)
        return pc

    def publish_on(self, pc: RTCPeerConnection) -> None:
        publish(pc, self.video, self.audio)

    async def offer(self, pc: RTCPeerConnection) -> str:
        await pc.setLocalDescription(await pc.createOffer())
        self.sockets_widened += widen_receive_buffers(pc)
        return str(pc.localDescription.sdp)

    async def accept_answer(self, pc: RTCPeerConnection, sdp: str) -> None:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self.count_remote(pc, sdp, {})

    async def answer(self, pc: RTCPeerConnection, sdp: str, publishers: dict[str, str] | None = None) -> str:
        """Apply a remote offer, count every stream it sends us, return our answer. ``publishers`` maps a mid to
        its publisher when the SDP's msid does not say (Janus)."""
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        self.count_remote(pc, sdp, publishers or {})
        await pc.setLocalDescription(await pc.createAnswer())
        self.sockets_widened += widen_receive_buffers(pc)
        return str(pc.localDescription.sdp)

    def count_remote(self, pc: RTCPeerConnection, sdp: str, publishers: dict[str, str]) -> None:
        """Put a counter on the receiver of every m-line the remote side sends on."""
        description = SessionDescription.parse(sdp)
        transceivers = {t.mid: t for t in pc.getTransceivers() if t.mid is not None}
        for media in description.media:
            if media.kind not in FORWARDED_CODECS or media.direction not in ("sendonly", "sendrecv"):
                continue
            mid = media.rtp.muxId
            transceiver = transceivers.get(mid)
            if transceiver is None or transceiver.receiver in self.counted:
                continue
            publisher = publishers.get(mid) or (media.msid.split()[0] if media.msid else f"mid-{mid}")
            if publisher == self.name:
                continue
            codec = FORWARDED_CODECS[media.kind]
            payload_types = {
                c.payloadType
                for c in media.rtp.codecs
                if c.payloadType is not None and c.mimeType.lower().endswith("/" + codec)
            }
            counter = count_receiver(transceiver.receiver, media.kind, publisher, payload_types)
            self.counted.add(transceiver.receiver)
            self.streams[(publisher, media.kind)] = counter

    # -- measuring ---------------------------------------------------------------------------------------------

    def first_frame_at(self, publisher: str) -> float | None:
        counter = self.streams.get((publisher, "video"))
        return counter.first_frame_at if counter else None

    def open_window(self) -> None:
        for counter in self.streams.values():
            counter.window = Window()

    def close_window(self) -> dict[tuple[str, str], Window]:
        closed = {}
        for key, counter in self.streams.items():
            if counter.window is not None:
                closed[key] = counter.window
                counter.window = None
        return closed

    async def close(self) -> None:
        self.video.stop()
        self.audio.stop()
        for pc in self.pcs:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pc.close()
        self.pcs.clear()


Send = Callable[[dict[str, Any]], Awaitable[None]]


class ForwarderLink:
    """One RTCPeerConnection between a member and a forwarder that re-offers whenever what it sends changes.

    ``send`` carries ``{"type": "offer"|"answer", "sdp"}`` to the forwarder; the target calls ``deliver`` with
    every signal from the forwarder. Signals are handled one at a time, in arrival order."""

    def __init__(self, member: Member, send: Send) -> None:
        self.member = member
        self.send = send
        self.pc = member.new_pc()
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.answered = asyncio.Event()
        self.offers_answered = 0
        self.failure: BaseException | None = None
        self.worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Offer the member's audio and video; return once the forwarder's answer is applied."""
        self.member.publish_on(self.pc)
        self.worker = asyncio.create_task(self._work(), name=f"link-{self.member.name}")
        sdp = await self.member.offer(self.pc)
        await self.send({"type": "offer", "sdp": sdp})
        async with asyncio.timeout(SIGNAL_TIMEOUT):
            while not self.answered.is_set():
                if self.failure is not None:
                    raise MediaFailure(f"{self.member.name}: {self.failure!r}") from self.failure
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await self.answered.wait()
        self.member.joined_at = time.monotonic()

    def deliver(self, signal: dict[str, Any]) -> None:
        self.inbox.put_nowait(signal)

    async def _work(self) -> None:
        while True:
            signal = await self.inbox.get()
            try:
                kind = signal.get("type")
                if kind == "answer":
                    await self.member.accept_answer(self.pc, signal["sdp"])
                    self.answered.set()
                elif kind == "offer":
                    sdp = await self.member.answer(self.pc, signal["sdp"])
                    await self.send({"type": "answer", "sdp": sdp})
                    self.offers_answered += 1
            except Exception as exc:  # recorded; the bench reports it and the room's readiness wait fails
                self.failure = exc
                self.member.errors.append(f"signal {signal.get('type')}: {exc!r}")

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.worker
