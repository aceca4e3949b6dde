"""Reading a member's SDP before anything of it reaches the peer connection: what it sends, with which payload
types and header extension ids, and whether the forwarder can pass it on (VP8 and Opus only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiortc import sdp

from media.errors import invalid, unsupported

FORWARDED_CODECS = {"audio": "audio/opus", "video": "video/vp8"}
AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
MAX_SECTIONS = 128  # a member's re-offer carries an m-line per stream it receives: a room's worth, with room to spare


@dataclass
class Offer:
    """What a member's SDP says about its own media."""

    description: sdp.SessionDescription
    payload_types: dict[str, int] = field(default_factory=dict)  # kind -> payload type of its forwarded codec
    extensions: dict[str, int] = field(default_factory=dict)  # uri -> id, as the member numbered them
    ssrcs: dict[str, int] = field(default_factory=dict)  # kind -> the SSRC it announced for its upload


def read(text: str, kind: str) -> Offer:
    """Parse and check ``text`` (an offer or answer); refuse what cannot be forwarded."""
    try:
        description = sdp.SessionDescription.parse(text)
    except Exception as exc:  # the parser raises whatever the malformed line provokes
        raise invalid(f"The {kind} is not a valid session description.") from exc
    if description.type is None:
        description.type = kind
    media = [m for m in description.media if m.kind in FORWARDED_CODECS]
    if not media or len(description.media) > MAX_SECTIONS:
        raise invalid(f"The {kind} must carry between 1 and {MAX_SECTIONS} audio or video sections.")
    offer = Offer(description)
    sending: set[str] = set()
    for section in media:
        if section.port == 0:
            continue  # a rejected or stopped section
        wanted = FORWARDED_CODECS[section.kind]
        codec = next((c for c in section.rtp.codecs if c.mimeType.lower() == wanted), None)
        if codec is None or codec.payloadType is None:
            raise unsupported(f"The forwarder passes on {section.kind} as {wanted.split('/')[1]} only.")
        if not section.ice or not section.ice.usernameFragment or not section.dtls or not section.dtls.fingerprints:
            raise invalid(f"The {kind} lacks ICE credentials or a DTLS fingerprint.")
        offer.payload_types.setdefault(section.kind, codec.payloadType)
        for extension in section.rtp.headerExtensions:
            offer.extensions.setdefault(extension.uri, extension.id)
        if section.direction in ("sendrecv", "sendonly"):
            if section.kind in sending:
                raise invalid(f"A member sends one {section.kind} stream to the forwarder, not several.")
            sending.add(section.kind)
            if section.ssrc:
                offer.ssrcs[section.kind] = section.ssrc[0].ssrc
    return offer


def rewritten(text: str, payload_types: dict[str, int], extensions: dict[str, int], plain_mids: set[str]) -> str:
    """The forwarder's own offer, numbered as the member numbers things.

    Browsers refuse a bundle in which one payload type or extension id means two things, so every section uses the
    member's payload types and extension ids; the sections carrying other members' streams (``plain_mids``) get no
    header extensions at all, since the forwarder sends those packets without any.
    """
    description = sdp.SessionDescription.parse(text)
    for section in description.media:
        pt = payload_types.get(section.kind)
        if pt is not None:
            for codec in section.rtp.codecs:
                if codec.mimeType.lower() == FORWARDED_CODECS[section.kind]:
                    codec.payloadType = pt
            section.fmt = [c.payloadType for c in section.rtp.codecs]
        if section.rtp.muxId in plain_mids:
            section.rtp.headerExtensions = []
        else:
            kept = [e for e in section.rtp.headerExtensions if e.uri in extensions]
            for extension in kept:
                extension.id = extensions[extension.uri]
            section.rtp.headerExtensions = kept
    return str(description)
