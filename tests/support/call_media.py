"""One side of a call's media for tests and benchmarks: an aiortc RTCPeerConnection sending synthetic audio and
video, and counting the frames it decodes from the other side.

The SDP steps (offer, answer, candidates) are methods here; carrying them between the two sides is the caller's
business (``tests.support.call_peer`` does it through Haven's ``rtc:signal``; a test may also hand them over directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Mapping, Sequence
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from aiortc.sdp import candidate_from_sdp

VIDEO_WIDTH = 320
VIDEO_HEIGHT = 240
# 15 fps keeps two peers' VP8 encoding light on a loaded 2-core machine, and still gives a test 90 frames in 6 s.
VIDEO_FPS = 15
VIDEO_CLOCK_RATE = 90_000
KINDS = ("audio", "video")
# Both sides prefer these, so every leg is VP8 + Opus whatever aiortc's default order becomes.
PREFERRED_CODECS = {"audio": "audio/opus", "video": "video/VP8"}


class SyntheticVideo(VideoStreamTrack):
    """Small frames at a steady rate whose brightness changes every frame, so the encoder always has work."""

    def __init__(self, width: int = VIDEO_WIDTH, height: int = VIDEO_HEIGHT, fps: int = VIDEO_FPS) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.sent = 0
        self._started: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        # Paced against the first frame's time, so a late wake-up does not slow the rate down.
        if self._started is None:
            self._started = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self._started + self.sent / self.fps - time.monotonic()))
        frame = av.VideoFrame(width=self.width, height=self.height, format="yuv420p")
        shade = (16 + self.sent * 3) % 236
        for plane, value in zip(frame.planes, (shade, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = self.sent * (VIDEO_CLOCK_RATE // self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self.sent += 1
        return frame


def ice_configuration(ice_servers: Sequence[Mapping[str, Any]], policy: str = "all") -> RTCConfiguration:
    """An aiortc configuration from Haven's ``media`` fields.

    The list is always passed, even empty: given None, aiortc falls back to a public STUN server."""
    servers = [
        RTCIceServer(urls=server["urls"], username=server.get("username"), credential=server.get("credential"))
        for server in ice_servers
    ]
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy(policy))


def candidate_types(sdp: str) -> list[str]:
    """The ``typ`` of every ``a=candidate`` line of a session description, in order."""
    types = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            bits = line.split()
            types.append(bits[bits.index("typ") + 1])
    return types


class CallMedia:
    """An RTCPeerConnection with one synthetic audio and one synthetic video track, reading every track it receives."""

    def __init__(self, ice_servers: Sequence[Mapping[str, Any]], policy: str = "all") -> None:
        self.pc = RTCPeerConnection(ice_configuration(ice_servers, policy))
        self.audio = AudioStreamTrack()  # 20 ms frames of silence: Opus still sends every one of them
        self.video = SyntheticVideo()
        self.frames = dict.fromkeys(KINDS, 0)
        self.first_frame_at: dict[str, float] = {}  # perf_counter() at the first decoded frame of each kind
        self.connected_at: float | None = None  # perf_counter() when ICE and DTLS were first both up
        self._arrived = asyncio.Event()
        self._readers: set[asyncio.Task[None]] = set()
        self._sending = False
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    # -- receiving -------------------------------------------------------------------------------------------

    def _on_connection_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.perf_counter()

    def _on_track(self, track: MediaStreamTrack) -> None:
        # aiortc queues received frames without limit: every track gets a reader from the moment it appears.
        task = asyncio.create_task(self._read(track), name=f"read-{track.kind}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, track: MediaStreamTrack) -> None:
        kind = track.kind
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.frames[kind] += 1
                self.first_frame_at.setdefault(kind, time.perf_counter())
                self._arrived.set()

    async def wait_frames(
        self, audio: int = 0, video: int = 0, within: float = 10.0, since: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """Wait until at least ``audio`` and ``video`` frames have arrived (beyond the counts in ``since``).

        Raises TimeoutError, naming what did arrive, when they have not within ``within`` seconds."""
        base = dict(since or dict.fromkeys(KINDS, 0))
        wanted = {"audio": base["audio"] + audio, "video": base["video"] + video}
        try:
            async with asyncio.timeout(within):
                while any(self.frames[kind] < wanted[kind] for kind in KINDS):
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            got = {kind: self.frames[kind] - base[kind] for kind in KINDS}
            raise TimeoutError(f"wanted {audio} audio and {video} video frames within {within} s, got {got}") from None
        return dict(self.frames)

    # -- negotiating -----------------------------------------------------------------------------------------

    def _send_tracks(self) -> None:
        """Add both tracks once (reusing the transceivers an offer created) and prefer Opus and VP8 on each."""
        if not self._sending:
            self.pc.addTrack(self.audio)
            self.pc.addTrack(self.video)
            self._sending = True
        for transceiver in self.pc.getTransceivers():
            mime = PREFERRED_CODECS[transceiver.kind]
            codecs = [c for c in RTCRtpSender.getCapabilities(transceiver.kind).codecs if c.mimeType == mime]
            transceiver.setCodecPreferences(codecs)

    async def offer(self) -> str:
        """A new offer, set as the local description; all candidates are in it (aiortc gathers before returning)."""
        self._send_tracks()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, offer_sdp: str) -> str:
        """Take the other side's offer; return the answer, set as the local description."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        self._send_tracks()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def add_candidate(self, init: Mapping[str, Any] | None) -> None:
        """A trickled ``RTCIceCandidateInit`` from the other side; None (or an empty candidate) ends them."""
        if init is None or not init.get("candidate"):
            await self.pc.addIceCandidate(None)
            return
        candidate = candidate_from_sdp(str(init["candidate"]).removeprefix("candidate:"))
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    # -- inspecting ------------------------------------------------------------------------------------------

    def local_candidate_types(self) -> list[str]:
        return candidate_types(self.pc.localDescription.sdp) if self.pc.localDescription else []

    def remote_candidate_types(self) -> list[str]:
        return candidate_types(self.pc.remoteDescription.sdp) if self.pc.remoteDescription else []

    def selected_pairs(self) -> list[tuple[str, str]]:
        """(local type, remote type) of the candidate pair each ICE transport in use has nominated.

        aiortc exposes no candidate-pair statistics, so this reads aioice's connection behind the transport."""
        pairs = []
        transports = {t.receiver.transport.transport for t in self.pc.getTransceivers()}
        for ice in transports:
            if ice.state == "closed":
                continue
            for pair in ice._connection._nominated.values():
                pairs.append((pair.local_candidate.type, pair.remote_candidate.type))
        return pairs

    # -- closing ---------------------------------------------------------------------------------------------

    async def close(self) -> None:
        self.audio.stop()
        self.video.stop()
        await self.pc.close()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
