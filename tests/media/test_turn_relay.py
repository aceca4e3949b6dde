"""Haven's TURN credentials against a real coturn: two aiortc peers in one process, all media relayed.

This needs no Haven server: it checks that what ``server.turn.turn_credentials`` issues is what coturn's
``use-auth-secret`` accepts, and that a relay-only call carries audio and video through it.
"""

from __future__ import annotations

import time

import pytest

from server.turn import turn_credentials
from tests.support.call_media import CallMedia
from tests.support.turn import PrivateTurn

# Frames each side must decode: about 1 s of audio (20 ms frames) and 1.3 s of video at 15 fps, asked for within a
# timeout generous enough for a loaded 2-core machine (about 3 s are needed when idle).
AUDIO_FRAMES = 50
VIDEO_FRAMES = 20
WITHIN = 20.0


def relay_servers(turn: PrivateTurn, secret: str, ttl_seconds: int) -> list[dict[str, object]]:
    username, credential = turn_credentials(secret, ttl_seconds, time.time())
    return [{"urls": [turn.url], "username": username, "credential": credential}]


async def test_relay_only_peers_exchange_audio_and_video_through_coturn(turn: PrivateTurn) -> None:
    servers = relay_servers(turn, turn.secret, ttl_seconds=300)
    caller, callee = CallMedia(servers, "relay"), CallMedia(servers, "relay")
    try:
        await caller.accept_answer(await callee.answer(await caller.offer()))

        await caller.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)
        await callee.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)

        for side in (caller, callee):
            assert side.local_candidate_types(), "no relay candidate: coturn refused the credentials"
            assert set(side.local_candidate_types()) == {"relay"}
            assert set(side.remote_candidate_types()) == {"relay"}
            assert side.selected_pairs() == [("relay", "relay")]
    finally:
        await caller.close()
        await callee.close()


@pytest.mark.parametrize(
    ("secret", "ttl_seconds"),
    [("not-the-servers-secret", 300), (None, -60)],
    ids=["signed-with-another-secret", "expired"],
)
async def test_coturn_refuses_credentials_it_did_not_issue_or_that_expired(
    turn: PrivateTurn, secret: str | None, ttl_seconds: int
) -> None:
    # The positive test above only means something if coturn really checks the credential: here it must give no
    # relay address, so a relay-only peer has no candidate at all.
    media = CallMedia(relay_servers(turn, secret or turn.secret, ttl_seconds), "relay")
    try:
        await media.offer()
        assert media.local_candidate_types() == []
    finally:
        await media.close()


def without_candidates(sdp: str) -> tuple[str, list[dict[str, object]]]:
    """The description with its candidates taken out, and those candidates as a browser trickles them
    (``RTCIceCandidateInit``), each naming its media section by mid and index."""
    kept, trickled = [], []
    mid, index = None, -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            index += 1
        elif line.startswith("a=mid:"):
            mid = line.removeprefix("a=mid:")
        if line.startswith("a=candidate:"):
            trickled.append({"candidate": line.removeprefix("a="), "sdpMid": mid, "sdpMLineIndex": index})
        elif line != "a=end-of-candidates":
            kept.append(line)
    return "\r\n".join(kept) + "\r\n", trickled


async def test_candidates_trickled_as_a_browser_sends_them_connect_the_call(turn: PrivateTurn) -> None:
    # aiortc puts every candidate in its SDP, but a browser trickles them: the callee here gets an offer without
    # any, then each candidate as rtc:signal would carry it, then null for the end of candidates.
    servers = relay_servers(turn, turn.secret, ttl_seconds=300)
    caller, callee = CallMedia(servers, "relay"), CallMedia(servers, "relay")
    try:
        offer, candidates = without_candidates(await caller.offer())
        assert candidates
        answer = await callee.answer(offer)
        assert callee.remote_candidate_types() == []
        for candidate in candidates:
            await callee.add_candidate(candidate)
        await callee.add_candidate(None)
        await caller.accept_answer(answer)

        await caller.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)
        await callee.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)
        assert callee.selected_pairs() == [("relay", "relay")]
    finally:
        await caller.close()
        await callee.close()
