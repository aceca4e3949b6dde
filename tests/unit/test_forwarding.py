"""The forwarder's byte-level work, without a network: reading RTP once, each subscriber's copy, RTCP feedback,
what a muted or restarted stream does to the numbering, and which rooms go through the forwarder."""

from __future__ import annotations

import struct

from media import rtp
from media.counters import Counters
from media.streams import Sink, Source
from rooms.events import MediaForwarded, MemberJoined
from rooms.media import settle
from rooms.model import GroupSettings, Member, Role, Room


def packet(
    *,
    pt: int = 96,
    seq: int = 1,
    ts: int = 1000,
    ssrc: int = 0x1234,
    payload: bytes = b"\x10\x00\x9d",
    marker: bool = False,
    extensions: bytes = b"",
    padding: int = 0,
) -> bytes:
    first = 0x80 | (0x10 if extensions else 0) | (0x20 if padding else 0)
    head = struct.pack("!BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    if extensions:
        padded = extensions + b"\x00" * (-len(extensions) % 4)
        head += struct.pack("!HH", 0xBEDE, len(padded) // 4) + padded
    tail = b"\x00" * (padding - 1) + bytes([padding]) if padding else b""
    return head + payload + tail


class Outlet:
    def __init__(self, full: bool = False, connected: bool = True) -> None:
        self.rtp: list[bytes] = []
        self.rtcp: list[bytes] = []
        self.full = full
        self.connected = connected

    def send_rtp(self, data: bytes) -> bool:
        if self.full or not self.connected:
            return False
        self.rtp.append(data)
        return True

    def send_rtcp(self, data: bytes) -> None:
        self.rtcp.append(data)


def source(kind: str = "video") -> tuple[Source, list[int]]:
    asked: list[int] = []
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0  # every look at the clock is a second later: no request is ever rate-limited here
        return now[0]

    return Source("publisher", kind, Counters(), request_keyframe=lambda: asked.append(1), clock=clock), asked


def fields(data: bytes) -> tuple[int, int, int, int, bool]:
    _first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    return second & 0x7F, seq, ts, ssrc, bool(second & 0x80)


def test_a_header_is_read_once_with_its_extensions_and_padding() -> None:
    data = packet(extensions=bytes([0x10, 0x85]), padding=3, marker=True)  # id 1, one byte: level 5, voice
    header = rtp.Header.read(data)
    assert header is not None
    assert (header.payload_type, header.sequence, header.timestamp, header.ssrc, header.marker) == (
        96,
        1,
        1000,
        0x1234,
        True,
    )
    assert data[header.payload_start : header.payload_end] == b"\x10\x00\x9d"
    assert rtp.audio_level(header, 1) == 5
    assert rtp.audio_level(header, 2) is None
    assert rtp.Header.read(b"\x80\x60") is None  # too short
    assert rtp.Header.read(packet()[:12] + b"") is not None
    assert rtp.Header.read(b"\x00" * 12) is None  # version 0


def test_vp8_key_frames_are_told_from_the_payload_descriptor() -> None:
    def starts_key(payload: bytes) -> bool:
        data = packet(payload=payload)
        header = rtp.Header.read(data)
        assert header is not None
        return rtp.vp8_keyframe_start(data, header)

    assert starts_key(b"\x10\x00")  # S=1, partition 0, P bit clear
    assert not starts_key(b"\x10\x01")  # inter frame
    assert not starts_key(b"\x00\x00")  # not the start of a frame
    assert starts_key(b"\x90\x80\x81\x23\x00")  # X, I with a 15-bit picture id, then a key frame
    assert not starts_key(b"\x90\x80\x81\x23\x01")


def test_each_subscriber_gets_its_own_header_in_front_of_the_shared_payload() -> None:
    video, _ = source()
    first, second = Outlet(), Outlet()
    video.attach(Sink(first, ssrc=111, payload_type=97))
    video.attach(Sink(second, ssrc=222, payload_type=100))
    for sink in video.sinks:
        sink.waiting_for_keyframe = False
    data = packet(payload=b"\x10\x01abc", marker=True, extensions=bytes([0x10, 0x85]))
    header = rtp.Header.read(data)
    assert header is not None
    video.receive(data, header)
    (one,), (two,) = first.rtp, second.rtp
    assert fields(one)[0::3] == (97, 111)
    assert fields(two)[0::3] == (100, 222)
    assert fields(one)[1:3] == fields(two)[1:3]  # one numbering and timing of the stream for everyone
    assert one[0] == 0x80  # no extensions, no CSRCs: nothing of the publisher's numbering
    assert one[12:] == two[12:] == b"\x10\x01abc"
    assert fields(one)[4]  # the marker bit travels


def test_held_back_packets_leave_no_gap_and_a_late_subscriber_starts_at_a_key_frame() -> None:
    video, asked = source()
    out = Outlet()
    video.attach(Sink(out, ssrc=1, payload_type=96))
    assert asked  # a key frame was asked for at once
    inter, key = b"\x10\x01xx", b"\x10\x00xx"
    for seq, payload in enumerate([inter, key, inter], start=1):
        data = packet(seq=seq, payload=payload)
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    assert [p[12:] for p in out.rtp] == [key, inter]
    video.set_allowed(False)  # a facilitator's mute
    for seq in (4, 5):
        data = packet(seq=seq, payload=key)
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    assert len(out.rtp) == 2
    video.set_allowed(True)
    for seq, payload in ((6, inter), (7, key)):
        data = packet(seq=seq, payload=payload)
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    sequences = [fields(p)[1] for p in out.rtp]
    assert len(sequences) == 3  # after the unmute, from the next key frame only
    assert sequences[2] - sequences[1] == 2  # the one inter frame skipped for this sink, nothing for the mute


def test_a_nack_is_answered_from_history_and_a_restart_keeps_time_moving() -> None:
    video, _ = source()
    out = Outlet()
    sink = Sink(out, ssrc=7, payload_type=96)
    video.attach(sink)
    sink.waiting_for_keyframe = False
    for seq in (1, 2, 3):
        data = packet(seq=seq, ts=9000 + seq * 3000, payload=b"\x10\x00k")
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    lost = fields(out.rtp[1])[1]
    video.resend(sink, (lost, (lost + 1000) & 0xFFFF))
    assert out.rtp[-1] == out.rtp[1]  # the same packet again; what is no longer kept is not invented
    before = fields(out.rtp[2])[2]
    data = packet(seq=500, ts=77, ssrc=0x9999, payload=b"\x10\x00k")  # the publisher's stream restarted
    video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    assert fields(out.rtp[-1])[2] - before == 3000


def test_a_subscriber_that_cannot_keep_up_waits_for_a_key_frame_and_slows_nobody() -> None:
    video, _ = source()
    slow, quick = Outlet(full=True), Outlet()
    video.attach(Sink(slow, ssrc=1, payload_type=96))
    video.attach(Sink(quick, ssrc=2, payload_type=96))
    for sink in video.sinks:
        sink.waiting_for_keyframe = False
    data = packet(payload=b"\x10\x01x")
    video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    assert len(quick.rtp) == 1
    assert video.sinks[0].waiting_for_keyframe
    assert video.counters.packets_dropped == 1


def test_feedback_names_key_frame_requests_and_every_lost_packet() -> None:
    nack = struct.pack("!BBHIIHH", 0x81, 205, 3, 1, 0xABC, 100, 0b101)
    pli = rtp.pli(5, 0xDEF)
    fir = struct.pack("!BBHIIII", 0x84, 206, 4, 1, 0, 0x123, 0)
    found = rtp.feedback(nack + pli + fir)
    assert found[0].media_ssrc == 0xABC
    assert found[0].lost == (100, 101, 103)
    assert found[1].media_ssrc == 0xDEF
    assert found[1].keyframe
    assert found[2].media_ssrc == 0x123
    assert found[2].keyframe
    assert rtp.feedback(b"\x81\xcd\xff\xff") == []  # a length past the end: read past, not trusted
    report = rtp.sender_report(9, ntp=(5 << 32) | 7, rtp_timestamp=1234, packets=3, octets=30)
    assert rtp.sender_report_times(report) == [(9, (5 << 32) | 7, 1234)]


def room_of(count: int, forwarded: bool = False) -> Room:
    members = tuple(Member(f"u{i}", f"U{i}", Role.PARTICIPANT, f"peer-{i}", 0.0) for i in range(count))
    return Room("room", GroupSettings(20, False, True), members=members, forwarded=forwarded)


def test_a_room_goes_through_the_forwarder_once_it_outgrows_the_mesh_and_stays() -> None:
    joined = [MemberJoined(room_of(1).members[0], None)]
    assert settle(room_of(4), joined, 4) == (room_of(4), joined)
    room, events = settle(room_of(5), joined, 4)
    assert room is not None
    assert room.forwarded
    assert events == [*joined, MediaForwarded()]
    assert settle(room_of(3, forwarded=True), [], 4) == (room_of(3, forwarded=True), [])  # no flapping back
    assert settle(room_of(1), joined, 0)[0].forwarded  # type: ignore[union-attr]
    assert settle(room_of(9), joined, None) == (room_of(9), joined)  # no forwarder: always a mesh


async def test_with_a_video_limit_only_facilitators_and_the_latest_speakers_are_seen() -> None:
    from media.network import MediaNetwork
    from media.room import ForwardedRoom, Seat

    async def send(to: str, event: str, data: dict[str, object]) -> None:
        pass

    room = ForwardedRoom(
        "room", peer_id="forwarder-x", network=MediaNetwork(), send=send, counters=Counters(), video_limit=1
    )
    try:
        seats = [Seat("fran", "p0", True, True, True)] + [Seat(f"u{i}", f"p{i}", False, True, True) for i in (1, 2, 3)]
        for seat in seats:
            room.sources[seat.user_id] = {
                kind: Source(seat.user_id, kind, room.counters, request_keyframe=lambda: None, clock=lambda: 0.0)
                for kind in ("audio", "video")
            }
        room.speakers.tick({"u2": (100, 1)}, now=1.0)  # u2 spoke
        await room.sync(seats)
        shown = {user for user, streams in room.sources.items() if streams["video"].allowed}
        assert shown == {"fran", "u2"}
        assert all(streams["audio"].allowed for streams in room.sources.values())  # audio is never limited
        room.speakers.tick({"u3": (100, 1)}, now=2.0)
        await room.sync(seats)
        assert {user for user, streams in room.sources.items() if streams["video"].allowed} == {"fran", "u3"}
        # A facilitator's mute of u3's video holds whatever the limit would allow.
        await room.sync([*seats[:3], Seat("u3", "p3", False, True, False)])
        assert not room.sources["u3"]["video"].allowed
    finally:
        await room.close()


def test_a_publishers_bitrate_follows_the_loss_on_its_upload() -> None:
    from media.link import MAX_BITRATE, next_estimate

    assert next_estimate(600_000, 0.0) > 600_000
    assert next_estimate(MAX_BITRATE, 0.0) == MAX_BITRATE
    assert next_estimate(600_000, 0.05) == 600_000
    assert next_estimate(600_000, 0.4) == 480_000
    video, _ = source()
    for seq in (10, 11, 13, 14, *range(15, 35)):  # 12 never arrived: 1 of 25 lost
        data = packet(seq=seq)
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]
    assert video.window_loss() == 1 - 24 / 25
    assert video.window_loss() is None  # a fresh window, too few packets yet
    remb = rtp.remb(1, 1_500_000, [0xABCD])
    _, _, _, _, _, name, count, exp_high, mantissa_low = struct.unpack_from("!BBHII4sBBH", remb)
    mantissa = ((exp_high & 0x03) << 16) | mantissa_low
    assert (name, count, mantissa << (exp_high >> 2)) == (b"REMB", 1, 1_500_000)
    assert remb.endswith(struct.pack("!I", 0xABCD))


def test_key_frame_requests_go_one_at_a_time_however_many_subscribers_ask() -> None:
    now = [0.0]
    asked: list[float] = []
    video = Source("p", "video", Counters(), request_keyframe=lambda: asked.append(now[0]), clock=lambda: now[0])

    def at(t: float) -> None:
        now[0] = t
        video.ask_keyframe()

    at(0.0)
    at(0.05)  # within the minimum interval
    at(0.2)  # the first is still on its way
    now[0] = 0.3
    key = packet(payload=b"\x10\x00k")
    video.receive(key, rtp.Header.read(key))  # type: ignore[arg-type]
    at(0.35)  # it came: a new subscriber's request goes at once
    at(0.4)
    at(0.9)  # not answered within the retry time: asked again
    assert asked == [0.0, 0.35, 0.9]
    assert video.counters.keyframe_requests == 3


def feed(video: Source, *packets: bytes) -> None:
    for data in packets:
        video.receive(data, rtp.Header.read(data))  # type: ignore[arg-type]


def test_loss_and_reordering_on_the_way_in_reach_subscribers_as_they_were() -> None:
    asked: list[list[int]] = []
    video = Source("p", "video", Counters(), request_keyframe=lambda: None, clock=lambda: 5.0)
    video.request_resend = asked.append
    out = Outlet()
    video.attach(Sink(out, ssrc=1, payload_type=96))
    feed(video, *(packet(seq=seq, payload=b"\x10\x00k") for seq in (100, 102, 101, 103)))
    numbers = [fields(p)[1] for p in out.rtp]
    base = numbers[0]
    assert [n - base for n in numbers] == [0, 2, 1, 3]  # the publisher's order and gaps, under our numbers
    feed(video, packet(seq=105, payload=b"\x10\x00k"))  # 104 never came
    missing = (base + 4) & 0xFFFF
    video.resend(video.sinks[0], (missing,))
    assert asked == [[104]]  # not kept here: asked of the publisher, in its own numbering
    video.resend(video.sinks[0], (missing,))
    assert asked == [[104]]  # and not again at once


def test_nothing_from_before_a_mute_is_resent_and_nothing_too_big_is_forwarded() -> None:
    video, _ = source()
    out = Outlet()
    sink = Sink(out, ssrc=1, payload_type=96)
    video.attach(sink)
    feed(video, packet(seq=1, payload=b"\x10\x00k"), packet(seq=2, payload=b"\x10\x01i"))
    kept = fields(out.rtp[0])[1]
    video.set_allowed(False)
    video.resend(sink, (kept,))
    assert len(out.rtp) == 2  # muted: no re-sending
    late = Outlet()
    video.attach(Sink(late, ssrc=2, payload_type=96))
    video.set_allowed(True)
    video.resend(video.sinks[1], (kept,))
    video.resend(sink, (kept,))
    assert late.rtp == []
    assert len(out.rtp) == 2  # nothing from before the mute, to anyone
    feed(video, packet(seq=3, payload=b"\x10\x00" + b"x" * 1400))
    assert late.rtp == []  # too big for SRTP: not forwarded
    feed(video, packet(seq=4, payload=b"\x10\x00" + b"x" * 1298))  # as big as a browser's or aiortc's get
    assert len(late.rtp) == 1


def test_a_subscriber_whose_connection_is_down_costs_publishers_no_key_frames() -> None:
    video, asked = source()
    gone = Outlet(connected=False)
    video.attach(Sink(gone, ssrc=1, payload_type=96))
    asked.clear()
    feed(video, *(packet(seq=seq, payload=b"\x10\x00k") for seq in range(1, 20)))
    assert asked == []
    assert video.counters.packets_dropped == 0
