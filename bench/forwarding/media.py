"""The load generator's media, with no real-time encoding or decoding on the client side.

- ``Clip``: a few seconds of 640x360 VP8 (about 500 kbps, a keyframe every 2 s) and of Opus (20 ms packets),
  encoded once with PyAV and cached as JSON under ``bench/results/clips/``.
- ``ReplayVideo`` / ``ReplayAudio``: MediaStreamTracks whose ``recv()`` returns the clip's encoded packets
  (``av.Packet``) at 30 and 50 per second, in a loop. aiortc's sender only packetizes such packets
  (``Encoder.pack``). A keyframe request from the far side (PLI/FIR, which aiortc's pack path would ignore) makes
  the video jump to the clip's next keyframe, at most every ``KEYFRAME_MIN_INTERVAL`` s, as a real encoder would.
  Every audio packet is rewritten as a valid Opus packet (code 3, one frame, with padding) whose padding carries the
  sender's ``time.monotonic_ns()``: a forwarder that does not decode passes it on, so every forwarded packet gives a
  delay. Every ``AUDIO_SPURT_PACKETS`` packets the audio pauses for ``AUDIO_GAP_PACKETS`` (like DTX between talk
  spurts; the RTP timestamp jumps, sequence numbers stay contiguous). A receiver sees a spurt's first packet arrive
  after a silence, which times a forwarder that re-encodes too (its payload no longer carries the stamp).
- ``StreamCounter``: installed in place of an ``RTCRtpReceiver``'s ``_handle_rtp_packet``, so the receiver never
  depacketizes or decodes. It counts packets by extended sequence number, finds the first complete VP8 keyframe,
  counts frames (marker bit), asks for a keyframe with a PLI (at most every 0.5 s) until it has seen one, as a
  browser's decoder would, and reads the audio stamps.
- ``gather_on()``: aioice gathers host candidates on every interface except loopback; the bench makes it gather on
  127.0.0.1 only, or (for Janus, which never gathers on a loopback interface) on this machine's own IPv4 address.
"""

from __future__ import annotations

import asyncio
import base64
import fractions
import json
import math
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

CLIP_VERSION = 1
WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_BITRATE = 500_000
KEYFRAME_EVERY = 60  # frames: one keyframe every 2 s
CLIP_FRAMES = 120  # 4 s of video
NOISE_BLOCK = 96  # side of the moving noise square that keeps the encoder near its target bitrate
AUDIO_BITRATE = 32_000
AUDIO_PACKETS = 50  # 1 s of Opus, 20 ms a packet
AUDIO_SAMPLES = 960  # 20 ms at 48 kHz
VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000
KEYFRAME_MIN_INTERVAL = 0.5  # seconds between two keyframes forced by requests
PLI_INTERVAL = 0.5  # seconds between a receiver's keyframe requests while it has none
MAX_LATE = 0.5  # seconds a replay may fall behind before it skips ahead instead of sending a burst
AUDIO_SPURT_PACKETS = 45  # packets in a talk spurt (0.9 s) ...
AUDIO_GAP_PACKETS = 5  # ... then 0.1 s without audio
ONSET_GAP = 0.07  # an audio arrival this long after the previous one starts a new spurt
STAMP_MAGIC = b"HVNt"
STAMP = struct.Struct("!4sQ")  # magic, sender's monotonic_ns
RECEIVE_BUFFER = 4 * 1024 * 1024
CLIPS_DIR = Path(__file__).resolve().parent.parent / "results" / "clips"


# -- the clip ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    video: list[tuple[bytes, bool]]  # encoded VP8 frames in order, with their keyframe flag
    audio: list[bytes]  # Opus packets of 20 ms, code 0 (one frame)

    @property
    def keyframes(self) -> list[int]:
        return [index for index, (_, key) in enumerate(self.video) if key]

    def video_kbps(self) -> float:
        return sum(len(data) for data, _ in self.video) * 8 / (len(self.video) / FPS) / 1000

    def describe(self) -> dict[str, Any]:
        return {
            "video": f"VP8 {WIDTH}x{HEIGHT} {FPS} fps, {len(self.video)} frames looped, keyframes at {self.keyframes}",
            "video_kbps": round(self.video_kbps(), 1),
            "video_frame_bytes_mean": round(sum(len(d) for d, _ in self.video) / len(self.video)),
            "audio": f"Opus 48 kHz mono {AUDIO_BITRATE // 1000} kbps, 20 ms packets, {len(self.audio)} looped",
            "audio_bytes_mean": round(sum(len(a) for a in self.audio) / len(self.audio), 1),
        }


def _encode_video() -> list[tuple[bytes, bool]]:
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.time_base = fractions.Fraction(1, FPS)
    codec.bit_rate = VIDEO_BITRATE
    codec.gop_size = KEYFRAME_EVERY
    codec.options = {
        "deadline": "realtime",
        "cpu-used": "8",
        "lag-in-frames": "0",
        "kf_max_dist": str(KEYFRAME_EVERY),
        "kf_min_dist": str(KEYFRAME_EVERY),
        "minrate": str(VIDEO_BITRATE),
        "maxrate": str(VIDEO_BITRATE),
    }
    noise = random.Random(1)  # noqa: S311 - picture content, not security
    ramp = bytes((x * 3) % 256 for x in range(2 * WIDTH))
    frames: list[tuple[bytes, bool]] = []
    for index in range(CLIP_FRAMES):
        luma = bytearray(b"".join(ramp[(4 * index + y) % WIDTH :][:WIDTH] for y in range(HEIGHT)))
        left = (index * 5) % (WIDTH - NOISE_BLOCK)
        for y in range(100, 100 + NOISE_BLOCK):
            luma[y * WIDTH + left : y * WIDTH + left + NOISE_BLOCK] = noise.randbytes(NOISE_BLOCK)
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(bytes([128]) * (WIDTH * HEIGHT // 4))
        frame.planes[2].update(bytes([(index * 2) % 256]) * (WIDTH * HEIGHT // 4))
        frame.pts, frame.time_base = index, codec.time_base
        frames += [(bytes(packet), bool(packet.is_keyframe)) for packet in codec.encode(frame)]
    frames += [(bytes(packet), bool(packet.is_keyframe)) for packet in codec.encode(None)]
    if len(frames) != CLIP_FRAMES or not frames[0][1]:
        raise RuntimeError(f"VP8 clip: {len(frames)} frames, first keyframe {frames[0][1] if frames else None}")
    return frames


def _encode_audio() -> list[bytes]:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = AUDIO_CLOCK, "s16", "mono"
    codec.bit_rate = AUDIO_BITRATE
    codec.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    codec.options = {"application": "voip", "frame_duration": "20"}
    noise = random.Random(2)  # noqa: S311 - sound content, not security
    packets: list[bytes] = []
    total = AUDIO_PACKETS + 4  # the encoder's look-ahead delays its output by a few packets
    for index in range(total):
        samples = bytearray()
        for n in range(AUDIO_SAMPLES):
            t = (index * AUDIO_SAMPLES + n) / AUDIO_CLOCK
            value = 6000 * math.sin(2 * math.pi * 220 * t) + 3000 * math.sin(2 * math.pi * 660 * t)
            samples += struct.pack("<h", int(value + noise.uniform(-800, 800)))
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_SAMPLES)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate, frame.pts = AUDIO_CLOCK, index * AUDIO_SAMPLES
        packets += [bytes(packet) for packet in codec.encode(frame)]
    packets = [p for p in packets if p][-AUDIO_PACKETS:]
    if len(packets) < AUDIO_PACKETS or any(p[0] & 3 for p in packets):
        raise RuntimeError("Opus clip: expected single-frame (code 0) packets")
    return packets


def load_clip(directory: Path = CLIPS_DIR) -> Clip:
    """The cached clip, encoding it first if it is not there (about a second of CPU)."""
    path = directory / f"forwarding-clip-v{CLIP_VERSION}-{WIDTH}x{HEIGHT}-{VIDEO_BITRATE // 1000}k.json"
    if path.exists():
        stored = json.loads(path.read_text())
        return Clip(
            [(base64.b64decode(d), bool(k)) for d, k in stored["video"]],
            [base64.b64decode(a) for a in stored["audio"]],
        )
    clip = Clip(_encode_video(), _encode_audio())
    directory.mkdir(parents=True, exist_ok=True)
    stored = {
        "video": [[base64.b64encode(d).decode(), k] for d, k in clip.video],
        "audio": [base64.b64encode(a).decode() for a in clip.audio],
    }
    path.write_text(json.dumps(stored))
    return clip


def stamped_opus(packet: bytes, stamp_ns: int) -> bytes:
    """``packet`` (a code 0 Opus packet) as a code 3 packet of the same single frame, padded with a stamp
    (RFC 6716 section 3.2.5: decoders ignore the padding)."""
    padding = STAMP.pack(STAMP_MAGIC, stamp_ns)
    toc = packet[0] | 3
    return bytes((toc, 0x41, len(padding))) + packet[1:] + padding  # 0x41: no VBR, padding, one frame


def read_stamp(payload: bytes) -> int | None:
    if len(payload) > STAMP.size + 3 and payload[0] & 3 == 3 and payload[-STAMP.size :][:4] == STAMP_MAGIC:
        return int(STAMP.unpack_from(payload, len(payload) - STAMP.size)[1])
    return None


# -- sending -------------------------------------------------------------------------------------------------


class Pacer:
    """Due times at a fixed rate from the first call; a replay that falls too far behind skips ahead."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.start: float | None = None
        self.index = 0
        self.skipped = 0

    async def next(self) -> int:
        """Wait until the next item is due; return how many items were skipped to catch up (usually 0)."""
        now = time.monotonic()
        if self.start is None:
            self.start = now
        due = self.start + self.index * self.interval
        skipped = 0
        if now - due > MAX_LATE:
            skipped = int((now - due) / self.interval)
            self.index += skipped
            self.skipped += skipped
        elif due > now:
            await asyncio.sleep(due - now)
        self.index += 1
        return skipped


class ReplayVideo(MediaStreamTrack):
    """The clip's VP8 frames at 30 fps, looped; keyframe requests are honoured (rate limited)."""

    kind = "video"

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.clip = clip
        self.keyframes = clip.keyframes
        self.pacer = Pacer(1 / FPS)
        self.position = 0
        self.pts = 0
        self.sent = 0
        self.keyframe_requests = 0
        self.forced_keyframes = 0
        self._wanted = False
        self._last_forced = 0.0

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._wanted = True

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        skipped = await self.pacer.next()
        self.position = (self.position + skipped) % len(self.clip.video)
        self.pts += skipped
        if self._wanted and not self.clip.video[self.position][1]:
            now = time.monotonic()
            if now - self._last_forced >= KEYFRAME_MIN_INTERVAL:
                self._wanted = False
                self._last_forced = now
                self.forced_keyframes += 1
                self.position = max(k for k in self.keyframes if k <= self.position)
        elif self.clip.video[self.position][1]:
            self._wanted = False
        data = self.clip.video[self.position][0]
        packet = av.Packet(data)
        packet.pts = self.pts * (VIDEO_CLOCK // FPS)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.position = (self.position + 1) % len(self.clip.video)
        self.pts += 1
        self.sent += 1
        return packet


class ReplayAudio(MediaStreamTrack):
    """The clip's Opus packets, 50 a second in talk spurts, each stamped with its send time."""

    kind = "audio"

    def __init__(self, clip: Clip, phase: int = 0) -> None:
        super().__init__()
        self.clip = clip
        self.pacer = Pacer(AUDIO_SAMPLES / AUDIO_CLOCK)
        self.slot = phase  # position in the spurt/gap cycle: members start out of phase
        self.sent = 0
        self.onsets: list[float] = []  # monotonic time of each spurt's first packet

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        cycle = AUDIO_SPURT_PACKETS + AUDIO_GAP_PACKETS
        while True:
            self.slot += 1 + await self.pacer.next()
            if self.slot % cycle < AUDIO_SPURT_PACKETS:
                break
        now_ns = time.monotonic_ns()
        if self.slot % cycle == 0:
            self.onsets.append(now_ns / 1e9)
        packet = av.Packet(stamped_opus(self.clip.audio[self.slot % len(self.clip.audio)], now_ns))
        packet.pts = self.slot * AUDIO_SAMPLES
        packet.time_base = fractions.Fraction(1, AUDIO_CLOCK)
        self.sent += 1
        return packet


def publish(pc: RTCPeerConnection, video: ReplayVideo, audio: ReplayAudio) -> None:
    """Send-only audio and video transceivers on ``pc`` (Opus and VP8 only), keyframe requests wired to the
    replay."""
    for track in (audio, video):
        transceiver = pc.addTransceiver(track, direction="sendonly")
        prefer_codec(transceiver, track.kind)
        if track is video:
            _wire_keyframes(transceiver.sender, video)


def prefer_codec(transceiver: Any, kind: str) -> None:
    wanted = "video/VP8" if kind == "video" else "audio/opus"
    capabilities = RTCRtpSender.getCapabilities(kind)
    codecs = [c for c in capabilities.codecs if c.mimeType.lower() == wanted.lower()]
    # RTX stays offered for video so a forwarder may retransmit; receivers here ignore it.
    codecs += [c for c in capabilities.codecs if c.mimeType.lower() == f"{kind}/rtx"]
    transceiver.setCodecPreferences(codecs)


def _wire_keyframes(sender: RTCRtpSender, video: ReplayVideo) -> None:
    sender._send_keyframe = video.request_keyframe  # type: ignore[method-assign]


# -- receiving -----------------------------------------------------------------------------------------------


@dataclass
class Window:
    """What one stream received during the measured window."""

    packets: int = 0
    seqs: set[int] = field(default_factory=set)
    frames: int = 0
    delays: list[float] = field(default_factory=list)  # seconds, from the audio stamps
    onsets: list[float] = field(default_factory=list)  # monotonic arrival of each spurt's first packet
    bytes: int = 0

    def expected(self) -> int:
        return max(self.seqs) - min(self.seqs) + 1 if self.seqs else 0


class StreamCounter:
    """Counts one remote stream at the RTP level, in place of the receiver's depacketize/decode path."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str, publisher: str, payload_types: set[int]) -> None:
        self.receiver = receiver
        self.kind = kind
        self.publisher = publisher
        self.payload_types = payload_types
        self.packets = 0
        self.other_packets = 0  # RTX or unknown payload types
        self.highest: int | None = None  # extended sequence number
        self.first_packet_at: float | None = None
        self.first_frame_at: float | None = None  # arrival of the last packet of the first complete keyframe
        self.frames = 0
        self.last_arrival = 0.0
        self.window: Window | None = None
        self.stamped = 0
        self._keyframe_ts: int | None = None
        self._keyframe_next: int | None = None
        self._last_pli = 0.0
        self.plis = 0
        self._last_timestamp: int | None = None
        self._since_onset = 0

    def extend(self, seq: int) -> int:
        if self.highest is None:
            self.highest = seq
            return seq
        delta = (seq - self.highest) & 0xFFFF
        if delta < 0x8000:
            self.highest += delta
            return self.highest
        return self.highest - (0x10000 - delta)

    async def handle(self, packet: RtpPacket, arrival_time_ms: int = 0) -> None:
        now = time.monotonic()
        if packet.payload_type not in self.payload_types:
            self.other_packets += 1
            return
        self.packets += 1
        ext = self.extend(packet.sequence_number)
        window = self.window
        if self.first_packet_at is None:
            self.first_packet_at = now
        if self.kind == "audio":
            stamp = read_stamp(packet.payload)
            onset = self._spurt_onset(packet, stamp is not None, now)
            if window is not None and ext not in window.seqs:
                window.packets += 1
                window.bytes += len(packet.payload)
                window.seqs.add(ext)
                if stamp is not None:
                    window.delays.append(now - stamp / 1e9)
                if onset:
                    window.onsets.append(now)
            return
        if packet.marker:
            self.frames += 1
        if window is not None and ext not in window.seqs:  # a retransmitted duplicate counts once
            window.packets += 1
            window.bytes += len(packet.payload)
            window.seqs.add(ext)
            if packet.marker:
                window.frames += 1
        if self.first_frame_at is None:
            await self._look_for_keyframe(packet, ext, now)

    def _spurt_onset(self, packet: RtpPacket, passed_through: bool, now: float) -> bool:
        """Whether this audio packet starts a talk spurt: it comes after a silence, and either its RTP timestamp
        jumps over the gap (a forwarder that passes packets on) or a whole spurt's packets came since the last
        onset (one that re-encodes, and re-times, them). A stall in the middle of a spurt is not an onset."""
        gap, previous = now - self.last_arrival, self._last_timestamp
        self.last_arrival, self._last_timestamp = now, packet.timestamp
        self._since_onset += 1
        if gap <= ONSET_GAP or previous is None:
            return False
        jump = (packet.timestamp - previous) & 0xFFFFFFFF
        if passed_through:
            onset = 2 * AUDIO_SAMPLES <= jump < 0x80000000
        else:
            onset = self._since_onset > AUDIO_SPURT_PACKETS - 5
        if onset:
            self._since_onset = 0
        return onset

    async def _look_for_keyframe(self, packet: RtpPacket, ext: int, now: float) -> None:
        if is_vp8_keyframe_start(packet.payload):
            self._keyframe_ts, self._keyframe_next = packet.timestamp, ext
        if self._keyframe_ts is not None and packet.timestamp == self._keyframe_ts and ext == self._keyframe_next:
            self._keyframe_next = ext + 1
            if packet.marker:
                self.first_frame_at = now
                return
        elif self._keyframe_ts is not None and packet.timestamp == self._keyframe_ts:
            self._keyframe_ts = None  # a packet of the keyframe is missing: wait for the next one
        if now - self._last_pli >= PLI_INTERVAL:
            self._last_pli = now
            self.plis += 1
            await self.receiver._send_rtcp_pli(packet.ssrc)


def is_vp8_keyframe_start(payload: bytes) -> bool:
    """Whether an RTP payload starts a VP8 keyframe (RFC 7741: S=1, PID=0, then the P bit of the frame is 0)."""
    if len(payload) < 2:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x07:
        return False
    offset = 1
    if first & 0x80:
        extension = payload[1]
        offset = 2
        if extension & 0x80:  # picture id, 7 or 15 bits
            offset += 2 if payload[offset] & 0x80 else 1
        if extension & 0x40:  # TL0PICIDX
            offset += 1
        if extension & 0x30:  # TID / KEYIDX
            offset += 1
    return len(payload) > offset and not payload[offset] & 0x01


def count_receiver(receiver: RTCRtpReceiver, kind: str, publisher: str, payload_types: set[int]) -> StreamCounter:
    """Replace ``receiver``'s RTP handling by a ``StreamCounter`` (so it never decodes) and return it."""
    counter = StreamCounter(receiver, kind, publisher, payload_types)
    receiver._handle_rtp_packet = counter.handle  # type: ignore[method-assign]
    return counter


# -- network -------------------------------------------------------------------------------------------------


_AIOICE_HOST_ADDRESSES = aioice.ice.get_host_addresses


def machine_ipv4_addresses() -> list[str]:
    """This machine's own non-loopback IPv4 addresses (what aioice gathers on by default)."""
    return list(_AIOICE_HOST_ADDRESSES(use_ipv4=True, use_ipv6=False))


def gather_on(addresses: list[str]) -> None:
    """Make aioice, in this process, gather host candidates on ``addresses`` only (IPv4). aioice leaves out
    127.0.0.1 by default; the bench keeps media on 127.0.0.1 wherever the forwarder can listen there."""
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return list(chosen) if use_ipv4 else []

    aioice.ice.get_host_addresses = host_addresses


def widen_receive_buffers(pc: RTCPeerConnection, size: int = RECEIVE_BUFFER) -> int:
    """Give every UDP socket of ``pc`` a larger receive buffer (the load generator reads many streams on one
    event loop); returns how many sockets were changed."""
    changed = 0
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport or transceiver.sender.transport
        if dtls is None:
            continue
        connection = dtls.transport._connection
        for protocol in getattr(connection, "_protocols", []):
            transport = getattr(protocol, "transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None:
                continue
            # Capped by net.core.rmem_max (4 MiB on this machine).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            changed += 1
    return changed
