"""RTP and RTCP at the byte level: what the forwarder reads from a packet once, and what it writes per subscriber.

A received packet is read once (``Header.read``); each subscriber's copy is a fresh 12-byte header (its SSRC,
payload type, and the stream's forwarded sequence number and timestamp) in front of the publisher's payload,
with no header extensions and no CSRCs: the subscriber's m-line negotiates none, so nothing of the publisher's
extension map leaks or collides. RTCP is rare (a few packets a second per stream) and is built with ``struct``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_FIXED = struct.Struct("!BBHII")
_PLI = struct.Struct("!BBHII")
_SR = struct.Struct("!BBHIIIIII")
_BYE = struct.Struct("!BBHI")
_REMB_HEAD = struct.Struct("!BBHII4sBBH")
_NTP_EPOCH = 2_208_988_800  # seconds from 1900 (NTP) to 1970 (Unix)

RTCP_SR = 200
RTCP_RR = 201
RTCP_BYE = 203
RTCP_RTPFB = 205
RTCP_PSFB = 206
PSFB_PLI = 1
PSFB_FIR = 4
RTPFB_NACK = 1
MAX_LOST = 64  # packets one RTCP packet from a subscriber may ask to have re-sent


@dataclass(frozen=True, slots=True)
class Header:
    """What the forwarder needs of a received RTP packet."""

    padded: bool
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    extensions: bytes  # the one-byte or two-byte extension block, without its 4-byte profile header
    two_byte: bool
    payload_start: int
    payload_end: int  # excludes padding

    @classmethod
    def read(cls, data: bytes) -> Header | None:
        """The header of ``data``, or None when it is not a well-formed RTP packet."""
        size = len(data)
        if size < 12:
            return None
        first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
        if first >> 6 != 2:
            return None
        start = 12 + 4 * (first & 0x0F)
        extensions = b""
        two_byte = False
        if first & 0x10:
            if start + 4 > size:
                return None
            profile = (data[start] << 8) | data[start + 1]
            length = 4 * ((data[start + 2] << 8) | data[start + 3])
            if start + 4 + length > size:
                return None
            extensions = data[start + 4 : start + 4 + length]
            two_byte = profile & 0xFFF0 == 0x1000
            start += 4 + length
        end = size
        padded = bool(first & 0x20)
        if padded:
            end -= data[-1]
            if end < start:
                return None
        return cls(
            padded, bool(second & 0x80), second & 0x7F, sequence, timestamp, ssrc, extensions, two_byte, start, end
        )


def extension(header: Header, wanted: int) -> bytes | None:
    """The value of the header extension with id ``wanted`` (RFC 8285), if the packet carries it."""
    data = header.extensions
    i, size = 0, len(data)
    while i < size:
        if header.two_byte:
            if data[i] == 0:
                i += 1
                continue
            if i + 2 > size:
                return None
            ident, length = data[i], data[i + 1]
            i += 2
        else:
            ident, length = data[i] >> 4, (data[i] & 0x0F) + 1
            if ident == 0:
                i += 1
                continue
            if ident == 15:
                return None
            i += 1
        if ident == wanted:
            return data[i : i + length]
        i += length
    return None


def audio_level(header: Header, ext_id: int | None) -> int | None:
    """The RFC 6464 level in -dBov (0 loudest, 127 silence), when the packet carries one."""
    if ext_id is None:
        return None
    value = extension(header, ext_id)
    if not value:
        return None
    return value[0] & 0x7F


def vp8_keyframe_start(data: bytes, header: Header) -> bool:
    """Whether this VP8 packet (RFC 7741) starts a key frame: first packet of partition 0 with the P bit clear."""
    i, end = header.payload_start, header.payload_end
    if i >= end:
        return False
    descriptor = data[i]
    if not descriptor & 0x10 or descriptor & 0x07:  # S set, partition index 0
        return False
    i += 1
    if descriptor & 0x80:  # X: extended control bits
        if i >= end:
            return False
        control = data[i]
        i += 1
        if control & 0x80:  # I: picture id, 7 or 15 bits
            if i >= end:
                return False
            i += 2 if data[i] & 0x80 else 1
        if control & 0x40:  # L: TL0PICIDX
            i += 1
        if control & 0x30:  # T or K: TID/Y/KEYIDX
            i += 1
    return i < end and not data[i] & 0x01


def forwarded(data: bytes, header: Header, payload_type: int, sequence: int, timestamp: int, ssrc: int) -> bytes:
    """A subscriber's copy: a plain header of its own in front of the publisher's payload (padding kept)."""
    first = 0xA0 if header.padded else 0x80
    second = payload_type | (0x80 if header.marker else 0)
    return _FIXED.pack(first, second, sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + data[header.payload_start :]


# -- RTCP ----------------------------------------------------------------------------------------------------


def ntp_time(unix_seconds: float) -> int:
    seconds = unix_seconds + _NTP_EPOCH
    return (int(seconds) << 32) | int((seconds % 1) * (1 << 32))


def pli(sender_ssrc: int, media_ssrc: int) -> bytes:
    """A picture loss indication (RFC 4585): asks the publisher of ``media_ssrc`` for a key frame."""
    return _PLI.pack(0x80 | PSFB_PLI, RTCP_PSFB, 2, sender_ssrc, media_ssrc)


def sender_report(ssrc: int, ntp: int, rtp_timestamp: int, packets: int, octets: int) -> bytes:
    return _SR.pack(
        0x80,
        RTCP_SR,
        6,
        ssrc,
        ntp >> 32,
        ntp & 0xFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF,
        packets & 0xFFFFFFFF,
        octets & 0xFFFFFFFF,
    )


def nack(sender_ssrc: int, media_ssrc: int, sequences: list[int]) -> bytes:
    """A generic NACK (RFC 4585): asks the publisher of ``media_ssrc`` to send these packets again."""
    items: list[bytes] = []
    pending = sorted(set(sequences))
    while pending:
        first = pending.pop(0)
        mask = 0
        for later in list(pending):
            distance = (later - first) & 0xFFFF
            if 1 <= distance <= 16:
                mask |= 1 << (distance - 1)
                pending.remove(later)
        items.append(struct.pack("!HH", first, mask))
    return struct.pack("!BBHII", 0x80 | RTPFB_NACK, RTCP_RTPFB, 2 + len(items), sender_ssrc, media_ssrc) + b"".join(
        items
    )


def bye(ssrc: int) -> bytes:
    return _BYE.pack(0x81, RTCP_BYE, 1, ssrc)


def remb(sender_ssrc: int, bitrate: int, ssrcs: list[int]) -> bytes:
    """A receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb): caps what a publisher sends."""
    exponent = 0
    mantissa = bitrate
    while mantissa >= 1 << 18:
        mantissa >>= 1
        exponent += 1
    length = 4 + len(ssrcs)
    head = _REMB_HEAD.pack(
        0x80 | 15,
        RTCP_PSFB,
        length,
        sender_ssrc,
        0,
        b"REMB",
        len(ssrcs),
        (exponent << 2) | (mantissa >> 16),
        mantissa & 0xFFFF,
    )
    return head + b"".join(struct.pack("!I", s) for s in ssrcs)


@dataclass(frozen=True, slots=True)
class Feedback:
    """A subscriber's RTCP that the forwarder acts on: a key frame request, or sequence numbers it lost."""

    media_ssrc: int
    keyframe: bool = False
    lost: tuple[int, ...] = ()


def feedback(data: bytes) -> list[Feedback]:
    """The PLI, FIR and NACK items of a compound RTCP packet; everything else is read past."""
    found: list[Feedback] = []
    i, size = 0, len(data)
    while i + 4 <= size:
        first, kind = data[i], data[i + 1]
        length = 4 * (((data[i + 2] << 8) | data[i + 3]) + 1)
        if first >> 6 != 2 or i + length > size:
            break
        fmt = first & 0x1F
        if kind == RTCP_PSFB and fmt == PSFB_PLI and length >= 12:
            found.append(Feedback(struct.unpack_from("!I", data, i + 8)[0], keyframe=True))
        elif kind == RTCP_PSFB and fmt == PSFB_FIR and length >= 20:
            found.append(Feedback(struct.unpack_from("!I", data, i + 12)[0], keyframe=True))
        elif kind == RTCP_RTPFB and fmt == RTPFB_NACK and length >= 16:
            media = struct.unpack_from("!I", data, i + 8)[0]
            lost: list[int] = []
            for j in range(i + 12, i + length, 4):
                pid, blp = struct.unpack_from("!HH", data, j)
                lost.append(pid)
                lost.extend((pid + bit + 1) & 0xFFFF for bit in range(16) if blp >> bit & 1)
            found.append(Feedback(media, lost=tuple(lost[:MAX_LOST])))
        i += length
        if sum(len(f.lost) for f in found) >= MAX_LOST:
            break  # a compound packet asks for at most this many: more would make a NACK an amplifier
    return found


def sender_report_times(data: bytes) -> list[tuple[int, int, int]]:
    """(ssrc, ntp, rtp timestamp) of every sender report in a compound RTCP packet."""
    found: list[tuple[int, int, int]] = []
    i, size = 0, len(data)
    while i + 4 <= size:
        first, kind = data[i], data[i + 1]
        length = 4 * (((data[i + 2] << 8) | data[i + 3]) + 1)
        if first >> 6 != 2 or i + length > size:
            break
        if kind == RTCP_SR and length >= 28:
            ssrc, high, low, rtp_ts = struct.unpack_from("!IIII", data, i + 4)
            found.append((ssrc, (high << 32) | low, rtp_ts))
        i += length
    return found
