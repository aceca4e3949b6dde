"""Under the relay ICE policy, signaling relays TURN relay candidates only and no one's own address."""

from __future__ import annotations

from typing import Any

import pytest

from signaling import ice_privacy, wire
from signaling.acks import SignalingError

# As browsers and aiortc write them (addresses from the documentation ranges).
HOST = "candidate:1467250027 1 udp 2122260223 192.0.2.10 46243 typ host generation 0 ufrag Xp2q network-id 1"
MDNS_HOST = "candidate:2 1 udp 2113937151 0b8c53b4-7a0e-4b70-9d3c-5e0a2f4b1c7d.local 54321 typ host generation 0"
SRFLX = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.0.2.10 rport 46243 generation 0"
PRFLX = "candidate:3 1 udp 1845501695 203.0.113.7 50000 typ prflx raddr 192.0.2.10 rport 50000"
RELAY = "candidate:4 1 udp 41885439 198.51.100.20 61000 typ relay raddr 203.0.113.7 rport 46154 generation 0 ufrag Xp2q"
RELAY_HIDDEN = "candidate:4 1 udp 41885439 198.51.100.20 61000 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag Xp2q"
RELAY_TCP = "candidate:5 1 tcp 25042687 198.51.100.20 443 typ relay raddr 192.0.2.10 rport 9 tcptype passive"
RELAY_V6 = "candidate:6 1 udp 41819903 2001:db8::20 61001 typ relay raddr 2001:db8::10 rport 5000"
RELAY_AIORTC = "candidate:c3a5 1 udp 16777215 198.51.100.20 61002 typ relay raddr 0.0.0.0 rport 9"


@pytest.mark.parametrize(
    ("candidate", "kind"),
    [
        (HOST, "host"),
        (MDNS_HOST, "host"),
        (SRFLX, "srflx"),
        (PRFLX, "prflx"),
        (RELAY, "relay"),
        ("a=" + RELAY, "relay"),
        (RELAY_TCP, "relay"),
        ("candidate:1 1 udp 1 192.0.2.10 5000 TYP RELAY", None),  # the keyword itself is lower case in the grammar
        ("candidate:1 1 udp 1 192.0.2.10 5000 typ Relay", "relay"),
        ("candidate:1 1 udp 1 192.0.2.10 5000", None),
        ("candidate:1 1 udp 1 192.0.2.10 typ relay", None),  # "typ" out of its place: not a candidate
        ("1 1 udp 1 192.0.2.10 5000 typ relay", None),
        ("candidate:1 1 udp 1 192.0.2.10 5000 typ", None),
        ("", None),
    ],
)
def test_the_type_is_read_from_its_place_in_the_grammar(candidate: str, kind: str | None) -> None:
    assert ice_privacy.candidate_type(candidate) == kind


def test_a_relay_candidate_keeps_everything_but_the_address_the_turn_server_saw() -> None:
    assert ice_privacy.private_relay_candidate(RELAY) == RELAY_HIDDEN
    assert ice_privacy.private_relay_candidate("a=" + RELAY) == "a=" + RELAY_HIDDEN
    assert ice_privacy.private_relay_candidate(RELAY_TCP) == (
        "candidate:5 1 tcp 25042687 198.51.100.20 443 typ relay raddr 0.0.0.0 rport 0 tcptype passive"
    )
    assert ice_privacy.private_relay_candidate(RELAY_V6) == (
        "candidate:6 1 udp 41819903 2001:db8::20 61001 typ relay raddr :: rport 0"
    )
    assert (
        ice_privacy.private_relay_candidate(RELAY_AIORTC)
        == "candidate:c3a5 1 udp 16777215 198.51.100.20 61002 typ relay raddr 0.0.0.0 rport 0"
    )


@pytest.mark.parametrize("candidate", [HOST, MDNS_HOST, SRFLX, PRFLX, "candidate:1 1 udp 1 192.0.2.10 5000"])
def test_no_other_candidate_passes(candidate: str) -> None:
    assert ice_privacy.private_relay_candidate(candidate) is None


OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 46243 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 192.0.2.10",
        "a=rtcp:9 IN IP4 192.0.2.10",
        "a=" + HOST,
        "a=" + SRFLX,
        "a=" + RELAY,
        "a=ice-ufrag:Xp2q",
        "a=mid:0",
        "a=rtcp-mux",
        "m=video 61000 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP6 2001:db8::10",
        "a=rtcp:9",
        "a=" + MDNS_HOST,
        "a=" + RELAY_V6,
        "a=end-of-candidates",
        "a=mid:1",
        "",
    ]
)


def test_a_description_keeps_only_relay_candidates_and_names_no_default_address() -> None:
    assert ice_privacy.private_description(OFFER) == "\r\n".join(
        [
            "v=0",
            "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0 1",
            "m=audio 46243 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=rtcp:9 IN IP4 0.0.0.0",
            "a=" + RELAY_HIDDEN,
            "a=ice-ufrag:Xp2q",
            "a=mid:0",
            "a=rtcp-mux",
            "m=video 61000 UDP/TLS/RTP/SAVPF 96",
            "c=IN IP6 ::",
            "a=rtcp:9",
            "a=candidate:6 1 udp 41819903 2001:db8::20 61001 typ relay raddr :: rport 0",
            "a=end-of-candidates",
            "a=mid:1",
            "",
        ]
    )


def test_a_description_with_bare_newlines_keeps_them() -> None:
    sdp = "v=0\nc=IN IP4 192.0.2.10\na=" + HOST + "\na=" + RELAY + "\n"
    assert ice_privacy.private_description(sdp) == "v=0\nc=IN IP4 0.0.0.0\na=" + RELAY_HIDDEN + "\n"


def signal(**fields: Any) -> wire.RtcSignal:
    return wire.parse(wire.RtcSignal, {"to": "peer-0000000001", **fields})


@pytest.mark.parametrize("candidate", [HOST, MDNS_HOST, SRFLX, PRFLX])
def test_under_relay_a_candidate_of_another_type_is_refused(candidate: str) -> None:
    with pytest.raises(SignalingError) as refused:
        ice_privacy.screened(signal(type="candidate", candidate={"candidate": candidate, "sdpMid": "0"}), "relay")
    assert (refused.value.code, refused.value.message) == ("invalid_request", "Only relay candidates are allowed here.")


def test_under_relay_a_relay_candidate_and_the_end_of_candidates_pass() -> None:
    relayed = ice_privacy.screened(signal(type="candidate", candidate={"candidate": RELAY, "sdpMid": "0"}), "relay")
    assert relayed.candidate == wire.IceCandidate(candidate=RELAY_HIDDEN, sdpMid="0")
    end = signal(type="candidate", candidate=None)
    assert ice_privacy.screened(end, "relay") == end
    empty = signal(type="candidate", candidate={"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0})
    assert ice_privacy.screened(empty, "relay") == empty


def test_under_relay_offers_and_answers_are_screened() -> None:
    for kind in ("offer", "answer"):
        screened = ice_privacy.screened(signal(type=kind, sdp=OFFER), "relay")
        assert screened.sdp == ice_privacy.private_description(OFFER)
        assert screened.type == kind


def test_under_all_everything_passes_untouched() -> None:
    for original in (
        signal(type="candidate", candidate={"candidate": HOST, "sdpMid": "0"}),
        signal(type="offer", sdp=OFFER),
    ):
        assert ice_privacy.screened(original, "all") is original
