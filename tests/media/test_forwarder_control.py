"""What the server decides about forwarded media, seen from real aiortc members: a removed member's media is cut
and its tracks end, someone sent to the lobby stops receiving, the speakers are announced, a crossed answer is
refused, and a forwarder worker killed mid-session is replaced while the room goes on.

Shares the room set-up of ``test_forwarded_room`` (HAVEN_MESH_LIMIT=0, low-resolution members).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient
from aiortc import RTCConfiguration, RTCPeerConnection

from signaling.mount import SIGNALING
from tests.media.test_forwarded_room import WITHIN, make_room, publish, settings  # noqa: F401 - the fixture
from tests.support.api import Api
from tests.support.forwarded_member import ForwardedMember

MOVE_BOUND = 10.0  # the bound for a dead worker's rooms to be served again


async def fresh_media(member: ForwardedMember, publishers: list[str], since: dict[Any, int]) -> None:
    def grown() -> bool:
        frames = member.frames()
        return all(
            frames.get((p, kind), 0) > since.get((p, kind), 0) + need
            for p in publishers
            for kind, need in (("audio", 10), ("video", 3))
        )

    await member.wait_until(grown, WITHIN, f"fresh media from {publishers}")


async def test_removal_and_the_lobby_cut_a_members_media_and_speakers_are_announced(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=3, lobby_enabled=False)
    try:
        fran = await room.enter(room.facilitator)
        loud_person = room.participants[0]
        loud = ForwardedMember(loud_person.name, tone=True)
        room.members.append(loud)
        await loud.connect(room.url, loud_person.token)
        assert (await loud.join(room.group_id))["status"] == "joined"
        quiet, leaving = [await room.enter(p) for p in room.participants[1:]]
        members = [fran, loud, quiet, leaving]
        await publish(*members)
        ids = {m.name: m.user_id for m in members}
        await asyncio.gather(*(fresh_media(m, [o.user_id for o in members if o is not m], {}) for m in members))

        # Speakers: the member sending a tone is announced to everyone; those sending silence are not.
        async with asyncio.timeout(WITHIN):
            while (speakers := await fran.signaling.next("room:speakers", WITHIN))["user_ids"] != [loud.user_id]:
                assert set(speakers["user_ids"]) <= {loud.user_id}, speakers  # silence never counts as speech
        assert speakers["room_id"] == room.group_id

        # Removal: the others' copies of the removed member's tracks end, and its own connection loses its media.
        assert await fran.signaling.call("room:remove", {"room_id": room.group_id, "user_id": ids[leaving.name]}) == {
            "ok": True
        }
        for member in (fran, loud, quiet):
            await member.wait_ended(ids[leaving.name], within=WITHIN)
        await leaving.wait_until(
            lambda: all(r.ended for r in leaving.received.values()), WITHIN, "the end of every track it received"
        )

        # Sent back to the lobby: the same, and the rest of the room goes on.
        assert await fran.signaling.call(
            "room:send_to_lobby", {"room_id": room.group_id, "user_id": ids[quiet.name]}
        ) == {"ok": True}
        for member in (fran, loud):
            await member.wait_ended(ids[quiet.name], within=WITHIN)
        before = {m.name: m.frames() for m in (fran, loud)}
        await asyncio.gather(
            fresh_media(fran, [ids[loud.name]], before[fran.name]),
            fresh_media(loud, [ids[fran.name]], before[loud.name]),
        )

        # An answer when the forwarder has no offer waiting crosses nothing: refused, and the room goes on.
        assert fran.pc is not None
        stray = await fran.signaling.call(
            "rtc:signal", {"to": fran.forwarder_id, "type": "answer", "sdp": fran.pc.localDescription.sdp}
        )
        assert stray["error"]["code"] == "conflict", stray
    finally:
        await room.close()


async def test_a_killed_worker_is_replaced_and_the_room_moves_with_its_media(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=2, lobby_enabled=False)
    try:
        members = [await room.enter(room.facilitator)] + [await room.enter(p) for p in room.participants]
        await publish(*members)
        await asyncio.gather(*(fresh_media(m, [o.user_id for o in members if o is not m], {}) for m in members))
        pool = client.app[SIGNALING].rooms.media
        worker = pool._placement[room.group_id]  # type: ignore[union-attr]
        old = members[0].forwarder_id
        assert worker.label in str(old), (worker.label, old)

        worker.process.kill()
        killed_at = time.monotonic()
        for member in members:
            await member.wait_until(
                lambda m=member: m.forwarder_id not in (None, old), MOVE_BOUND, "room:media naming a new forwarder"
            )
        assert time.monotonic() - killed_at <= MOVE_BOUND
        # Every member offered again to the new forwarder, and media flows as before; nothing else changed.
        since = {m.name: m.frames() for m in members}
        await asyncio.gather(
            *(fresh_media(m, [o.user_id for o in members if o is not m], since[m.name]) for m in members)
        )
        roster = await members[1].signaling.call("room:join", {"room_id": room.group_id})
        assert {p["user_id"] for p in roster["room"]["participants"]} == {m.user_id for m in members}, roster
    finally:
        await room.close()


async def test_a_member_that_opens_a_new_connection_carries_on_under_the_same_tracks(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=1, lobby_enabled=False)
    try:
        fran, pat = await room.enter(room.facilitator), await room.enter(room.participants[0])
        await publish(fran, pat)
        await asyncio.gather(fresh_media(fran, [pat.user_id], {}), fresh_media(pat, [fran.user_id], {}))
        # Pat's connection fails; the client closes it and offers again from a new one, to the same forwarder.
        await pat.close_media()
        await publish(pat)
        since = fran.frames()
        await asyncio.gather(fresh_media(fran, [pat.user_id], since), fresh_media(pat, [fran.user_id], {}))
        assert not fran.get(pat.user_id, "video").ended  # Fran's copy of Pat's video went on, the same track
    finally:
        await room.close()


async def test_an_offer_sending_two_cameras_is_refused_and_the_member_may_offer_again(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=0, lobby_enabled=False)
    try:
        fran = await room.enter(room.facilitator)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            for kind in ("audio", "video", "video"):
                pc.addTransceiver(kind, direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            refused = await fran.signaling.call(
                "rtc:signal", {"to": fran.forwarder_id, "type": "offer", "sdp": pc.localDescription.sdp}
            )
        finally:
            await pc.close()
        assert refused["error"]["code"] == "invalid_request", refused
        await publish(fran)  # one camera and one microphone: accepted
    finally:
        await room.close()


async def test_a_member_back_on_a_new_connection_keeps_its_tracks_at_the_others(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=1, lobby_enabled=False)
    try:
        fran, pat = await room.enter(room.facilitator), await room.enter(room.participants[0])
        await publish(fran, pat)
        await asyncio.gather(fresh_media(fran, [pat.user_id], {}), fresh_media(pat, [fran.user_id], {}))
        sections = fran.pc.remoteDescription.sdp.count("m=")  # type: ignore[union-attr]
        # Pat's network drops: the Socket.IO connection and the media go; Pat comes back on a new connection.
        await pat.close_media()
        await pat.signaling.close()
        back = await room.enter(room.participants[0])
        await publish(back)
        since = fran.frames()
        await asyncio.gather(fresh_media(fran, [pat.user_id], since), fresh_media(back, [fran.user_id], {}))
        assert not fran.get(pat.user_id, "video").ended  # the same tracks went on
        assert fran.pc.remoteDescription.sdp.count("m=") == sections  # type: ignore[union-attr]
    finally:
        await room.close()
