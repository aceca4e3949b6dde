"""One member of a group room whose media goes through Haven's forwarder (media mode ``sfu``; docs/protocol.md,
"Through the forwarder"): a Socket.IO client (``tests.support.realtime.Peer``) and one aiortc RTCPeerConnection to the
forwarder's ``peer_id``, carrying a synthetic audio track and a small synthetic video track (Opus and VP8 only).

The member sends the first offer; from then on it answers every offer of the forwarder. Everything that touches the
peer connection (its own offer, the forwarder's answer and offers, a move of the forwarder announced by
``room:media``) is handled by one task per member, one message at a time, in the order it arrived.

What it receives is recorded per publisher (the stream id of the SDP ``msid``, which the forwarder sets to the
publisher's ``user_id``) and kind: frames decoded, when the first track of it appeared and when the negotiation that
brought it was complete, when its first frame was decoded, and whether its latest track ended (``recv`` raised
``MediaStreamError``). A reader task on every received track keeps aiortc's unbounded queues empty.

CPU: each member encodes 160x120 VP8 at 15 fps and 20 ms Opus frames, and (aiortc always decodes) decodes what it
receives, so six members and the server fit in one process on two cores.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from aiortc.sdp import candidate_from_sdp

from tests.support.call_media import SyntheticVideo, ice_configuration
from tests.support.realtime import WAIT, Peer

VIDEO_WIDTH = 160
VIDEO_HEIGHT = 120
VIDEO_FPS = 15
KINDS = ("audio", "video")
PREFERRED_CODECS = {"audio": "audio/opus", "video": "video/VP8"}
# Events this member acts on; Peer records every other event as usual.
HANDLED = ("rtc:signal", "room:media")
POLL = 0.05


class ForwarderError(AssertionError):
    """Haven refused a step of the negotiation with the forwarder, or the negotiation itself failed."""


@dataclass
class Received:
    """What a member receives of one kind from one publisher, over every track that carried it."""

    frames: int = 0
    tracks: int = 0  # tracks that appeared for it
    ended: bool = False  # the latest of those tracks ended
    appeared_at: float | None = None  # perf_counter() when its first track appeared
    ready_at: float | None = None  # perf_counter() when the negotiation that brought its first track was applied
    first_frame_at: float | None = None  # perf_counter() at its first decoded frame
    ended_at: float | None = None


def media_sections(sdp: str) -> list[dict[str, Any]]:
    """Each m-section of a session description: ``kind``, ``mid``, ``stream`` (the msid's stream id, or None),
    ``direction`` (as written, ``sendrecv`` when absent), ``port`` and ``codecs`` (the rtpmap names)."""
    sections: list[dict[str, Any]] = []
    session_direction = "sendrecv"
    current: dict[str, Any] | None = None
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            bits = line[2:].split()
            current = {
                "kind": bits[0] if bits else "",
                "port": int(bits[1]) if len(bits) > 1 and bits[1].isdigit() else -1,
                "mid": None,
                "stream": None,
                "direction": None,
                "codecs": [],
            }
            sections.append(current)
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            if current is None:
                session_direction = line[2:]
            else:
                current["direction"] = line[2:]
        elif current is None:
            continue
        elif line.startswith("a=mid:"):
            current["mid"] = line[len("a=mid:") :]
        elif line.startswith("a=msid:"):
            current["stream"] = line[len("a=msid:") :].split()[0]
        elif line.startswith("a=ssrc:") and " msid:" in line and current["stream"] is None:
            current["stream"] = line.split(" msid:", 1)[1].split()[0]
        elif line.startswith("a=rtpmap:"):
            current["codecs"].append(line.split()[1].split("/")[0])
    for section in sections:
        section["direction"] = section["direction"] or session_direction
    return sections


async def sample_offer(
    audio: str | None = "audio/opus", video: str | None = "video/VP8", ice_servers: list[Any] | None = None
) -> str:
    """An offer from a throwaway aiortc peer connection with the given codecs only (None leaves out the kind),
    carrying its candidates; the connection is closed before returning."""
    pc = RTCPeerConnection(ice_configuration(ice_servers or []))
    try:
        for kind, mime in (("audio", audio), ("video", video)):
            if mime is None:
                continue
            transceiver = pc.addTransceiver(kind, direction="sendrecv")
            codecs = [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType == mime]
            assert codecs, f"aiortc has no {mime}"
            transceiver.setCodecPreferences(codecs)
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


class ToneTrack(AudioStreamTrack):
    """A loud 440 Hz tone in 20 ms frames: aiortc's sender marks its packets with a high RFC 6464 level."""

    async def recv(self) -> Any:
        frame = await super().recv()
        start = frame.pts or 0
        channels = len(frame.layout.channels)
        tone = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * 440 * (start + i // channels) / frame.sample_rate))
                for i in range(frame.samples * channels)
            ),
        )
        frame.planes[0].update(tone.tobytes())
        return frame


class ForwardedMember:
    """A member's device. ``connect``, ``join`` (and ``admitted`` after waiting in the lobby), then ``publish``."""

    def __init__(self, name: str, direction: str = "sendrecv", tone: bool = False) -> None:
        self.name = name
        self.tone = tone  # a steady 440 Hz tone instead of silence: someone speaking, as audio levels tell it
        self.direction = direction  # of the member's own audio and video transceivers
        self.signaling = Peer(name)
        self.entry: dict[str, Any] = {}  # the join ack (or room:admitted) that let the member in
        self.media_config: dict[str, Any] = {}
        self.pc: RTCPeerConnection | None = None
        self.audio: AudioStreamTrack | None = None
        self.video: SyntheticVideo | None = None
        self.received: dict[tuple[str | None, str], Received] = {}
        self.signals: list[dict[str, Any]] = []  # every rtc:signal that arrived, in order
        self.stray: list[dict[str, Any]] = []  # rtc:signal from anyone but the forwarder
        self.media_changes: list[dict[str, Any]] = []  # every room:media
        self.offer_acks: list[Any] = []  # the ack of each of the member's own offers
        self.answer_applied_at: float | None = None  # the latest answer of the forwarder to the member's offer
        self.offers_answered = 0  # offers of the forwarder answered
        self.failures: list[BaseException] = []
        self._streams_by_mid: dict[str, str | None] = {}
        self._new_keys: list[tuple[str | None, str]] = []  # tracks that appeared in the negotiation under way
        self._negotiated = asyncio.Event()
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._readers: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._left = False
        for event in HANDLED:
            self.signaling.client.on(event, handler=self._receiver(event))

    def _receiver(self, event: str) -> Callable[..., Awaitable[None]]:
        async def receive(data: Any = None) -> None:
            # A handler of its own replaces Peer's catch-all for this event, so record it as Peer would.
            self.signaling.log.append((event, data))
            self.signaling.received[event].put_nowait(data)
            self._inbox.put_nowait((event, data))

        return receive

    # -- the room --------------------------------------------------------------------------------------------

    @property
    def room_id(self) -> str:
        return str(self.entry.get("room_id") or self.entry["room"]["room_id"])

    @property
    def user_id(self) -> str:
        return str(self.entry["self"]["user_id"])

    @property
    def forwarder_id(self) -> str | None:
        peer_id = self.media_config.get("peer_id")
        return str(peer_id) if peer_id else None

    async def connect(self, url: str, token: str) -> None:
        await self.signaling.connect(url, token)
        self._worker = asyncio.create_task(self._work(), name=f"forwarded-member-{self.name}")

    def _entered(self, entry: dict[str, Any]) -> None:
        self.entry = entry
        self.media_config = dict(entry.get("media") or {})
        self._left = False

    async def join(self, room_id: str) -> dict[str, Any]:
        """``room:join``; returns the ack. When it says ``joined``, the member is in and knows the forwarder."""
        ack = await self.signaling.call("room:join", {"room_id": room_id})
        if isinstance(ack, dict) and ack.get("status") == "joined":
            self._entered(ack)
        return dict(ack) if isinstance(ack, dict) else {"ack": ack}

    async def admitted(self, within: float = WAIT) -> dict[str, Any]:
        """Wait for ``room:admitted`` after waiting in the lobby; returns it."""
        entry = await self.signaling.next("room:admitted", within)
        self._entered(entry)
        return dict(entry)

    async def leave(self) -> Any:
        """``room:leave``, keeping the peer connection (a test closes it when it likes); returns the ack."""
        self._left = True
        return await self.signaling.call("room:leave", {"room_id": self.room_id})

    # -- negotiating -----------------------------------------------------------------------------------------

    async def publish(self, within: float = WAIT) -> Any:
        """Open the peer connection to the forwarder and send its offer; returns the offer's ack
        (``wait_negotiated`` then waits for the forwarder's answer)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._negotiated.clear()
        self._inbox.put_nowait(("publish", done))
        async with asyncio.timeout(within):
            return await done

    async def wait_negotiated(self, within: float = WAIT) -> None:
        """Wait until the forwarder's answer to the member's latest offer has been applied."""
        await self.wait_until(self._negotiated.is_set, within, "the forwarder's answer")

    def _open(self) -> RTCPeerConnection:
        assert self.forwarder_id, f"{self.name}: no forwarder in {self.media_config!r}"
        config = ice_configuration(
            self.media_config.get("ice_servers") or [], self.media_config.get("ice_transport_policy") or "all"
        )
        config.bundlePolicy = RTCBundlePolicy.MAX_BUNDLE  # as docs/protocol.md 7.4.1 asks of a member
        self.pc = RTCPeerConnection(config)
        self.pc.on("track", self._on_track)
        # 20 ms frames of silence (Opus still sends every one of them), or of a tone.
        self.audio = ToneTrack() if self.tone else AudioStreamTrack()
        self.video = SyntheticVideo(VIDEO_WIDTH, VIDEO_HEIGHT, VIDEO_FPS)
        for track in (self.audio, self.video):
            transceiver = self.pc.addTransceiver(track, direction=self.direction)
            mime = PREFERRED_CODECS[track.kind]
            transceiver.setCodecPreferences(
                [c for c in RTCRtpSender.getCapabilities(track.kind).codecs if c.mimeType == mime]
            )
        return self.pc

    async def _publish(self) -> Any:
        pc = self.pc or self._open()
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.signaling.call(
            "rtc:signal", {"to": self.forwarder_id, "type": "offer", "sdp": pc.localDescription.sdp}
        )
        self.offer_acks.append(ack)
        return ack

    async def _on_signal(self, message: dict[str, Any]) -> None:
        self.signals.append(message)
        if message.get("from") != self.forwarder_id or self._left:
            self.stray.append(message)
            return
        kind = message.get("type")
        if kind == "candidate":
            # The forwarder does not trickle; accepted anyway, as a browser would.
            init = message.get("candidate")
            if self.pc is not None and isinstance(init, dict) and init.get("candidate"):
                candidate = candidate_from_sdp(str(init["candidate"]).removeprefix("candidate:"))
                candidate.sdpMid = init.get("sdpMid")
                candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                await self.pc.addIceCandidate(candidate)
            return
        if self.pc is None:
            raise ForwarderError(f"{self.name}: a {kind} from the forwarder before the member's offer: {message}")
        sdp = str(message.get("sdp") or "")
        self._remember_streams(sdp)
        self._new_keys = []
        if kind == "answer":
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            self.answer_applied_at = time.perf_counter()
            self._ready(self.answer_applied_at)
            self._negotiated.set()
        elif kind == "offer":
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self._ready(time.perf_counter())
            ack = await self.signaling.call(
                "rtc:signal", {"to": self.forwarder_id, "type": "answer", "sdp": self.pc.localDescription.sdp}
            )
            self.offers_answered += 1
            if ack != {"ok": True}:
                raise ForwarderError(f"{self.name}: the answer to the forwarder's offer was refused: {ack!r}")
        else:
            raise ForwarderError(f"{self.name}: an rtc:signal of an unknown type: {message}")

    async def _on_media(self, data: dict[str, Any]) -> None:
        """``room:media``: a new forwarder (or a new mode) for the room; a new peer id means a new connection."""
        self.media_changes.append(data)
        media = dict(data.get("media") or {})
        moved = media.get("peer_id") != self.forwarder_id
        self.media_config = media
        if not moved or self.pc is None or self._left:
            return
        await self.close_media()
        if media.get("mode") == "sfu" and media.get("peer_id"):
            ack = await self._publish()
            if ack != {"ok": True}:
                raise ForwarderError(f"{self.name}: the offer to the new forwarder was refused: {ack!r}")

    async def _work(self) -> None:
        while True:
            item, data = await self._inbox.get()
            try:
                if item == "publish":
                    if not data.done():
                        data.set_result(await self._publish())
                elif item == "rtc:signal":
                    await self._on_signal(data)
                elif item == "room:media":
                    await self._on_media(data)
            except Exception as exc:  # recorded, and raised where the test waits
                self.failures.append(exc)
                if item == "publish" and not data.done():
                    data.set_exception(exc)

    # -- receiving -------------------------------------------------------------------------------------------

    def _remember_streams(self, sdp: str) -> None:
        for section in media_sections(sdp):
            if section["mid"] is not None:
                self._streams_by_mid[section["mid"]] = section["stream"]

    def _ready(self, at: float) -> None:
        for key in self._new_keys:
            if self.received[key].ready_at is None:
                self.received[key].ready_at = at
        self._new_keys = []

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.pc is not None
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        stream = self._streams_by_mid.get(transceiver.mid or "")
        key = (stream, track.kind)
        record = self.received.setdefault(key, Received())
        record.tracks += 1
        record.ended = False
        if record.appeared_at is None:
            record.appeared_at = time.perf_counter()
        self._new_keys.append(key)
        task = asyncio.create_task(self._read(transceiver, track, stream), name=f"read-{self.name}-{track.kind}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, transceiver: RTCRtpTransceiver, track: MediaStreamTrack, stream: str | None) -> None:
        kind = track.kind
        try:
            while True:
                await track.recv()
                now = time.perf_counter()
                # A transceiver the forwarder gives to another publisher later counts for that one from then on.
                current = self._streams_by_mid.get(transceiver.mid or "")
                if current is not None and current != stream:
                    stream = current
                record = self.received.setdefault((stream, kind), Received())
                record.frames += 1
                if record.first_frame_at is None:
                    record.first_frame_at = now
        except MediaStreamError:
            record = self.received.setdefault((stream, kind), Received())
            record.ended = True
            record.ended_at = time.perf_counter()

    def get(self, publisher: str | None, kind: str) -> Received:
        return self.received.get((publisher, kind)) or Received()

    def frames(self) -> dict[tuple[str | None, str], int]:
        """Frames decoded so far per (publisher, kind)."""
        return {key: record.frames for key, record in self.received.items()}

    def publishers(self) -> set[str | None]:
        """The stream ids of every track received."""
        return {publisher for publisher, _ in self.received}

    def sending_streams(self) -> set[str | None]:
        """The stream ids of the m-sections in which the forwarder sends, in its latest description."""
        if self.pc is None or self.pc.remoteDescription is None:
            return set()
        return {
            s["stream"]
            for s in media_sections(self.pc.remoteDescription.sdp)
            if s["port"] != 0 and s["direction"] in ("sendrecv", "sendonly") and s["kind"] in KINDS
        }

    async def packets_sent(self, kind: str) -> int:
        """RTP packets the member's own sender of ``kind`` has sent (aiortc's outbound-rtp statistics)."""
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            if transceiver.sender.track is not None and transceiver.sender.track.kind == kind:
                stats = await transceiver.sender.getStats()
                return sum(s.packetsSent for s in stats.values() if getattr(s, "type", "") == "outbound-rtp")
        return 0

    # -- waiting ---------------------------------------------------------------------------------------------

    def raise_failure(self) -> None:
        if self.failures:
            raise ForwarderError(f"{self.name}: {self.failures[0]!r}") from self.failures[0]

    def describe(self) -> dict[str, Any]:
        return {
            f"{publisher}/{kind}": (r.frames, "ended" if r.ended else "live")
            for (publisher, kind), r in sorted(self.received.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))
        }

    async def wait_until(self, condition: Callable[[], bool], within: float, what: str) -> None:
        """Poll ``condition``; a failure of the member's signaling raises at once, a timeout names ``what``."""
        deadline = time.monotonic() + within
        while not condition():
            self.raise_failure()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no {what} within {within} s; received {self.describe()}")
            await asyncio.sleep(POLL)
        self.raise_failure()

    async def wait_frames(
        self,
        publishers: Iterable[str],
        audio: int = 0,
        video: int = 0,
        within: float = WAIT,
        since: dict[tuple[str | None, str], int] | None = None,
    ) -> None:
        """Wait until at least ``audio`` and ``video`` more frames than in ``since`` were decoded from each
        of ``publishers``."""
        base = since or {}
        wanted = {
            (p, kind): base.get((p, kind), 0) + count
            for p in publishers
            for kind, count in (("audio", audio), ("video", video))
            if count
        }
        await self.wait_until(
            lambda: all(self.get(*key).frames >= n for key, n in wanted.items()),
            within,
            f"{audio} audio and {video} video frames from each of {sorted(p for p, _ in wanted)}",
        )

    async def wait_ended(self, publisher: str, within: float = WAIT) -> None:
        """Wait until the tracks of both kinds from ``publisher`` have ended."""
        await self.wait_until(
            lambda: all(self.get(publisher, kind).ended for kind in KINDS), within, f"end of {publisher}'s tracks"
        )

    # -- closing ---------------------------------------------------------------------------------------------

    async def close_media(self) -> None:
        """Stop sending and close the peer connection (a new ``publish`` opens another)."""
        pc, self.pc = self.pc, None
        for track in (self.audio, self.video):
            if track is not None:
                track.stop()
        if pc is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await pc.close()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._streams_by_mid.clear()

    async def close(self) -> None:
        """Leave the room (if still in it), stop the signaling task, close the media and the connection."""
        if self.entry and not self._left and self.signaling.client.connected:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.leave()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.close_media()
        await self.signaling.close()
