"""A published stream and its copies: each received packet is read once and sent on to every subscriber.

A ``Source`` is one member's audio or video as the forwarder passes it on. It numbers what it forwards itself
(``sequence``), so packets it holds back (a facilitator's mute, padding, the wait for a key frame) leave no gap a
subscriber would ask to have resent, and it keeps timestamps continuous when the publisher's stream restarts.
A ``Sink`` is that stream at one subscriber: its own SSRC and payload type, and whether it waits for a key frame.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from media import rtp
from media.counters import Counters

_HEAD = struct.Struct("!BBHII")
MAX_PACKET = 1356  # bytes of RTP the forwarder can send on: what SRTP protects (1500 less its 144-byte trailer room)
HISTORY = 512  # video packets kept to answer a subscriber's NACK: about 3 s at 500 kbps
# Key frame requests to a publisher, per stream: one at a time (another only once the key frame came, or after
# KEYFRAME_RETRY if it did not), and never two within KEYFRAME_MIN_INTERVAL, however many subscribers ask.
KEYFRAME_RETRY = 0.5
KEYFRAME_MIN_INTERVAL = 0.1
NACK_AGAIN = 0.2  # a packet still missing this long after the publisher was asked for it is asked for again
RESTART_GAP = {"audio": 960, "video": 3000}  # timestamp step across a publisher's restart: one frame


class Outlet(Protocol):
    """Where a subscriber's packets go: its peer connection, protected and sent without waiting."""

    @property
    def connected(self) -> bool:
        """False while the subscriber's connection is not (or no longer) up: it misses packets, nobody is asked."""

    def send_rtp(self, packet: bytes) -> bool: ...

    def send_rtcp(self, packet: bytes) -> None: ...


@dataclass(eq=False, slots=True)
class Sink:
    outlet: Outlet
    ssrc: int
    payload_type: int
    waiting_for_keyframe: bool = False
    first_sequence: int | None = None  # the first packet this subscriber got: nothing older is re-sent to it
    packets: int = 0
    octets: int = 0


@dataclass(eq=False)
class Source:
    user_id: str
    kind: str  # "audio" or "video"
    counters: Counters
    request_keyframe: Callable[[], None]  # sends a PLI to the publisher
    clock: Callable[[], float]
    request_resend: Callable[[list[int]], None] | None = None  # sends a NACK for these numbers to the publisher
    allowed: bool = True  # False while muted, by a facilitator or the member, or not selected for video
    loudness: int = 0  # sum of (127 - RFC 6464 level) over the audio packets forwarded since the last look
    heard: int = 0  # how many packets that sum covers
    sinks: list[Sink] = field(default_factory=list)
    sequence: int = field(default_factory=lambda: secrets.randbelow(1 << 16))
    _publisher_ssrc: int | None = None
    _offset: int = 0  # added to the publisher's timestamps
    _last_timestamp: int | None = None  # the latest forwarded timestamp
    _history: list[tuple[int, bytes] | None] = field(default_factory=lambda: [None] * HISTORY)
    _keyframe_asked_at: float = -1e9
    _keyframe_seen_at: float = -1e9
    _window_first: int | None = None  # sequence numbers seen from the publisher since the last loss report
    _window_last: int = 0
    _window_count: int = 0
    _resume: bool = True  # the next forwarded packet (re)starts the numbering
    _sequence_offset: int = 0  # ours = the publisher's + this, so its losses stay gaps its subscribers NACK
    _first_incoming: int = 0  # the publisher's number at the (re)start: anything older is not forwarded
    _newest_incoming: int = 0
    _nacked: dict[int, float] = field(default_factory=dict)  # publisher numbers asked again, and when

    @property
    def video(self) -> bool:
        return self.kind == "video"

    def receive(self, data: bytes, header: rtp.Header) -> None:
        """One decrypted packet from the publisher: forwarded to every sink that may have it."""
        if header.ssrc != self._publisher_ssrc:
            self._restart(header)
        if self._window_first is None:
            self._window_first = header.sequence
        if (header.sequence - self._window_last) & 0xFFFF < 0x8000:
            self._window_last = header.sequence
        self._window_count += 1
        if not self.allowed:
            self._resume = True
            return
        if len(data) - header.payload_start + 12 > MAX_PACKET:
            return  # bigger than any subscriber's path takes (and than SRTP protects): never forwarded or kept
        incoming = header.sequence
        if self._resume:
            # (Re)starting: the publisher's numbers map onto ours right after the last one forwarded.
            self._resume = False
            self._sequence_offset = (self.sequence + 1 - incoming) & 0xFFFF
            self._first_incoming = self._newest_incoming = incoming
        elif (incoming - self._first_incoming) & 0xFFFF >= 0x8000:
            return  # from before the stream (re)started here: not ours to forward
        elif (incoming - self._newest_incoming) & 0xFFFF < 0x8000:
            self._newest_incoming = incoming
        sequence = (incoming + self._sequence_offset) & 0xFFFF
        if (sequence - self.sequence) & 0xFFFF < 0x8000:
            self.sequence = sequence  # the newest forwarded; a late packet keeps its place, and loss stays a gap
        if header.payload_start >= header.payload_end:
            return  # padding only: bandwidth probing meant for the forwarder; the gap it leaves is NACKed to nobody
        keyframe = self.video and rtp.vp8_keyframe_start(data, header)
        if keyframe:
            self._keyframe_seen_at = self.clock()
        timestamp = (header.timestamp + self._offset) & 0xFFFFFFFF
        self._last_timestamp = timestamp
        first = 0xA0 if header.padded else 0x80
        marker = 0x80 if header.marker else 0
        body = data[header.payload_start :]
        if self.video:
            self._history[sequence % HISTORY] = (sequence, _HEAD.pack(first, marker, sequence, timestamp, 0) + body)
        sent = dropped = 0
        waiting = False
        for sink in self.sinks:
            if sink.waiting_for_keyframe:
                if not keyframe:
                    waiting = True
                    continue
                sink.waiting_for_keyframe = False
                sink.first_sequence = sequence
            elif sink.first_sequence is None:
                sink.first_sequence = sequence
            packet = _HEAD.pack(first, marker | sink.payload_type, sequence, timestamp, sink.ssrc) + body
            if sink.outlet.send_rtp(packet):
                sink.packets += 1
                sink.octets += len(body)
                sent += 1
            elif sink.outlet.connected:
                dropped += 1
                if self.video:
                    # A subscriber that cannot keep up skips to the next key frame instead of queueing.
                    sink.waiting_for_keyframe = True
                    self.ask_keyframe()
        self.counters.forwarded(sent, sent * (len(body) + 12), dropped)
        if waiting:  # the first request may have been lost, or reached a publisher not yet connected: ask again
            self.ask_keyframe()

    def _restart(self, header: rtp.Header) -> None:
        """The publisher's stream began or restarted (a new SSRC): keep the forwarded timestamps moving on."""
        self._publisher_ssrc = header.ssrc
        if self._last_timestamp is None:
            self._offset = secrets.randbelow(1 << 32) - header.timestamp
        else:
            self._offset = self._last_timestamp + RESTART_GAP[self.kind] - header.timestamp
        self._resume = True
        self._window_first, self._window_last, self._window_count = None, header.sequence, 0

    @property
    def publisher_ssrc(self) -> int | None:
        return self._publisher_ssrc

    def attach(self, sink: Sink) -> None:
        """A subscriber starts receiving: video waits for (and asks for) a key frame."""
        if sink in self.sinks:
            return
        self.sinks.append(sink)
        if self.video:
            sink.waiting_for_keyframe = True
            self.ask_keyframe()

    def detach(self, sink: Sink, *, ended: bool) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
        if ended:
            sink.outlet.send_rtcp(rtp.bye(sink.ssrc))

    def set_allowed(self, allowed: bool) -> None:
        if not allowed and self.allowed:
            # Nothing sent before a mute may be re-sent after it: not to a NACK, not to anyone joining later.
            self._history = [None] * HISTORY
        if allowed and not self.allowed and self.video:
            for sink in self.sinks:
                sink.waiting_for_keyframe = True
            self.ask_keyframe()
        self.allowed = allowed

    def ask_keyframe(self) -> None:
        now = self.clock()
        since_asked = now - self._keyframe_asked_at
        outstanding = self._keyframe_asked_at > self._keyframe_seen_at
        if since_asked < KEYFRAME_MIN_INTERVAL or (outstanding and since_asked < KEYFRAME_RETRY):
            return  # one is on its way
        self._keyframe_asked_at = now
        self.counters.keyframe_requests += 1
        self.request_keyframe()

    def resend(self, sink: Sink, lost: tuple[int, ...]) -> None:
        """Answer a subscriber's NACK from the packets kept (only those it was sent, or would have been); what the
        forwarder never got is asked of the publisher, once."""
        if not self.video or not self.allowed or sink.waiting_for_keyframe or sink.first_sequence is None:
            return
        missing: list[int] = []
        for sequence in lost:
            if (sequence - sink.first_sequence) & 0xFFFF >= 0x8000:
                continue  # from before this subscriber started
            kept = self._history[sequence % HISTORY]
            if kept is None or kept[0] != sequence:
                missing.append((sequence - self._sequence_offset) & 0xFFFF)
                continue
            template = kept[1]
            packet = (
                template[:1]
                + bytes((template[1] | sink.payload_type,))
                + template[2:8]
                + sink.ssrc.to_bytes(4, "big")
                + template[12:]
            )
            if not sink.outlet.send_rtp(packet):
                return  # its socket is full: re-sending more would only be dropped
            self.counters.retransmitted += 1
        if missing:
            self._ask_again(missing)

    def _ask_again(self, sequences: list[int]) -> None:
        now = self.clock()
        if len(self._nacked) > HISTORY:
            self._nacked = {s: t for s, t in self._nacked.items() if now - t < NACK_AGAIN}
        fresh = [s for s in sequences if now - self._nacked.get(s, -1e9) >= NACK_AGAIN]
        for sequence in fresh:
            self._nacked[sequence] = now
        if fresh and self.request_resend is not None:
            self.request_resend(fresh)

    def window_loss(self) -> float | None:
        """The share of the publisher's packets lost on the way in since the last call (None: too few to tell)."""
        if self._window_first is None or self._window_count < 20:
            return None
        expected = ((self._window_last - self._window_first) & 0xFFFF) + 1
        loss = max(0.0, 1.0 - self._window_count / expected)
        self._window_first, self._window_count = None, 0
        return loss

    def sender_report(self, ntp: int, rtp_timestamp: int) -> None:
        """The publisher's clock mapping, re-expressed in every subscriber's stream."""
        if not self.allowed or self._publisher_ssrc is None:
            return
        timestamp = (rtp_timestamp + self._offset) & 0xFFFFFFFF
        for sink in self.sinks:
            if not sink.waiting_for_keyframe:
                sink.outlet.send_rtcp(rtp.sender_report(sink.ssrc, ntp, timestamp, sink.packets, sink.octets))
