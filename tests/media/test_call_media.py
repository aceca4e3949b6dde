"""One-on-one calls with real media: a mentor and a mentee, each an aiortc peer signaling through a running Haven
app (docs/protocol.md 7.6 and 7.4), send each other synthetic audio and video and count the frames they decode.

The thresholds are about 1 s of audio (20 ms frames) and 1.3 s of video (15 fps), asked for within a timeout that a
loaded 2-core machine meets with room to spare (about 2 s are needed when idle); nothing here measures speed.
"""

from __future__ import annotations

import pytest

from tests.media.conftest import Connect, Pairing
from tests.support.api import Api
from tests.support.call_peer import CallPeer
from tests.support.turn import PrivateTurn

AUDIO_FRAMES = 50
VIDEO_FRAMES = 20
WITHIN = 15.0


async def start_call(connect: Connect, pairing: Pairing) -> tuple[CallPeer, CallPeer]:
    """The mentor calls, the mentee's device rings and answers; returns (mentor, mentee) with media flowing."""
    mentor, mentee = await connect(pairing.mentor), await connect(pairing.mentee)
    invited = await mentor.invite(pairing.mentee.user_id)
    assert invited["state"] == "ringing", invited
    assert invited["media"]["mode"] == "p2p"

    ring = await mentee.incoming()
    assert ring["call_id"] == invited["call_id"]
    assert ring["from"]["user_id"] == pairing.mentor.user_id
    accepted = await mentee.accept()
    assert accepted["peer_id"] == mentor.peer_id

    for side in (mentor, mentee):
        await side.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)
    return mentor, mentee


async def hang_up(mentor: CallPeer, mentee: CallPeer) -> None:
    await mentor.hangup()
    for side in (mentor, mentee):
        ended = await side.ended()
        assert ended["reason"] == "hangup"


async def test_mentor_calls_mentee_and_both_see_and_hear_each_other_until_hang_up(
    connect: Connect, pairing: Pairing
) -> None:
    mentor, mentee = await start_call(connect, pairing)
    # The default policy, with no TURN configured: the two devices reached each other on their own addresses.
    for side in (mentor, mentee):
        assert side.media_config == {"mode": "p2p", "ice_servers": [], "ice_transport_policy": "all"}
        assert side.media is not None
        assert side.media.selected_pairs() == [("host", "host")]

    await hang_up(mentor, mentee)


@pytest.mark.parametrize("ice_policy", ["relay"])
async def test_a_call_forced_through_turn_carries_only_relay_candidates_and_media_still_flows(
    connect: Connect, pairing: Pairing, turn: PrivateTurn
) -> None:
    mentor, mentee = await start_call(connect, pairing)

    for side in (mentor, mentee):
        assert side.media_config["ice_transport_policy"] == "relay"
        assert [turn.url] in [server["urls"] for server in side.media_config["ice_servers"]]
        assert side.media is not None
        # Neither description names a host or server-reflexive address: each side's address stays hidden.
        assert side.media.local_candidate_types(), "no relay candidate: coturn refused Haven's credentials"
        assert set(side.media.local_candidate_types()) == {"relay"}
        assert set(side.media.remote_candidate_types()) == {"relay"}
        assert side.media.selected_pairs() == [("relay", "relay")]

    await hang_up(mentor, mentee)


async def test_renegotiating_mid_call_keeps_the_call_and_the_media_going(
    api: Api, connect: Connect, pairing: Pairing
) -> None:
    # aiortc 1.16 cannot restart ICE (see CallPeer.renegotiate): these are ordinary re-offers over the same
    # transports, first from the caller, then from the callee, each relayed by Haven with rtc:signal mid-call.
    mentor, mentee = await start_call(connect, pairing)

    for offering in (mentor, mentee):
        before = {side.name: dict(side.media.frames) for side in (mentor, mentee) if side.media is not None}
        await offering.renegotiate()
        for side in (mentor, mentee):
            await side.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN, since=before[side.name])

    for side in (mentor, mentee):
        assert side.signaling.drain("call:ended") == []
    status, body = await api.call("GET", "/api/calls", pairing.mentor.token)
    assert status == 200, body
    call = next(c for c in body["calls"] if c["id"] == mentor.call_id)
    assert call["answered_at"] is not None
    assert call["outcome"] is None  # still in progress after both renegotiations

    await hang_up(mentor, mentee)
