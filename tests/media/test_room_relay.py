"""A group room under ``HAVEN_ICE_POLICY=relay`` with real media: two members, each an aiortc peer, connect their
mesh through Haven's signaling (docs/protocol.md 7.3, 7.4) and the private coturn, and neither learns the other's
network address.

One of them is an old client that ignores the policy (it gathers host candidates too and puts them in its offer),
so what the other receives shows the server's own filter at work, not only the clients' good manners.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aioice.ice import get_host_addresses

from tests.support.api import Api
from tests.support.call_media import CallMedia, candidate_types
from tests.support.realtime import Peer
from tests.support.turn import PrivateTurn

AUDIO_FRAMES = 50
VIDEO_FRAMES = 20
WITHIN = 20.0


class Member:
    """A member's device in a group room: a Socket.IO client and an aiortc peer connection to the one other member,
    negotiated with ``rtc:signal``. As in the web client's mesh, the newcomer offers to whoever is already there."""

    def __init__(self, name: str, ignores_policy: bool = False) -> None:
        self.signaling = Peer(name)
        self.ignores_policy = ignores_policy
        self.entry: dict[str, Any] = {}
        self.media: CallMedia | None = None
        self.received: list[dict[str, Any]] = []  # every rtc:signal, as it arrived
        self.failures: list[BaseException] = []
        self._worker: asyncio.Task[None] | None = None

    async def enter(self, url: str, token: str, room_id: str) -> None:
        await self.signaling.connect(url, token)
        ack = await self.signaling.call("room:join", {"room_id": room_id})
        assert (ack.get("ok"), ack.get("status")) == (True, "joined"), ack
        self.entry = ack
        self._worker = asyncio.create_task(self._work())

    def _new_media(self) -> CallMedia:
        media = self.entry["media"]
        assert self.media is None, "one other member, one peer connection"
        self.media = CallMedia(media["ice_servers"], "all" if self.ignores_policy else media["ice_transport_policy"])
        return self.media

    async def offer_to_everyone_there(self) -> None:
        (other,) = [p for p in self.entry["room"]["participants"] if p["peer_id"] != self.signaling.sid]
        sdp = await self._new_media().offer()
        ack = await self.signaling.call("rtc:signal", {"to": other["peer_id"], "type": "offer", "sdp": sdp})
        assert ack == {"ok": True}, ack

    async def _work(self) -> None:
        while True:
            message = await self.signaling.received["rtc:signal"].get()
            self.received.append(message)
            try:
                if message["type"] == "offer":
                    answer = await self._new_media().answer(message["sdp"])
                    ack = await self.signaling.call(
                        "rtc:signal", {"to": message["from"], "type": "answer", "sdp": answer}
                    )
                    assert ack == {"ok": True}, ack
                elif message["type"] == "answer" and self.media is not None:
                    await self.media.accept_answer(message["sdp"])
                elif message["type"] == "candidate" and self.media is not None:
                    await self.media.add_candidate(message["candidate"])
            except Exception as exc:  # raised where the test waits for frames
                self.failures.append(exc)

    async def wait_frames(self) -> None:
        async with asyncio.timeout(WITHIN):
            while self.media is None and not self.failures:
                await asyncio.sleep(0.02)
        assert not self.failures, self.failures
        assert self.media is not None
        await self.media.wait_frames(audio=AUDIO_FRAMES, video=VIDEO_FRAMES, within=WITHIN)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self.media is not None:
            await self.media.close()
        await self.signaling.close()


def host_addresses(sdp: str) -> set[str]:
    """The addresses of a description's host candidates."""
    found = set()
    for line in sdp.splitlines():
        fields = line.split()
        if line.startswith("a=candidate:") and fields[7] == "host":
            found.add(fields[4])
    return found


@pytest.mark.parametrize("ice_policy", ["relay"])
async def test_members_of_a_relay_only_room_see_and_hear_each_other_without_learning_an_address(
    api: Api, admin: str, client: TestClient[Any, Any], turn: PrivateTurn
) -> None:
    status, group = await api.call(
        "POST", "/api/groups", admin, {"name": "Evening", "capacity": 6, "lobby_enabled": False}
    )
    assert status == 201, group
    tokens = {}
    for email, role in (("fran@example.org", "facilitator"), ("robin@example.org", "participant")):
        user_id, tokens[role] = await api.user(admin, email, role)
        await api.enrol(admin, group["id"], user_id, role)

    url = str(client.make_url("/"))
    fran, robin = Member("Fran"), Member("Robin", ignores_policy=True)
    try:
        await fran.enter(url, tokens["facilitator"], group["id"])
        await robin.enter(url, tokens["participant"], group["id"])
        for member in (fran, robin):
            media = member.entry["media"]
            assert media["ice_transport_policy"] == "relay"
            assert [turn.url] in [server["urls"] for server in media["ice_servers"]]
        await robin.offer_to_everyone_there()

        await fran.wait_frames()
        await robin.wait_frames()

        assert robin.media is not None
        own = host_addresses(robin.media.pc.localDescription.sdp)
        assert own, "the client that ignores the policy offered no host candidate: nothing was put to the test"
        own |= set(get_host_addresses(use_ipv4=True, use_ipv6=True))
        for member in (fran, robin):
            descriptions = [m["sdp"] for m in member.received if m["type"] in ("offer", "answer")]
            assert len(descriptions) == 1, member.received
            for sdp in descriptions:
                assert candidate_types(sdp), "no relay candidate reached the other side"
                assert set(candidate_types(sdp)) == {"relay"}
                named = {field for line in sdp.splitlines() for field in line.split()}
                assert not named & own, f"{member.signaling.name} learnt an address: {named & own}"
            for message in member.received:
                if message["type"] == "candidate" and message["candidate"]:
                    assert candidate_types("a=" + message["candidate"]["candidate"]) == ["relay"]
            assert member.media is not None
            assert member.media.selected_pairs() == [("relay", "relay")]
    finally:
        await fran.close()
        await robin.close()
