"""What ``rtc:signal`` relays under each ICE policy (docs/protocol.md 7.4): under ``relay`` nothing but relay
candidates, in group rooms and calls alike; under ``all`` whatever the browser gathered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from tests.conftest import make_settings
from tests.realtime.conftest import Cohort
from tests.support.realtime import Peer

HOST = "candidate:1467250027 1 udp 2122260223 192.0.2.10 46243 typ host generation 0 ufrag Xp2q"
SRFLX = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.0.2.10 rport 46243 generation 0"
RELAY = "candidate:4 1 udp 41885439 198.51.100.20 61000 typ relay raddr 203.0.113.7 rport 46154 generation 0"
RELAY_AS_RELAYED = "candidate:4 1 udp 41885439 198.51.100.20 61000 typ relay raddr 0.0.0.0 rport 0 generation 0"
OFFER = "v=0\r\nm=audio 46243 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 192.0.2.10\r\na=" + HOST + "\r\na=" + RELAY + "\r\n"
OFFER_AS_RELAYED = "v=0\r\nm=audio 46243 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=" + RELAY_AS_RELAYED + "\r\n"
TURN_ENV = {"HAVEN_TURN_URLS": "turn:turn.example.org:3478?transport=udp", "HAVEN_TURN_SECRET": "t" * 40}


@pytest.fixture
def ice_policy() -> str:
    return "all"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, ice_policy: str) -> Settings:
    (tmp_path / "web").mkdir(exist_ok=True)
    return make_settings(tmp_path, database_url, HAVEN_ICE_POLICY=ice_policy, **TURN_ENV)


def candidate(line: str | None) -> dict[str, Any]:
    return {"type": "candidate", "candidate": None if line is None else {"candidate": line, "sdpMid": "0"}}


async def two_in_the_room(cohort: Cohort, policy: str) -> tuple[Peer, Peer]:
    """Both facilitators, who enter at once; each is told the policy on entry."""
    first, ack = await cohort.enter(cohort.facilitator)
    assert ack["media"]["ice_transport_policy"] == policy, ack
    second, ack = await cohort.enter(cohort.co_facilitator)
    assert ack["media"]["ice_transport_policy"] == policy, ack
    return first, second


@pytest.mark.parametrize("ice_policy", ["relay"])
async def test_under_relay_a_room_relays_relay_candidates_only(cohort: Cohort, ice_policy: str) -> None:
    sender, receiver = await two_in_the_room(cohort, ice_policy)
    to = {"to": receiver.sid}

    for line in (HOST, SRFLX):
        ack = await sender.call("rtc:signal", {**to, **candidate(line)})
        assert ack == {
            "ok": False,
            "error": {"code": "invalid_request", "message": "Only relay candidates are allowed here."},
        }
    assert await sender.call("rtc:signal", {**to, **candidate(RELAY)}) == {"ok": True}
    assert await sender.call("rtc:signal", {**to, **candidate(None)}) == {"ok": True}
    assert await sender.call("rtc:signal", {**to, "type": "offer", "sdp": OFFER}) == {"ok": True}

    relayed = [await receiver.next("rtc:signal") for _ in range(3)]
    assert relayed == [
        {"from": sender.sid, "type": "candidate", "candidate": {"candidate": RELAY_AS_RELAYED, "sdpMid": "0"}},
        {"from": sender.sid, "type": "candidate", "candidate": None},
        {"from": sender.sid, "type": "offer", "sdp": OFFER_AS_RELAYED},
    ]
    assert receiver.drain("rtc:signal") == []
    # A refused candidate is a user error, not a protocol violation: the connection goes on.
    assert sender.client.connected


async def test_under_all_a_room_relays_every_candidate_as_sent(cohort: Cohort, ice_policy: str) -> None:
    sender, receiver = await two_in_the_room(cohort, ice_policy)
    for line in (HOST, SRFLX, RELAY):
        assert await sender.call("rtc:signal", {"to": receiver.sid, **candidate(line)}) == {"ok": True}
        assert await receiver.next("rtc:signal") == {"from": sender.sid, **candidate(line)}
    assert await sender.call("rtc:signal", {"to": receiver.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await receiver.next("rtc:signal") == {"from": sender.sid, "type": "offer", "sdp": OFFER}


@pytest.mark.parametrize("ice_policy", ["relay"])
async def test_under_relay_a_call_relays_relay_candidates_only(cohort: Cohort, ice_policy: str) -> None:
    api, admin = cohort.api, cohort.admin
    mentor_id, mentor_token = await api.user(admin, "mentor@example.org", "mentor", "Morgan")
    mentee = cohort.participants[0]
    status, body = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentee.user_id})
    assert status == 201, body
    mentor = Peer("Morgan")
    cohort.peers.append(mentor)
    await mentor.connect(cohort.url, mentor_token)
    callee = await cohort.connect(mentee)

    invite = await mentor.call("call:invite", {"user_id": mentee.user_id})
    assert invite["ok"] is True, invite
    assert invite["media"]["ice_transport_policy"] == "relay"
    accept = await callee.call("call:accept", {"call_id": invite["call_id"]})
    assert accept["ok"] is True, accept
    assert accept["media"]["ice_transport_policy"] == "relay"

    ack = await mentor.call("rtc:signal", {"to": callee.sid, **candidate(HOST)})
    assert ack["error"]["code"] == "invalid_request", ack
    assert await mentor.call("rtc:signal", {"to": callee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await callee.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER_AS_RELAYED}
    assert await callee.call("rtc:signal", {"to": mentor.sid, **candidate(RELAY)}) == {"ok": True}
    assert await mentor.next("rtc:signal") == {
        "from": callee.sid,
        "type": "candidate",
        "candidate": {"candidate": RELAY_AS_RELAYED, "sdpMid": "0"},
    }
