"""Bounds on every connection: frame size, connections per account, origins, event rate, slow readers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import socketio
from aiohttp.test_utils import TestClient

from server.app import create_app
from tests.conftest import make_settings
from tests.realtime.conftest import Cohort, make_cohort
from tests.support.api import Api
from tests.support.raw_socket import RawSocketIO
from tests.support.realtime import Peer


async def test_frames_over_64_kib_are_refused_and_others_go_on(cohort: Cohort, client: TestClient) -> None:
    fac, _ = await cohort.enter(cohort.facilitator)
    raw = await asyncio.to_thread(RawSocketIO, client.server.port)
    await asyncio.to_thread(raw.handshake, cohort.participants[0].token)
    await asyncio.to_thread(raw.emit, "room:join", {"room_id": cohort.group_id, "padding": "x" * 70_000})
    assert await asyncio.to_thread(raw.is_closed)
    raw.close()
    assert (await fac.call("room:lock", {"room_id": cohort.group_id, "locked": True}))["ok"] is True


async def test_connections_per_account_are_capped(cohort: Cohort) -> None:
    person = cohort.participants[0]
    for _ in range(5):
        await cohort.connect(person)
    extra = Peer("extra")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await extra.connect(cohort.url, person.token)
    assert extra.connect_error["data"]["code"] == "rate_limited"
    await cohort.peers[0].close()
    await asyncio.sleep(0.1)
    await cohort.connect(person)  # a slot is free again


async def test_only_allowed_origins_may_connect(cohort: Cohort) -> None:
    stranger = Peer("stranger")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(cohort.url, cohort.participants[0].token, headers={"Origin": "https://evil.example"})
    allowed = await cohort.connect(cohort.participants[1])
    assert allowed.client.connected


async def test_a_flood_is_refused_then_disconnected(cohort: Cohort) -> None:
    peer = await cohort.connect(cohort.participants[0])
    acks = await asyncio.gather(*(peer.call("hand:raise", {"room_id": cohort.group_id}) for _ in range(70)))
    assert {"rate_limited"} <= {a["error"]["code"] for a in acks}
    # Going on past the allowance of refused requests ends the connection.
    for _ in range(40):
        if not peer.client.connected:
            break
        try:
            await peer.client.emit("hand:raise", {"room_id": cohort.group_id})
        except socketio.exceptions.BadNamespaceError:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    assert not peer.client.connected


async def test_peers_cannot_reach_into_other_rooms(cohort: Cohort, api: Api, admin: str) -> None:
    other = await make_cohort(api, admin, cohort.url, participants=1, tag="other-")  # a second group, its own people
    try:
        theirs, _ = await other.enter(other.facilitator)
        fac, _ = await cohort.enter(cohort.facilitator)
        # A facilitator of one group is nobody in another.
        refused = await fac.call("room:end", {"room_id": other.group_id})
        assert refused["error"]["code"] == "not_authorized"
        refused = await fac.call("rtc:signal", {"to": theirs.sid, "type": "offer", "sdp": "v=0\r\n"})
        assert refused["error"]["code"] == "not_authorized"
        assert [e for e, _ in theirs.log if e == "rtc:signal"] == []
    finally:
        for peer in other.peers:
            await peer.close()


async def test_a_full_room_refuses_with_room_full(api: Api, admin: str, client: TestClient) -> None:
    small = await make_cohort(api, admin, str(client.make_url("/")), participants=2, capacity=2, lobby_enabled=False)
    try:
        await small.enter(small.facilitator)
        _, ack = await small.enter(small.participants[0])
        assert ack["status"] == "joined"
        _, ack = await small.enter(small.participants[1])
        assert ack["error"]["code"] == "room_full"
    finally:
        for peer in small.peers:
            await peer.close()


async def test_a_client_that_stops_reading_is_dropped_without_slowing_others(
    aiohttp_client,
    tmp_path: Path,
    database_url: str,  # type: ignore[no-untyped-def]
) -> None:
    web = tmp_path / "web"
    web.mkdir()
    settings = make_settings(tmp_path, database_url, HAVEN_MAX_QUEUED_PACKETS="32", HAVEN_SWEEP_MS="100")
    client = await aiohttp_client(create_app(settings))
    api = Api(client)
    await api.create_user_directly("admin@example.org", "Admin", "admin", "admin-password")
    admin = await api.login("admin@example.org", "admin-password")
    cohort = await make_cohort(api, admin, str(client.make_url("/")), lobby_enabled=False)
    room = {"room_id": cohort.group_id}
    try:
        fac, _ = await cohort.enter(cohort.facilitator)
        senders = [(await cohort.enter(p))[0] for p in cohort.participants[1:]]
        slow = await asyncio.to_thread(RawSocketIO, client.server.port, 4096)
        slow_sid = await asyncio.to_thread(slow.handshake, cohort.participants[0].token)
        await asyncio.to_thread(slow.emit, "room:join", room)
        assert (await asyncio.to_thread(slow.ack))["status"] == "joined"
        # From here on the slow client reads nothing; the others send it large offers.
        offer = {"to": slow_sid, "type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 7000}

        async def flood(peer: Peer) -> list[bool]:
            results = []
            for _ in range(60):
                ack = await peer.call("rtc:signal", offer)
                results.append(ack["ok"])
                if not ack["ok"]:
                    break
                await asyncio.sleep(0.05)
            return results

        flooding = [asyncio.create_task(flood(peer)) for peer in senders]
        while True:
            update = await fac.next("room:participant_updated", within=20)
            if (
                update["participant"]["user_id"] == cohort.participants[0].user_id
                and not update["participant"]["connected"]
            ):
                break
        for task in flooding:
            task.cancel()
        # Everyone else carries on.
        assert await senders[0].call("hand:raise", room) == {"ok": True}
        assert (await fac.next("hand:queue"))["queue"] == [cohort.participants[1].user_id]
        slow.close()
    finally:
        for peer in cohort.peers:
            await peer.close()


async def test_one_connection_holds_one_room_even_when_joins_race(cohort: Cohort, api: Api, admin: str) -> None:
    other = await make_cohort(api, admin, cohort.url, participants=0, tag="second-", lobby_enabled=False)
    try:
        pip = cohort.participants[0]
        await api.enrol(admin, other.group_id, pip.user_id, "participant")
        await cohort.enter(cohort.facilitator)
        await other.enter(other.facilitator)
        peer = await cohort.connect(pip)
        first, second = await asyncio.gather(
            peer.call("room:join", {"room_id": cohort.group_id}), peer.call("room:join", {"room_id": other.group_id})
        )
        assert sorted([first["ok"], second["ok"]]) == [False, True]
        refused = first if not first["ok"] else second
        assert refused["error"]["code"] == "conflict"
    finally:
        for peer in other.peers:
            await peer.close()
