"""One member's peer connection to the forwarder: their upload in, every other member's streams out.

aiortc negotiates (SDP, ICE, DTLS) and keeps the keys; the media never enters its receivers or senders. The
connection's DTLS transport hands each decrypted packet to ``_on_rtp`` (aiortc would decode it), and the
forwarder protects and sends subscribers' packets itself, straight to the ICE pair's socket, without waiting:
a subscriber whose socket cannot take more loses packets instead of holding anyone up. aiortc's own RTP and
RTCP senders are never started, so everything this connection sends is the forwarder's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pylibsrtp
from aioice.ice import Connection, StunProtocol
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.sdp import candidate_from_sdp

from media import offers, rtp
from media.counters import Counters
from media.errors import conflict, invalid
from media.network import MediaNetwork
from media.streams import Sink, Source

log = logging.getLogger("haven.media")
ANSWER_TIMEOUT = 10.0  # a member that does not answer an offer within this long gets it again
SETTLE = 0.02  # changes arriving together (a member joining publishes two streams) make one offer
WRITE_LIMIT = 256 * 1024  # bytes a subscriber's socket may hold before its packets are dropped
START_BITRATE = 600_000  # what the forwarder first tells a publisher it may send of video (REMB)
MAX_BITRATE = 1_500_000
RECEIVE_LIMIT = 256  # datagrams from a member waiting for the forwarder (about 2.5 s of its audio and video)
Deliver = Callable[[dict[str, Any]], Awaitable[None]]


async def _idle(*_: object) -> None:
    """Stands in for aiortc's RTP senders and receivers, which the forwarder replaces."""


def _preferences(kind: str) -> list[Any]:
    wanted = offers.FORWARDED_CODECS[kind]
    capabilities = RTCRtpReceiver.getCapabilities(kind)
    assert capabilities is not None
    return [c for c in capabilities.codecs if c.mimeType.lower() == wanted]


def next_estimate(estimate: int, loss: float) -> int:
    """Loss-based control of a publisher's video bitrate: back off with heavy loss, grow slowly without."""
    if loss > 0.10:
        return max(100_000, int(estimate * (1 - 0.5 * loss)))
    if loss < 0.02:
        return min(MAX_BITRATE, int(estimate * 1.08))
    return estimate


def _identity(offer: offers.Offer) -> tuple[str | None, tuple[str, ...]]:
    section = next((m for m in offer.description.media if m.ice is not None), None)
    if section is None or section.ice is None or section.dtls is None:
        return None, ()
    return section.ice.usernameFragment, tuple(f.value for f in section.dtls.fingerprints)


@dataclass(eq=False)
class Outgoing:
    """Another member's stream on this connection: its transceiver, and its sink once the member has it."""

    source: Source
    transceiver: RTCRtpTransceiver
    ssrc: int
    sink: Sink | None = None  # made once the member has answered the offer with this stream
    attached: bool = False  # flowing: the member answered and its connection is up


class MemberLink:
    def __init__(
        self,
        *,
        user_id: str,
        peer_id: str,
        network: MediaNetwork,
        deliver: Deliver,
        on_upload: Callable[[MemberLink], None],
        counters: Counters,
    ) -> None:
        self.user_id = user_id
        self.peer_id = peer_id
        self.network = network
        self.deliver = deliver
        self.on_upload = on_upload
        self.counters = counters
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=network.rtc_ice_servers(), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.offer: offers.Offer | None = None  # the member's first offer: its numbering of things
        self.uploads: dict[str, bool] = {}  # kind -> whether the member sends it
        self.sources: dict[int, Source] = {}  # payload type -> the stream the room made of it
        self.audio_level_id: int | None = None
        self.outgoing: dict[int, Outgoing] = {}  # SSRC -> stream out
        self.wanted: list[Source] = []
        self._tracks = itertools.count(1)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._answer: asyncio.Future[str] | None = None
        self._dtls: RTCDtlsTransport | None = None
        self._ice: Connection | None = None
        self._feedback_ssrc = 0
        self._relayed: set[asyncio.Future[None]] = set()
        self.estimate = START_BITRATE
        self.pc.on("connectionstatechange", self._connection_changed)
        self._task = asyncio.create_task(self._negotiate(), name=f"forwarder-link-{user_id}")
        self.closed = False

    # -- signals from the member ------------------------------------------------------------------------

    async def accept_offer(self, text: str) -> str:
        offer = offers.read(text, "offer")
        async with self._lock:
            if self.pc.signalingState != "stable" or self._answer is not None:
                raise conflict("An offer from the forwarder is waiting for your answer.")
            try:
                await self.pc.setRemoteDescription(RTCSessionDescription(text, "offer"))
            except Exception as exc:
                raise invalid("The offer could not be applied.") from exc
            if self.offer is None:
                self.offer = offer
                self.audio_level_id = offer.extensions.get(offers.AUDIO_LEVEL)
            self._take_over()
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
            self._read_uploads()
            sdp = self.pc.localDescription.sdp
        self.on_upload(self)
        return sdp

    def same_connection(self, offer: offers.Offer) -> bool:
        """Whether ``offer`` renegotiates this connection rather than starting another (new ICE credentials and
        DTLS identity: aiortc restarts neither, so a new connection takes this one's place)."""
        if self.offer is None:
            return True
        return _identity(offer) == _identity(self.offer)

    def accept_answer(self, text: str) -> None:
        offers.read(text, "answer")
        if self._answer is None or self._answer.done():
            raise conflict("No offer from the forwarder is waiting for an answer.")
        self._answer.set_result(text)

    async def add_candidate(self, candidate: dict[str, Any] | None) -> None:
        if candidate is None or not candidate.get("candidate"):
            return
        text = str(candidate["candidate"])
        try:
            parsed = candidate_from_sdp(text.removeprefix("candidate:"))
        except Exception as exc:
            raise invalid("The ICE candidate is not valid.") from exc
        if parsed.ip.endswith(".local"):
            return  # an mDNS name: resolving it would hold the room's requests for a second; host candidates suffice
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        if self.pc.remoteDescription is None:
            raise conflict("Send the offer before its candidates.")
        try:
            await self.pc.addIceCandidate(parsed)
        except Exception as exc:
            raise invalid("The ICE candidate could not be added.") from exc

    # -- what this member receives ---------------------------------------------------------------------

    def receive_only(self, sources: list[Source]) -> None:
        """The streams this member should receive now; an offer follows when that differs from what it has."""
        self.wanted = sources
        self._wake.set()

    def _changes(self) -> bool:
        changed = False
        have = {out.source: out for out in self.outgoing.values()}
        for source in self.wanted:
            if source not in have:
                self._add(source)
                changed = True
        wanted = set(self.wanted)
        for ssrc, out in list(self.outgoing.items()):
            if out.source not in wanted:
                self._end(ssrc, out)
                changed = True
        return changed

    def _add(self, source: Source) -> None:
        transceiver = self.pc.addTransceiver(source.kind, direction="sendonly")
        transceiver.setCodecPreferences(_preferences(source.kind))
        sender = transceiver.sender
        sender._stream_id = source.user_id  # the msid the member maps to a roster entry
        sender._track_id = f"{source.kind}-{next(self._tracks)}"
        sender.send = _idle  # type: ignore[method-assign,assignment]
        transceiver.receiver.receive = _idle  # type: ignore[method-assign,assignment]
        self.outgoing[sender._ssrc] = Outgoing(source, transceiver, sender._ssrc)

    def _end(self, ssrc: int, out: Outgoing) -> None:
        del self.outgoing[ssrc]
        if out.sink is not None:
            out.source.detach(out.sink, ended=True)
        out.transceiver.direction = "inactive"

    async def _negotiate(self) -> None:
        """Offer the member what it should receive, one offer at a time, each answered before the next."""
        while True:
            await self._wake.wait()
            await asyncio.sleep(SETTLE)
            self._wake.clear()
            try:
                await self._offer_changes()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Logged and survived: the next change (or the next answer) tries again.
                log.exception("negotiating with a member failed", extra={"user_id": self.user_id})
                self._answer = None

    async def _offer_changes(self) -> None:
        async with self._lock:
            if self.pc.remoteDescription is None or self.pc.signalingState != "stable":
                return
            if not self._changes() and not self._unanswered():
                return
            offer = await self.pc.createOffer()
            await self.pc.setLocalDescription(offer)
            text = self._as_member_numbers(self.pc.localDescription.sdp)
        # aiortc cannot take an offer back, so until the member answers it, it is sent again every ANSWER_TIMEOUT.
        while True:
            self._answer = asyncio.get_running_loop().create_future()
            await self.deliver({"type": "offer", "sdp": text})
            try:
                answer = await asyncio.wait_for(asyncio.shield(self._answer), ANSWER_TIMEOUT)
            except TimeoutError:
                log.warning("a member did not answer the forwarder's offer", extra={"user_id": self.user_id})
                continue
            async with self._lock:
                try:
                    await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
                except Exception:
                    log.warning("a member's answer could not be applied", extra={"user_id": self.user_id})
                    continue
                self._answer = None
                self._start_sinks()
                return

    def _unanswered(self) -> bool:
        return any(out.sink is None for out in self.outgoing.values())

    def _start_sinks(self) -> None:
        """The member has the offer with these streams: they may flow (video from a key frame) once the
        connection is up; asking publishers for key frames before would only waste them."""
        assert self.offer is not None
        for out in self.outgoing.values():
            if out.sink is None:
                out.sink = Sink(self, out.ssrc, self._negotiated_payload_type(out))
        self._attach_ready()

    def _negotiated_payload_type(self, out: Outgoing) -> int:
        """The number the member's answer gave the stream's codec (its own, or the forwarder's when the member
        offered none for that kind, such as a member without a camera)."""
        wanted = offers.FORWARDED_CODECS[out.source.kind]
        codec = next((c for c in out.transceiver._codecs if c.mimeType.lower() == wanted), None)
        if codec is not None and codec.payloadType is not None:
            return int(codec.payloadType)
        assert self.offer is not None
        return self.offer.payload_types.get(out.source.kind, 0)

    def _attach_ready(self) -> None:
        if self._dtls is None or self._dtls._state is not State.CONNECTED:
            return
        for out in self.outgoing.values():
            if out.sink is not None and not out.attached:
                out.attached = True
                out.source.attach(out.sink)

    def _connection_changed(self) -> None:
        if self.pc.connectionState == "connected":
            self._attach_ready()

    def _as_member_numbers(self, text: str) -> str:
        assert self.offer is not None
        plain = {out.transceiver.mid for out in self.outgoing.values() if out.transceiver.mid}
        plain |= {t.mid for t in self.pc.getTransceivers() if t.direction == "inactive" and t.mid}
        return offers.rewritten(text, self.offer.payload_types, self.offer.extensions, plain)

    # -- taking the media path over from aiortc ------------------------------------------------------------

    def _take_over(self) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind in offers.FORWARDED_CODECS and not transceiver._preferred_codecs:
                transceiver.setCodecPreferences(_preferences(transceiver.kind))
            transceiver.sender.send = _idle  # type: ignore[method-assign,assignment]
            transceiver.receiver.receive = _idle  # type: ignore[method-assign,assignment]
            transceiver._codecs = [
                c for c in transceiver._codecs if c.mimeType.lower() == offers.FORWARDED_CODECS.get(transceiver.kind)
            ]
            dtls = transceiver.receiver.transport
            if dtls is not self._dtls:
                self._dtls = dtls
                dtls._handle_rtp_data = self._on_rtp  # type: ignore[method-assign]
                dtls._handle_rtcp_data = self._on_rtcp  # type: ignore[method-assign]
                dtls._send_rtp = _idle  # type: ignore[method-assign,assignment]
                self._ice = dtls.transport._connection
                self.network.install(self._ice)
                self._bound_receiving(self._ice)
                self._feedback_ssrc = transceiver.sender._ssrc

    def _bound_receiving(self, connection: Connection) -> None:
        """aioice queues every datagram it receives without limit; a forwarder that falls behind drops the newest
        instead (subscribers then ask for a key frame), so memory and delay stay bounded."""
        queue = connection._queue

        def data_received(data: bytes, component: int) -> None:
            if queue.qsize() < RECEIVE_LIMIT:
                queue.put_nowait((data, component))
            else:
                self.counters.dropped_on_arrival += 1

        connection.data_received = data_received  # type: ignore[method-assign]

    def _read_uploads(self) -> None:
        """Which kinds the member sends, from the transceivers its offer made."""
        ours = {out.transceiver for out in self.outgoing.values()}
        self.uploads = {}
        for transceiver in self.pc.getTransceivers():
            if transceiver in ours or transceiver.kind not in offers.FORWARDED_CODECS:
                continue
            # aiortc keeps the offer's direction as seen from this side: the member's "sendonly" is our "recvonly".
            if transceiver._offerDirection in ("sendrecv", "recvonly"):
                self.uploads[transceiver.kind] = True

    def publisher_ssrc(self, kind: str) -> int | None:
        source = next((s for s in self.sources.values() if s.kind == kind), None)
        if source is not None and source.publisher_ssrc is not None:
            return source.publisher_ssrc
        return self.offer.ssrcs.get(kind) if self.offer else None

    async def _on_rtp(self, data: bytes, arrival_time_ms: int = 0) -> None:
        header = rtp.Header.read(data)
        if header is None:
            return
        source = self.sources.get(header.payload_type)
        if source is None:
            return
        if source.kind == "audio" and source.allowed:
            level = rtp.audio_level(header, self.audio_level_id)
            if level is not None:
                source.loudness += 127 - level
                source.heard += 1
        source.receive(data, header)

    async def _on_rtcp(self, data: bytes) -> None:
        for ssrc, ntp, timestamp in rtp.sender_report_times(data):
            for source in self.sources.values():
                if source.publisher_ssrc == ssrc:
                    source.sender_report(ntp, timestamp)
        for item in rtp.feedback(data):
            out = self.outgoing.get(item.media_ssrc)
            if out is None or out.sink is None or not out.attached:
                continue
            if item.keyframe:
                out.source.ask_keyframe()
            if item.lost:
                out.source.resend(out.sink, item.lost)

    # -- sending ---------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        dtls = self._dtls
        return dtls is not None and dtls._state is State.CONNECTED

    def send_rtp(self, packet: bytes) -> bool:
        dtls = self._dtls
        if dtls is None or dtls._state is not State.CONNECTED:
            return False
        try:
            return self._send(dtls._tx_srtp.protect(packet))
        except (ValueError, pylibsrtp.Error):
            return False  # a packet SRTP will not take: dropped here, never raised into a receive loop

    def send_rtcp(self, packet: bytes) -> None:
        dtls = self._dtls
        if dtls is not None and dtls._state is State.CONNECTED:
            with contextlib.suppress(ValueError, pylibsrtp.Error):
                self._send(dtls._tx_srtp.protect_rtcp(packet))

    def ask_resend(self, kind: str, sequences: list[int]) -> None:
        ssrc = self.publisher_ssrc(kind)
        if ssrc is not None:
            self.send_rtcp(rtp.nack(self._feedback_ssrc, ssrc, sequences))

    def ask_keyframe(self, kind: str) -> None:
        ssrc = self.publisher_ssrc(kind)
        if ssrc is not None:
            self.send_rtcp(rtp.pli(self._feedback_ssrc, ssrc))

    def report(self) -> None:
        """Tell the member how much video it may send (REMB), from the loss seen on its upload: a browser without
        transport-wide feedback takes this as its estimate, and would otherwise stay at its starting bitrate."""
        source = next((s for s in self.sources.values() if s.kind == "video"), None)
        if source is None or source.publisher_ssrc is None:
            return
        loss = source.window_loss()
        if loss is not None:
            self.estimate = next_estimate(self.estimate, loss)
        self.send_rtcp(rtp.remb(self._feedback_ssrc, self.estimate, [source.publisher_ssrc]))

    def _send(self, data: bytes) -> bool:
        assert self._ice is not None
        pair = self._ice._nominated.get(1)
        if pair is None:
            return False
        protocol = pair.protocol
        if type(protocol) is StunProtocol:
            transport = protocol.transport
            if transport.get_write_buffer_size() > WRITE_LIMIT:  # type: ignore[attr-defined]
                return False
            transport.sendto(data, pair.remote_addr)
        else:  # through a TURN relay: its client wraps each datagram
            relayed = asyncio.ensure_future(protocol.send_data(data, pair.remote_addr))
            self._relayed.add(relayed)
            relayed.add_done_callback(self._relayed.discard)
        return True

    # -- the end ---------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for ssrc, out in list(self.outgoing.items()):
            self._end(ssrc, out)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        try:
            await self.pc.close()
        except Exception:
            log.exception("closing a member's connection failed", extra={"user_id": self.user_id})
