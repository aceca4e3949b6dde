"""One-on-one calls between a paired mentor and mentee, with real Socket.IO clients (docs/protocol.md 7.6).

Written from the protocol alone: contacts and their live status, ringing on every device, the first accept
winning, every way a call ends, reconnecting within the grace period, signaling only between the two peers,
refusals, and the records (``GET /api/calls`` and the audit log)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from tests.conftest import make_settings
from tests.realtime.conftest import Person
from tests.support.api import Api
from tests.support.realtime import WAIT, Peer

UNKNOWN_ID = "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"
SWEEP_MS = 200
DEFAULT_RING_SECONDS = 45
TURN_SECRET = "turn-secret-" + "t" * 40
OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
ANSWER = "v=0\r\no=- 1905672110933911104 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
CANDIDATE = {
    "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 0.0.0.0 rport 0",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "a1b2",
}
# Time to let in-flight events land before checking that something did NOT happen (never used to wait for
# something that should happen: that is always an event awaited with a timeout).
SETTLE = 0.5


# --- The application, with call timers a test can shorten --------------------------------------------------------


@pytest.fixture
def ring_seconds() -> int:
    return DEFAULT_RING_SECONDS


@pytest.fixture
def grace_seconds() -> int:
    return 30


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {}


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, ring_seconds: int, grace_seconds: int, extra_env: dict[str, str]
) -> Settings:
    """The shared ``settings`` fixture, with ``HAVEN_CALL_RING_SECONDS`` and ``HAVEN_GRACE_SECONDS`` a test may
    override by parametrizing ``ring_seconds`` / ``grace_seconds`` (and any other setting through ``extra_env``)."""
    (tmp_path / "web").mkdir(exist_ok=True)
    return make_settings(
        tmp_path,
        database_url,
        HAVEN_CALL_RING_SECONDS=str(ring_seconds),
        HAVEN_GRACE_SECONDS=str(grace_seconds),
        HAVEN_SWEEP_MS=str(SWEEP_MS),
        **extra_env,
    )


# --- People: a mentor, their mentee, and someone paired with nobody ------------------------------------------------


@dataclass
class Pair:
    """A mentor and a mentee with an active pairing, an unpaired outsider, and the connections a test opened."""

    api: Api
    admin: str
    url: str
    mentor: Person
    mentee: Person
    outsider: Person
    pairing_id: str
    tag: str = ""
    peers: list[Peer] = field(default_factory=list)

    async def connect(self, person: Person, url: str | None = None, name: str | None = None) -> Peer:
        peer = Peer(name or person.name)
        await peer.connect(url or self.url, person.token)
        self.peers.append(peer)
        return peer

    async def person(self, email: str, role: str, name: str) -> Person:
        user_id, token = await self.api.user(self.admin, f"{self.tag}{email}", role, name)
        return Person(user_id, token, name)

    async def pair_up(self, mentor: Person, mentee: Person) -> str:
        status, body = await self.api.call(
            "POST", "/api/pairings", self.admin, {"mentor_id": mentor.user_id, "mentee_id": mentee.user_id}
        )
        assert status == 201, body
        return str(body["id"])

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()


async def make_pair(api: Api, admin: str, url: str, tag: str = "") -> Pair:
    async def person(email: str, role: str, name: str) -> Person:
        user_id, token = await api.user(admin, f"{tag}{email}", role, name)
        return Person(user_id, token, name)

    mentor = await person("morgan@example.org", "mentor", "Morgan")
    mentee = await person("pat@example.org", "participant", "Pat")
    outsider = await person("quinn@example.org", "participant", "Quinn")
    status, body = await api.call(
        "POST", "/api/pairings", admin, {"mentor_id": mentor.user_id, "mentee_id": mentee.user_id}
    )
    assert status == 201, body
    return Pair(api, admin, url, mentor, mentee, outsider, body["id"], tag)


@pytest.fixture
async def pair(api: Api, admin: str) -> AsyncIterator[Pair]:
    made = await make_pair(api, admin, str(api.client.make_url("/")))
    yield made
    await made.close()


# --- Helpers ------------------------------------------------------------------------------------------------------


def refused(ack: Any, code: str) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert isinstance(ack["error"]["message"], str)


async def of_call(peer: Peer, event: str, call_id: str, within: float = WAIT) -> dict[str, Any]:
    """The next ``event`` about ``call_id`` on this connection (a device ignores calls it takes no part in)."""
    async with asyncio.timeout(within):
        while True:
            data = await peer.received[event].get()
            if isinstance(data, dict) and data.get("call_id") == call_id:
                return data


async def status_change(peer: Peer, user_id: str, status: str, within: float = WAIT) -> None:
    """Wait for ``contact:status`` saying ``user_id`` is now ``status``."""
    async with asyncio.timeout(within):
        while True:
            data = await peer.received["contact:status"].get()
            if isinstance(data, dict) and data.get("user_id") == user_id and data.get("status") == status:
                assert data == {"user_id": user_id, "status": status}
                return


def check_media(media: Any, policy: str = "all") -> None:
    assert isinstance(media, dict), media
    assert set(media) == {"mode", "ice_servers", "ice_transport_policy"}, media
    assert media["mode"] == "p2p"
    assert isinstance(media["ice_servers"], list)
    assert media["ice_transport_policy"] == policy


async def invite(caller: Peer, callee: Person) -> str:
    ack = await caller.call("call:invite", {"user_id": callee.user_id})
    assert ack["ok"] is True, ack
    assert ack["state"] == "ringing", ack
    assert "reason" not in ack or ack["reason"] is None, ack
    assert str(uuid.UUID(ack["call_id"])) == ack["call_id"]
    check_media(ack["media"])
    return str(ack["call_id"])


async def answered(caller: Peer, callee: Peer, callee_person: Person) -> str:
    """A call from ``caller`` answered on ``callee``; returns its id once both sides know."""
    call_id = await invite(caller, callee_person)
    await of_call(callee, "call:incoming", call_id)
    ack = await callee.call("call:accept", {"call_id": call_id})
    assert ack["ok"] is True, ack
    assert ack["call_id"] == call_id
    assert ack["peer_id"] == caller.sid
    check_media(ack["media"])
    accepted = await of_call(caller, "call:accepted", call_id)
    assert accepted == {"call_id": call_id, "peer_id": callee.sid, "answered_by": callee.sid}
    return call_id


def ended_events(peer: Peer, call_id: str) -> list[Any]:
    return [d for e, d in peer.log if e == "call:ended" and isinstance(d, dict) and d.get("call_id") == call_id]


def events_of(peer: Peer, event: str, call_id: str | None = None) -> list[Any]:
    return [
        d
        for e, d in peer.log
        if e == event and (call_id is None or (isinstance(d, dict) and d.get("call_id") == call_id))
    ]


async def statuses(api: Api, person: Person) -> dict[str, str]:
    status, body = await api.call("GET", "/api/contacts", person.token)
    assert status == 200, body
    return {c["user_id"]: c["status"] for c in body["contacts"]}


async def calls_of(api: Api, token: str, query: str = "") -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/calls{query}", token)
    assert status == 200, body
    return list(body["calls"])


async def group_with(pair: Pair, member: Person, lobby_enabled: bool) -> tuple[str, Person]:
    """A group with ``member`` enrolled as a participant and a facilitator of its own."""
    status, body = await pair.api.call(
        "POST", "/api/groups", pair.admin, {"name": "Thursday group", "capacity": 8, "lobby_enabled": lobby_enabled}
    )
    assert status == 201, body
    group_id = body["id"]
    facilitator = await pair.person(f"fac-{short_id()}@example.org", "facilitator", "Fran")
    await pair.api.enrol(pair.admin, group_id, facilitator.user_id, "facilitator")
    await pair.api.enrol(pair.admin, group_id, member.user_id, "participant")
    return group_id, facilitator


def short_id() -> str:
    return uuid.uuid4().hex[:8]


# --- Contacts ------------------------------------------------------------------------------------------------------


async def test_contacts_list_the_paired_people_ordered_by_name(pair: Pair) -> None:
    alex = await pair.person("alex@example.org", "participant", "Alex")
    second = await pair.pair_up(pair.mentor, alex)

    status, body = await pair.api.call("GET", "/api/contacts", pair.mentor.token)
    assert status == 200, body
    assert body == {
        "contacts": [
            {
                "user_id": alex.user_id,
                "display_name": "Alex",
                "relationship": "mentee",
                "pairing_id": second,
                "status": "offline",
            },
            {
                "user_id": pair.mentee.user_id,
                "display_name": "Pat",
                "relationship": "mentee",
                "pairing_id": pair.pairing_id,
                "status": "offline",
            },
        ]
    }
    status, body = await pair.api.call("GET", "/api/contacts", pair.mentee.token)
    assert status == 200, body
    assert body == {
        "contacts": [
            {
                "user_id": pair.mentor.user_id,
                "display_name": "Morgan",
                "relationship": "mentor",
                "pairing_id": pair.pairing_id,
                "status": "offline",
            }
        ]
    }
    assert await pair.api.call("GET", "/api/contacts", pair.outsider.token) == (200, {"contacts": []})
    status, body = await pair.api.call("GET", "/api/contacts")
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


async def test_contact_status_follows_connections_and_calls(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    watcher = await pair.connect(pair.outsider)  # paired with nobody: hears nothing
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "offline"}

    mentee = await pair.connect(pair.mentee)
    await status_change(mentor, pair.mentee.user_id, "online")
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "online"}
    assert await statuses(pair.api, pair.mentee) == {pair.mentor.user_id: "online"}

    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "online"}  # ringing is not in a call

    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True
    await status_change(mentor, pair.mentee.user_id, "in_call")
    await status_change(mentee, pair.mentor.user_id, "in_call")
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "in_call"}
    assert await statuses(pair.api, pair.mentee) == {pair.mentor.user_id: "in_call"}

    assert await mentee.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    await status_change(mentor, pair.mentee.user_id, "online")
    await status_change(mentee, pair.mentor.user_id, "online")
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "online"}

    # Online means at least one connection: closing one of two devices changes nothing.
    phone = await pair.connect(pair.mentee, name="pat-phone")
    await mentee.close()
    await phone.close()
    await status_change(mentor, pair.mentee.user_id, "offline")
    assert await statuses(pair.api, pair.mentor) == {pair.mentee.user_id: "offline"}
    offline = [d for e, d in mentor.log if e == "contact:status" and d["status"] == "offline"]
    assert offline == [{"user_id": pair.mentee.user_id, "status": "offline"}]
    assert [e for e, _ in watcher.log if e == "contact:status"] == []


async def test_a_contact_in_a_call_with_someone_else_shows_as_in_call(pair: Pair) -> None:
    max_ = await pair.person("max@example.org", "mentor", "Max")
    await pair.pair_up(max_, pair.mentee)
    watcher = await pair.connect(max_)
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    await status_change(watcher, pair.mentee.user_id, "online")
    call_id = await answered(mentor, mentee, pair.mentee)
    await status_change(watcher, pair.mentee.user_id, "in_call")
    assert (await statuses(pair.api, max_))[pair.mentee.user_id] == "in_call"
    assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    await status_change(watcher, pair.mentee.user_id, "online")
    # Max is no contact of Morgan's: the call is none of Max's business beyond Pat's status.
    await asyncio.sleep(SETTLE)
    assert events_of(watcher, "call:accepted") == []
    assert events_of(watcher, "call:ended") == []
    assert [d for e, d in watcher.log if e == "contact:status" and d["user_id"] == pair.mentor.user_id] == []


# --- Ringing and answering -----------------------------------------------------------------------------------------


async def test_every_device_of_the_callee_rings_and_the_first_accept_wins(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    desk = await pair.connect(pair.mentor, name="morgan-desk")  # the caller's other device
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")

    ack = await mentor.call("call:invite", {"user_id": pair.mentee.user_id})
    assert ack["ok"] is True, ack
    assert ack["state"] == "ringing"
    call_id = ack["call_id"]
    assert str(uuid.UUID(call_id)) == call_id
    check_media(ack["media"])
    assert ack["media"]["ice_servers"] == []  # nothing configured: never a public server

    incoming = {
        "call_id": call_id,
        "from": {"user_id": pair.mentor.user_id, "display_name": "Morgan"},
        "ring_seconds": DEFAULT_RING_SECONDS,
    }
    assert await of_call(laptop, "call:incoming", call_id) == incoming
    assert await of_call(phone, "call:incoming", call_id) == incoming
    # A device that connects while the call still rings rings too.
    tablet = await pair.connect(pair.mentee, name="pat-tablet")
    late = await of_call(tablet, "call:incoming", call_id)
    assert {k: v for k, v in late.items() if k != "ring_seconds"} == {
        k: v for k, v in incoming.items() if k != "ring_seconds"
    }
    assert 0 < late["ring_seconds"] <= DEFAULT_RING_SECONDS  # the full ring time, or what is left of it

    accept = await phone.call("call:accept", {"call_id": call_id})
    assert accept["ok"] is True, accept
    assert accept["call_id"] == call_id
    assert accept["peer_id"] == mentor.sid
    check_media(accept["media"])

    for caller_device in (mentor, desk):  # every event of a call goes to every connection of both people
        assert await of_call(caller_device, "call:accepted", call_id) == {
            "call_id": call_id,
            "peer_id": phone.sid,
            "answered_by": phone.sid,
        }
    # The callee's other devices learn who answered, and stop ringing.
    for other in (laptop, tablet):
        assert await of_call(other, "call:accepted", call_id) == {
            "call_id": call_id,
            "peer_id": mentor.sid,
            "answered_by": phone.sid,
        }
    refused(await laptop.call("call:accept", {"call_id": call_id}), "conflict")
    # Once answered, it can no longer be declined or cancelled.
    refused(await laptop.call("call:decline", {"call_id": call_id}), "conflict")
    refused(await mentor.call("call:cancel", {"call_id": call_id}), "conflict")
    assert events_of(mentor, "call:incoming") == []
    assert events_of(desk, "call:incoming") == []


async def test_two_devices_accepting_at_once_one_wins(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await invite(mentor, pair.mentee)
    await of_call(laptop, "call:incoming", call_id)
    await of_call(phone, "call:incoming", call_id)

    acks = await asyncio.gather(
        laptop.call("call:accept", {"call_id": call_id}), phone.call("call:accept", {"call_id": call_id})
    )
    winners = [n for n, ack in enumerate(acks) if ack["ok"]]
    assert len(winners) == 1, acks
    loser = acks[1 - winners[0]]
    refused(loser, "conflict")
    winner = (laptop, phone)[winners[0]]
    accepted = await of_call(mentor, "call:accepted", call_id)
    assert accepted == {"call_id": call_id, "peer_id": winner.sid, "answered_by": winner.sid}
    await asyncio.sleep(SETTLE)
    assert len(events_of(mentor, "call:accepted", call_id)) == 1


async def test_both_sides_hanging_up_at_once_end_the_call_once(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    acks = await asyncio.gather(
        mentor.call("call:hangup", {"call_id": call_id}), mentee.call("call:hangup", {"call_id": call_id})
    )
    assert sorted(ack["ok"] for ack in acks) == [False, True], acks
    refused(next(ack for ack in acks if not ack["ok"]), "conflict")  # the call had already ended
    for peer in (mentor, mentee):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}
    await asyncio.sleep(SETTLE)
    for peer in (mentor, mentee):
        assert len(ended_events(peer, call_id)) == 1, peer.name


async def test_accept_racing_cancel_has_one_consistent_winner(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    accept, cancel = await asyncio.gather(
        mentee.call("call:accept", {"call_id": call_id}), mentor.call("call:cancel", {"call_id": call_id})
    )
    assert accept["ok"] != cancel["ok"], (accept, cancel)
    if cancel["ok"]:
        refused(accept, "conflict")
        assert await of_call(mentee, "call:ended", call_id) == {"call_id": call_id, "reason": "cancelled"}
        await asyncio.sleep(SETTLE)
        assert events_of(mentor, "call:accepted", call_id) == []
    else:
        refused(cancel, "conflict")
        assert (await of_call(mentor, "call:accepted", call_id))["peer_id"] == mentee.sid
        await asyncio.sleep(SETTLE)
        assert ended_events(mentor, call_id) == []
        assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}


async def test_accept_on_one_device_racing_decline_on_another_has_one_winner(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await invite(mentor, pair.mentee)
    await of_call(laptop, "call:incoming", call_id)
    await of_call(phone, "call:incoming", call_id)
    accept, decline = await asyncio.gather(
        phone.call("call:accept", {"call_id": call_id}), laptop.call("call:decline", {"call_id": call_id})
    )
    assert accept["ok"] != decline["ok"], (accept, decline)
    refused(decline if accept["ok"] else accept, "conflict")
    if accept["ok"]:
        assert (await of_call(mentor, "call:accepted", call_id))["answered_by"] == phone.sid
    else:
        assert await of_call(mentor, "call:ended", call_id) == {"call_id": call_id, "reason": "declined"}
    await asyncio.sleep(SETTLE)
    assert len(events_of(mentor, "call:accepted", call_id)) + len(ended_events(mentor, call_id)) == 1


async def test_invites_crossing_each_other_ring_only_once(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    acks = await asyncio.gather(
        mentor.call("call:invite", {"user_id": pair.mentee.user_id}),
        mentee.call("call:invite", {"user_id": pair.mentor.user_id}),
    )
    ringing = [ack for ack in acks if ack.get("ok") and ack.get("state") == "ringing"]
    assert len(ringing) == 1, acks  # nobody is in two calls at once
    (other,) = [ack for ack in acks if ack is not ringing[0]]
    # The other invitation meets a busy line: the callee's (busy) or the caller's own (conflict).
    assert (other.get("ok"), other.get("reason")) == (True, "busy") or other["error"]["code"] == "conflict", other


async def test_two_callers_at_once_ring_the_callee_only_once(pair: Pair) -> None:
    max_ = await pair.person("max@example.org", "mentor", "Max")
    await pair.pair_up(max_, pair.mentee)
    mentor = await pair.connect(pair.mentor)
    other = await pair.connect(max_)
    mentee = await pair.connect(pair.mentee)
    acks = await asyncio.gather(
        mentor.call("call:invite", {"user_id": pair.mentee.user_id}),
        other.call("call:invite", {"user_id": pair.mentee.user_id}),
    )
    states = sorted((ack.get("state"), ack.get("reason")) for ack in acks)
    assert states == [("ended", "busy"), ("ringing", None)], acks
    ringing = next(ack for ack in acks if ack["state"] == "ringing")
    assert (await mentee.call("call:accept", {"call_id": ringing["call_id"]}))["ok"] is True
    await asyncio.sleep(SETTLE)
    assert [d["call_id"] for d in events_of(mentee, "call:incoming")] == [ringing["call_id"]]


async def test_calling_back_someone_whose_call_rings_for_you_is_refused_or_busy(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    first = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", first)
    back = await mentee.call("call:invite", {"user_id": pair.mentor.user_id})
    # The mentor is in a ringing call (busy), and so is the mentee's own line (conflict); it may not ring.
    assert back.get("state") != "ringing", back
    assert (back.get("ok"), back.get("reason")) == (True, "busy") or back["error"]["code"] == "conflict", back
    assert (await mentee.call("call:accept", {"call_id": first}))["ok"] is True


@pytest.mark.parametrize("ring_seconds", [1])
async def test_a_call_to_a_contact_who_never_connects_is_missed(pair: Pair, ring_seconds: int) -> None:
    mentor = await pair.connect(pair.mentor)
    call_id = await invite(mentor, pair.mentee)
    ended = await of_call(mentor, "call:ended", call_id, within=ring_seconds + 2 * SWEEP_MS / 1000 + 5)
    assert ended == {"call_id": call_id, "reason": "missed"}
    (record,) = await calls_of(pair.api, pair.mentee.token)
    assert (record["id"], record["outcome"]) == (call_id, "missed")


async def test_a_call_to_an_offline_contact_rings_when_they_connect(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    call_id = await invite(mentor, pair.mentee)
    mentee = await pair.connect(pair.mentee)  # connects while the call still rings
    incoming = await of_call(mentee, "call:incoming", call_id)
    assert incoming["from"] == {"user_id": pair.mentor.user_id, "display_name": "Morgan"}
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True
    assert (await of_call(mentor, "call:accepted", call_id))["peer_id"] == mentee.sid


# --- Every way a call ends -----------------------------------------------------------------------------------------


async def test_decline_ends_the_call_on_every_device_of_both(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    tablet = await pair.connect(pair.mentor, name="morgan-tablet")
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await invite(mentor, pair.mentee)
    await of_call(laptop, "call:incoming", call_id)
    await of_call(phone, "call:incoming", call_id)

    assert await laptop.call("call:decline", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, tablet):
        assert await of_call(peer, "call:declined", call_id) == {"call_id": call_id}
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "declined"}
        names = [e for e, d in peer.log if isinstance(d, dict) and d.get("call_id") == call_id]
        assert names.index("call:declined") < names.index("call:ended")  # declined, followed by ended
    for peer in (laptop, phone):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "declined"}

    # Any act on a call that has ended is a conflict.
    refused(await phone.call("call:accept", {"call_id": call_id}), "conflict")
    refused(await mentor.call("call:hangup", {"call_id": call_id}), "conflict")
    await asyncio.sleep(SETTLE)
    for peer in (mentor, tablet, laptop, phone):
        assert len(ended_events(peer, call_id)) == 1, peer.name  # exactly once per call


async def test_cancel_by_the_caller_and_who_may_not_cancel_or_answer(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)

    refused(await mentor.call("call:accept", {"call_id": call_id}), "conflict")  # the caller accepting
    refused(await mentor.call("call:decline", {"call_id": call_id}), "conflict")  # the caller declining
    refused(await mentee.call("call:cancel", {"call_id": call_id}), "conflict")  # the callee cancelling

    assert await mentor.call("call:cancel", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, mentee):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "cancelled"}
    refused(await mentee.call("call:accept", {"call_id": call_id}), "conflict")
    refused(await mentor.call("call:cancel", {"call_id": call_id}), "conflict")


async def test_the_caller_accepting_their_own_call_is_a_conflict(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    tablet = await pair.connect(pair.mentor, name="morgan-tablet")
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    refused(await mentor.call("call:accept", {"call_id": call_id}), "conflict")
    refused(await tablet.call("call:accept", {"call_id": call_id}), "conflict")  # nor from another device
    # The call still rings for the callee.
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True


@pytest.mark.parametrize(("side", "reason"), [("caller", "cancelled"), ("callee", "declined")])
async def test_hangup_while_ringing_cancels_or_declines(pair: Pair, side: str, reason: str) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    hanging_up = mentor if side == "caller" else mentee
    assert await hanging_up.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, mentee):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": reason}


@pytest.mark.parametrize("side", ["caller", "callee"])
async def test_hangup_of_an_answered_call_ends_it_for_both(pair: Pair, side: str) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await answered(mentor, phone, pair.mentee)
    hanging_up = mentor if side == "caller" else phone
    assert await hanging_up.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, laptop, phone):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}
    refused(await mentor.call("call:hangup", {"call_id": call_id}), "conflict")
    await asyncio.sleep(SETTLE)
    for peer in (mentor, laptop, phone):
        assert len(ended_events(peer, call_id)) == 1, peer.name


@pytest.mark.parametrize("ring_seconds", [2])
async def test_an_unanswered_call_is_missed_after_the_ring_time(pair: Pair, ring_seconds: int) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    started = time.monotonic()
    call_id = await invite(mentor, pair.mentee)
    incoming = await of_call(laptop, "call:incoming", call_id)
    assert incoming["ring_seconds"] == ring_seconds
    bound = ring_seconds + 2 * SWEEP_MS / 1000 + 5
    for peer in (mentor, laptop, phone):
        assert await of_call(peer, "call:ended", call_id, within=bound) == {"call_id": call_id, "reason": "missed"}
    elapsed = time.monotonic() - started
    assert ring_seconds - 0.5 <= elapsed < bound
    refused(await phone.call("call:accept", {"call_id": call_id}), "conflict")
    (record,) = await calls_of(pair.api, pair.mentor.token)
    assert (record["id"], record["outcome"], record["answered_at"], record["duration_seconds"]) == (
        call_id,
        "missed",
        None,
        None,
    )


# --- Busy ----------------------------------------------------------------------------------------------------------


def assert_busy(ack: Any) -> str:
    assert ack["ok"] is True, ack  # a busy callee is not an error
    assert ack["state"] == "ended", ack
    assert ack["reason"] == "busy", ack
    assert str(uuid.UUID(ack["call_id"])) == ack["call_id"]
    check_media(ack["media"])
    return str(ack["call_id"])


@pytest.mark.parametrize("first_call", ["answered", "ringing", "calling_out"])
async def test_a_callee_in_another_call_is_busy(pair: Pair, first_call: str) -> None:
    max_ = await pair.person("max@example.org", "mentor", "Max")
    await pair.pair_up(max_, pair.mentee)
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    other = await pair.connect(max_)
    if first_call == "answered":
        first = await answered(mentor, mentee, pair.mentee)
    elif first_call == "calling_out":  # the callee's own outgoing call rings
        first = await invite(mentee, pair.mentor)
        await of_call(mentor, "call:incoming", first)
    else:
        first = await invite(mentor, pair.mentee)
        await of_call(mentee, "call:incoming", first)

    second = assert_busy(await other.call("call:invite", {"user_id": pair.mentee.user_id}))
    assert second != first
    assert await of_call(other, "call:ended", second) == {"call_id": second, "reason": "busy"}

    # The first call is untouched.
    if first_call == "ringing":
        assert (await mentee.call("call:accept", {"call_id": first}))["ok"] is True
        await of_call(mentor, "call:accepted", first)
    elif first_call == "calling_out":
        assert (await mentor.call("call:accept", {"call_id": first}))["ok"] is True
        await of_call(mentee, "call:accepted", first)
    assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await mentee.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER}
    # Every event of a call goes to both people: the busy callee hears that the call ended, and never rang.
    assert await of_call(mentee, "call:ended", second) == {"call_id": second, "reason": "busy"}
    assert events_of(mentee, "call:incoming", second) == []
    (busy_record,) = [c for c in await calls_of(pair.api, max_.token) if c["id"] == second]
    assert busy_record["outcome"] == "busy"


@pytest.mark.parametrize("lobby_enabled", [False, True])
async def test_a_callee_in_a_group_room_or_its_lobby_is_busy(pair: Pair, lobby_enabled: bool) -> None:
    group_id, facilitator = await group_with(pair, pair.mentee, lobby_enabled)
    fac = await pair.connect(facilitator)
    assert (await fac.call("room:join", {"room_id": group_id}))["status"] == "joined"
    mentee = await pair.connect(pair.mentee)
    joined = await mentee.call("room:join", {"room_id": group_id})
    assert joined["status"] == ("waiting" if lobby_enabled else "joined"), joined

    mentor = await pair.connect(pair.mentor)
    call_id = assert_busy(await mentor.call("call:invite", {"user_id": pair.mentee.user_id}))
    assert await of_call(mentor, "call:ended", call_id) == {"call_id": call_id, "reason": "busy"}
    await asyncio.sleep(SETTLE)
    assert events_of(mentee, "call:incoming") == []


async def test_a_callee_whose_other_device_is_in_a_group_room_is_busy(pair: Pair) -> None:
    group_id, facilitator = await group_with(pair, pair.mentee, lobby_enabled=False)
    fac = await pair.connect(facilitator)
    assert (await fac.call("room:join", {"room_id": group_id}))["status"] == "joined"
    in_room = await pair.connect(pair.mentee, name="pat-in-room")
    assert (await in_room.call("room:join", {"room_id": group_id}))["status"] == "joined"
    idle = await pair.connect(pair.mentee, name="pat-idle")  # the person is in the room, not this device
    mentor = await pair.connect(pair.mentor)
    call_id = assert_busy(await mentor.call("call:invite", {"user_id": pair.mentee.user_id}))
    assert await of_call(mentor, "call:ended", call_id) == {"call_id": call_id, "reason": "busy"}
    await asyncio.sleep(SETTLE)
    assert events_of(idle, "call:incoming") == []

    # Once they leave the room, they can be called.
    assert await in_room.call("room:leave", {"room_id": group_id}) == {"ok": True}
    call_id = await invite(mentor, pair.mentee)
    await of_call(idle, "call:incoming", call_id)


# --- Conflicts of the caller's own line ----------------------------------------------------------------------------


async def test_inviting_while_already_in_a_call_is_a_conflict(pair: Pair) -> None:
    alex = await pair.person("alex@example.org", "participant", "Alex")
    await pair.pair_up(pair.mentor, alex)
    mentor = await pair.connect(pair.mentor)
    tablet = await pair.connect(pair.mentor, name="morgan-tablet")
    mentee = await pair.connect(pair.mentee)
    other = await pair.connect(alex)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)

    refused(await mentor.call("call:invite", {"user_id": alex.user_id}), "conflict")  # this connection is in a call
    refused(await tablet.call("call:invite", {"user_id": alex.user_id}), "conflict")  # the caller's line is busy
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True
    refused(await mentor.call("call:invite", {"user_id": alex.user_id}), "conflict")
    await asyncio.sleep(SETTLE)
    assert events_of(other, "call:incoming") == []


async def test_inviting_from_a_group_room_is_a_conflict(pair: Pair) -> None:
    group_id, facilitator = await group_with(pair, pair.mentor, lobby_enabled=False)  # a mentor may be a participant
    fac = await pair.connect(facilitator)
    assert (await fac.call("room:join", {"room_id": group_id}))["status"] == "joined"
    mentor = await pair.connect(pair.mentor)
    assert (await mentor.call("room:join", {"room_id": group_id}))["status"] == "joined"
    mentee = await pair.connect(pair.mentee)
    refused(await mentor.call("call:invite", {"user_id": pair.mentee.user_id}), "conflict")
    await asyncio.sleep(SETTLE)
    assert events_of(mentee, "call:incoming") == []


async def test_joining_a_group_room_from_a_connection_in_a_call_is_a_conflict(pair: Pair) -> None:
    group_id, facilitator = await group_with(pair, pair.mentee, lobby_enabled=False)
    fac = await pair.connect(facilitator)
    assert (await fac.call("room:join", {"room_id": group_id}))["status"] == "joined"
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    refused(await mentee.call("room:join", {"room_id": group_id}), "conflict")
    # The call goes on.
    assert await mentee.call("rtc:signal", {"to": mentor.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await mentor.next("rtc:signal") == {"from": mentee.sid, "type": "offer", "sdp": OFFER}
    assert ended_events(mentor, call_id) == []
    # Once the call has ended, the same connection may join.
    assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    await of_call(mentee, "call:ended", call_id)
    assert (await mentee.call("room:join", {"room_id": group_id}))["status"] == "joined"


async def test_joining_a_group_room_while_ones_call_rings_is_a_conflict(pair: Pair) -> None:
    group_id, facilitator = await group_with(pair, pair.mentor, lobby_enabled=False)
    fac = await pair.connect(facilitator)
    assert (await fac.call("room:join", {"room_id": group_id}))["status"] == "joined"
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)  # a call ringing is a call too
    await of_call(mentee, "call:incoming", call_id)
    refused(await mentor.call("room:join", {"room_id": group_id}), "conflict")
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True


# --- Connections lost, reconnecting and resuming -------------------------------------------------------------------


async def test_the_callers_connection_closing_while_ringing_ends_the_call(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await invite(mentor, pair.mentee)
    await of_call(laptop, "call:incoming", call_id)
    await of_call(phone, "call:incoming", call_id)

    await mentor.close()
    # No grace while ringing (the grace period here is 30 s): the callee stops ringing at once.
    for peer in (laptop, phone):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "connection_lost"}
    refused(await phone.call("call:accept", {"call_id": call_id}), "conflict")
    (record,) = await calls_of(pair.api, pair.mentee.token)
    assert (record["id"], record["outcome"]) == (call_id, "connection_lost")


@pytest.mark.parametrize("side", ["caller", "callee"])
async def test_a_side_that_drops_resumes_from_a_new_connection_within_grace(pair: Pair, side: str) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    dropping, staying = (mentor, mentee) if side == "caller" else (mentee, mentor)
    person = pair.mentor if side == "caller" else pair.mentee
    old_sid = dropping.sid

    await dropping.close()
    assert await of_call(staying, "call:reconnecting", call_id) == {"call_id": call_id, "user_id": person.user_id}

    back = await pair.connect(person, name=f"{person.name}-back")
    ack = await back.call("call:resume", {"call_id": call_id})
    assert ack["ok"] is True, ack
    assert ack["call_id"] == call_id
    assert ack["role"] == side
    assert ack["peer_id"] == staying.sid
    check_media(ack["media"])
    assert await of_call(staying, "call:resumed", call_id) == {
        "call_id": call_id,
        "user_id": person.user_id,
        "peer_id": back.sid,
    }

    # Signaling now goes to the new peer, and only to it.
    assert await staying.call("rtc:signal", {"to": back.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await back.next("rtc:signal") == {"from": staying.sid, "type": "offer", "sdp": OFFER}
    assert await back.call("rtc:signal", {"to": staying.sid, "type": "answer", "sdp": ANSWER}) == {"ok": True}
    assert await staying.next("rtc:signal") == {"from": back.sid, "type": "answer", "sdp": ANSWER}
    refused(await staying.call("rtc:signal", {"to": old_sid, "type": "offer", "sdp": OFFER}), "not_authorized")

    # The call goes on, and ends normally.
    assert await back.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    assert await of_call(staying, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}


async def test_reconnecting_reaches_every_device_and_the_other_side_may_hang_up_meanwhile(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    desk = await pair.connect(pair.mentor, name="morgan-desk")
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    call_id = await answered(mentor, phone, pair.mentee)

    await phone.close()
    for peer in (mentor, desk, laptop):
        assert await of_call(peer, "call:reconnecting", call_id) == {
            "call_id": call_id,
            "user_id": pair.mentee.user_id,
        }
    assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    for peer in (mentor, desk, laptop):
        assert await of_call(peer, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}
    back = await pair.connect(pair.mentee, name="pat-back")
    refused(await back.call("call:resume", {"call_id": call_id}), "conflict")


async def test_signaling_to_a_peer_whose_connection_closed_is_not_authorized(pair: Pair) -> None:
    """While a side reconnects it has no current connection: its old peer id is nobody's."""
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    old_sid = mentee.sid
    await mentee.close()
    await of_call(mentor, "call:reconnecting", call_id)
    refused(await mentor.call("rtc:signal", {"to": old_sid, "type": "offer", "sdp": OFFER}), "not_authorized")


@pytest.mark.parametrize("grace_seconds", [1])
@pytest.mark.parametrize("side", ["caller", "callee"])
async def test_a_side_away_beyond_grace_ends_the_call_as_connection_lost(
    pair: Pair, side: str, grace_seconds: int
) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    dropping, staying = (mentor, mentee) if side == "caller" else (mentee, mentor)
    person = pair.mentor if side == "caller" else pair.mentee

    dropped_at = time.monotonic()
    await dropping.close()
    assert await of_call(staying, "call:reconnecting", call_id) == {"call_id": call_id, "user_id": person.user_id}
    bound = grace_seconds + 2 * SWEEP_MS / 1000 + 5
    ended = await of_call(staying, "call:ended", call_id, within=bound)
    assert ended == {"call_id": call_id, "reason": "connection_lost"}
    assert time.monotonic() - dropped_at >= grace_seconds - 0.3
    assert events_of(staying, "call:resumed", call_id) == []

    # The one who dropped has no connection left: offline, not in a call.
    await status_change(staying, person.user_id, "offline")
    assert (await statuses(pair.api, pair.mentor if side == "callee" else pair.mentee))[person.user_id] == "offline"

    late = await pair.connect(person, name=f"{person.name}-late")
    refused(await late.call("call:resume", {"call_id": call_id}), "conflict")
    refused(await staying.call("rtc:signal", {"to": late.sid, "type": "offer", "sdp": OFFER}), "not_authorized")
    (record,) = await calls_of(pair.api, pair.mentor.token)
    assert (record["id"], record["outcome"]) == (call_id, "connection_lost")
    assert record["duration_seconds"] is not None


# --- Signaling -----------------------------------------------------------------------------------------------------


async def test_signaling_is_relayed_between_the_two_peers_of_a_call(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    await answered(mentor, mentee, pair.mentee)

    assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await mentee.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER}
    assert await mentee.call("rtc:signal", {"to": mentor.sid, "type": "answer", "sdp": ANSWER}) == {"ok": True}
    assert await mentor.next("rtc:signal") == {"from": mentee.sid, "type": "answer", "sdp": ANSWER}
    for sender, receiver in ((mentor, mentee), (mentee, mentor)):
        ack = await sender.call("rtc:signal", {"to": receiver.sid, "type": "candidate", "candidate": CANDIDATE})
        assert ack == {"ok": True}
        assert await receiver.next("rtc:signal") == {"from": sender.sid, "type": "candidate", "candidate": CANDIDATE}
    # The end of candidates.
    assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "candidate", "candidate": None}) == {"ok": True}
    assert await mentee.next("rtc:signal") == {"from": mentor.sid, "type": "candidate", "candidate": None}
    # An ICE restart may come from either side at any time during the call.
    restart = OFFER + "a=ice-ufrag:new1\r\na=ice-pwd:newpasswordnewpassword12\r\n"
    assert await mentee.call("rtc:signal", {"to": mentor.sid, "type": "offer", "sdp": restart}) == {"ok": True}
    assert await mentor.next("rtc:signal") == {"from": mentee.sid, "type": "offer", "sdp": restart}


async def test_signaling_outside_an_answered_call_is_not_authorized(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    laptop = await pair.connect(pair.mentee, name="pat-laptop")
    phone = await pair.connect(pair.mentee, name="pat-phone")
    stranger = await pair.connect(pair.outsider)
    offer: dict[str, Any] = {"type": "offer", "sdp": OFFER}

    call_id = await invite(mentor, pair.mentee)
    await of_call(phone, "call:incoming", call_id)
    # Before the answer.
    refused(await mentor.call("rtc:signal", {"to": phone.sid, **offer}), "not_authorized")
    refused(await phone.call("rtc:signal", {"to": mentor.sid, **offer}), "not_authorized")

    assert (await phone.call("call:accept", {"call_id": call_id}))["ok"] is True
    await of_call(mentor, "call:accepted", call_id)
    # To or from a connection outside the call: the callee's other device, a stranger.
    refused(await mentor.call("rtc:signal", {"to": laptop.sid, **offer}), "not_authorized")
    refused(await laptop.call("rtc:signal", {"to": mentor.sid, **offer}), "not_authorized")
    refused(await mentor.call("rtc:signal", {"to": stranger.sid, **offer}), "not_authorized")
    refused(await stranger.call("rtc:signal", {"to": mentor.sid, **offer}), "not_authorized")
    refused(await stranger.call("rtc:signal", {"to": phone.sid, **offer}), "not_authorized")
    # Between the two peers it works.
    assert await mentor.call("rtc:signal", {"to": phone.sid, **offer}) == {"ok": True}
    assert await phone.next("rtc:signal") == {"from": mentor.sid, **offer}

    assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    await of_call(phone, "call:ended", call_id)
    # After the call ended.
    refused(await mentor.call("rtc:signal", {"to": phone.sid, **offer}), "not_authorized")
    refused(await phone.call("rtc:signal", {"to": mentor.sid, **offer}), "not_authorized")

    await asyncio.sleep(SETTLE)
    assert len(events_of(phone, "rtc:signal")) == 1
    assert events_of(mentor, "rtc:signal") == []
    assert events_of(laptop, "rtc:signal") == []
    assert events_of(stranger, "rtc:signal") == []


@pytest.mark.parametrize(
    "signal",
    [
        {"type": "offer"},  # an offer carries sdp
        {"type": "answer", "sdp": ANSWER, "candidate": CANDIDATE},  # and no candidate
        {"type": "offer", "sdp": "v=0\r\na=" + "x" * 49_500},  # over 48 KiB (yet under the 64 KiB frame limit)
        {"type": "candidate", "sdp": OFFER},  # a candidate carries a candidate
        {"type": "candidate", "candidate": {"sdpMid": "0", "sdpMLineIndex": 0}},  # without its candidate line
        {"type": "candidate", "candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host"},  # not an RTCIceCandidateInit
        {"type": "bye", "sdp": OFFER},
        {"type": "offer", "sdp": OFFER, "media": "everything"},
    ],
)
async def test_malformed_signals_in_a_call_are_invalid_and_not_relayed(pair: Pair, signal: dict[str, Any]) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    await answered(mentor, mentee, pair.mentee)
    refused(await mentor.call("rtc:signal", {"to": mentee.sid, **signal}), "invalid_request")
    assert await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}) == {"ok": True}
    assert await mentee.next("rtc:signal") == {"from": mentor.sid, "type": "offer", "sdp": OFFER}
    assert len(events_of(mentee, "rtc:signal")) == 1


# --- Refusals ------------------------------------------------------------------------------------------------------


async def test_inviting_someone_unpaired_or_unknown_gets_the_same_refusal(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    stranger = await pair.connect(pair.outsider)
    unpaired = await mentor.call("call:invite", {"user_id": pair.outsider.user_id})
    unknown = await mentor.call("call:invite", {"user_id": UNKNOWN_ID})
    reverse = await stranger.call("call:invite", {"user_id": pair.mentor.user_id})
    for ack in (unpaired, unknown, reverse):
        refused(ack, "not_authorized")
    assert unpaired == unknown  # nobody can probe who exists
    await asyncio.sleep(SETTLE)
    assert events_of(stranger, "call:incoming") == []
    assert events_of(mentor, "call:incoming") == []
    # The refused connections still work.
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)


async def test_a_third_person_acting_on_a_call_is_not_authorized(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    stranger = await pair.connect(pair.outsider)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)

    for event in ("call:accept", "call:decline", "call:cancel", "call:hangup", "call:resume"):
        refused(await stranger.call(event, {"call_id": call_id}), "not_authorized")
    # A call that does not exist.
    refused(await mentee.call("call:accept", {"call_id": UNKNOWN_ID}), "not_authorized")
    refused(await mentor.call("call:hangup", {"call_id": UNKNOWN_ID}), "not_authorized")
    refused(await mentor.call("call:resume", {"call_id": UNKNOWN_ID}), "not_authorized")

    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True
    await of_call(mentor, "call:accepted", call_id)
    refused(await stranger.call("call:hangup", {"call_id": call_id}), "not_authorized")
    refused(await stranger.call("call:resume", {"call_id": call_id}), "not_authorized")
    await asyncio.sleep(SETTLE)
    assert ended_events(mentor, call_id) == []
    assert events_of(stranger, "call:accepted") == []


@pytest.mark.parametrize(
    ("event", "payload", "field_name"),
    [
        ("call:invite", {}, "user_id"),
        ("call:invite", {"user_id": "not-a-uuid"}, "user_id"),
        ("call:invite", {"user_id": 42}, "user_id"),
        ("call:invite", {"user_id": UNKNOWN_ID, "video": True}, "video"),
        ("call:invite", "a string", None),
        ("call:accept", {}, "call_id"),
        ("call:accept", {"call_id": "12345"}, "call_id"),
        ("call:accept", {"call_id": None}, "call_id"),
        ("call:accept", None, None),
        ("call:decline", {"call_id": 7}, "call_id"),
        ("call:cancel", {"call_id": [UNKNOWN_ID]}, "call_id"),
        ("call:hangup", {"call_id": UNKNOWN_ID, "reason": "bye"}, "reason"),
        ("call:hangup", [UNKNOWN_ID], None),
        ("call:resume", {"call_id": True}, "call_id"),
        ("call:resume", {"callid": UNKNOWN_ID}, None),
    ],
)
async def test_invalid_payloads_are_refused_and_the_connection_goes_on(
    pair: Pair, event: str, payload: Any, field_name: str | None
) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    ack = await mentor.call(event, payload)
    refused(ack, "invalid_request")
    if field_name is not None:
        assert field_name in ack["error"]["message"], ack
    await asyncio.sleep(SETTLE)
    assert events_of(mentee, "call:incoming") == []
    # Nothing was started, and the connection still works.
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True


async def test_after_the_pairing_ends_nobody_may_call(pair: Pair) -> None:
    status, body = await pair.api.call("DELETE", f"/api/pairings/{pair.pairing_id}", pair.admin)
    assert status == 200, body
    assert await statuses(pair.api, pair.mentor) == {}
    assert await statuses(pair.api, pair.mentee) == {}
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    refused(await mentor.call("call:invite", {"user_id": pair.mentee.user_id}), "not_authorized")
    refused(await mentee.call("call:invite", {"user_id": pair.mentor.user_id}), "not_authorized")
    await asyncio.sleep(SETTLE)
    assert events_of(mentee, "call:incoming") == []
    assert await calls_of(pair.api, pair.mentor.token) == []

    # Paired again (a new pairing), they may call once more.
    again = await pair.pair_up(pair.mentor, pair.mentee)
    status, body = await pair.api.call("GET", "/api/contacts", pair.mentor.token)
    assert [(c["user_id"], c["pairing_id"]) for c in body["contacts"]] == [(pair.mentee.user_id, again)]
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)


# --- Records -------------------------------------------------------------------------------------------------------


async def test_calls_are_listed_newest_first_with_outcomes_and_duration(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)

    declined = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", declined)
    await mentee.call("call:decline", {"call_id": declined})
    await of_call(mentor, "call:ended", declined)

    cancelled = await invite(mentee, pair.mentor)  # either side of the pairing may call
    await of_call(mentor, "call:incoming", cancelled)
    await mentee.call("call:cancel", {"call_id": cancelled})
    await of_call(mentor, "call:ended", cancelled)

    talked = await answered(mentor, mentee, pair.mentee)
    await mentor.call("call:hangup", {"call_id": talked})
    await of_call(mentee, "call:ended", talked)

    ringing = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", ringing)

    calls = await calls_of(pair.api, pair.mentor.token)
    assert [c["id"] for c in calls] == [ringing, talked, cancelled, declined]
    for record in calls:
        assert set(record) == {
            "id",
            "caller_id",
            "callee_id",
            "outcome",
            "invited_at",
            "answered_at",
            "ended_at",
            "duration_seconds",
        }, record
        assert isinstance(record["invited_at"], str)
    by_id = {c["id"]: c for c in calls}
    mentor_id, mentee_id = pair.mentor.user_id, pair.mentee.user_id
    assert [(c["caller_id"], c["callee_id"], c["outcome"]) for c in calls] == [
        (mentor_id, mentee_id, None),
        (mentor_id, mentee_id, "hangup"),
        (mentee_id, mentor_id, "cancelled"),
        (mentor_id, mentee_id, "declined"),
    ]
    assert (by_id[ringing]["answered_at"], by_id[ringing]["ended_at"], by_id[ringing]["duration_seconds"]) == (
        None,
        None,
        None,
    )
    talk = by_id[talked]
    assert talk["answered_at"] is not None
    assert talk["ended_at"] is not None
    assert isinstance(talk["duration_seconds"], int | float)
    assert not isinstance(talk["duration_seconds"], bool)
    assert 0 <= talk["duration_seconds"] < 60
    for unanswered in (declined, cancelled):
        assert by_id[unanswered]["answered_at"] is None
        assert by_id[unanswered]["ended_at"] is not None
        assert by_id[unanswered]["duration_seconds"] is None

    # The other side sees the same calls, a stranger none; an administrator may look at anyone's.
    assert [c["id"] for c in await calls_of(pair.api, pair.mentee.token)] == [ringing, talked, cancelled, declined]
    assert await calls_of(pair.api, pair.outsider.token) == []
    assert [c["id"] for c in await calls_of(pair.api, pair.mentor.token, "?limit=2")] == [ringing, talked]
    assert [c["id"] for c in await calls_of(pair.api, pair.admin, f"?user_id={mentor_id}")] == [
        ringing,
        talked,
        cancelled,
        declined,
    ]
    for bad in ("?limit=0", "?limit=201", "?limit=ten"):
        status, body = await pair.api.call("GET", f"/api/calls{bad}", pair.mentor.token)
        assert status == 400, (bad, body)
        assert body["error"]["code"] == "invalid_request"
    status, body = await pair.api.call("GET", "/api/calls")
    assert status == 401
    # Without user_id, an administrator's list is their own calls, like everyone's: none here.
    assert await calls_of(pair.api, pair.admin) == []


async def test_calls_ending_at_the_same_moment_are_all_recorded(pair: Pair) -> None:
    couples = [(pair.mentor, pair.mentee)]
    for n in range(5):
        mentor = await pair.person(f"mentor{n}@example.org", "mentor", f"Mentor {n}")
        mentee = await pair.person(f"mentee{n}@example.org", "participant", f"Mentee {n}")
        await pair.pair_up(mentor, mentee)
        couples.append((mentor, mentee))
    live = []
    for n, (mentor, mentee) in enumerate(couples):
        caller = await pair.connect(mentor)
        callee = await pair.connect(mentee)
        if n % 2 == 0:
            call_id = await answered(caller, callee, mentee)
        else:
            call_id = await invite(caller, mentee)
            await of_call(callee, "call:incoming", call_id)
        live.append((caller, callee, call_id))
    # Every call ends at once: the answered ones hung up, the ringing ones by their caller's connection closing.
    await asyncio.gather(
        *(
            caller.call("call:hangup", {"call_id": call_id}) if n % 2 == 0 else caller.close()
            for n, (caller, _, call_id) in enumerate(live)
        )
    )
    expected = {n: "hangup" if n % 2 == 0 else "connection_lost" for n in range(len(live))}
    for n, (_, callee, call_id) in enumerate(live):
        assert await of_call(callee, "call:ended", call_id) == {"call_id": call_id, "reason": expected[n]}
    # Each record has its outcome.
    for n, ((mentor, _), (_, _, call_id)) in enumerate(zip(couples, live, strict=True)):
        (record,) = await calls_of(pair.api, mentor.token)
        assert (record["id"], record["outcome"]) == (call_id, expected[n]), record
        assert record["ended_at"] is not None, record
    status, body = await pair.api.call("GET", "/api/audit?limit=500", pair.admin)
    assert status == 200, body
    assert len([e for e in body["entries"] if e["action"] == "call.end"]) == len(live)


async def test_calls_are_audited_without_any_content(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    stranger = await pair.connect(pair.outsider)
    refused(await stranger.call("call:invite", {"user_id": pair.mentor.user_id}), "not_authorized")

    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)
    refused(await stranger.call("call:accept", {"call_id": call_id}), "not_authorized")
    assert (await mentee.call("call:accept", {"call_id": call_id}))["ok"] is True
    marker = "sdp-marker-that-must-never-be-stored"
    await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER + f"a={marker}\r\n"})
    await mentee.next("rtc:signal")
    assert await mentor.call("call:hangup", {"call_id": call_id}) == {"ok": True}
    await of_call(mentee, "call:ended", call_id)

    status, body = await pair.api.call("GET", "/api/audit?limit=500", pair.admin)
    assert status == 200, body
    rows = [e for e in body["entries"] if e["action"].startswith("call.")]

    def named(action: str, actor: str) -> list[dict[str, Any]]:
        return [e for e in rows if e["action"] == action and e["actor_id"] == actor]

    # As with the room rows of section 7.3, an outcome is "success" or the state reached, and a refusal's is its
    # refusal ("denied", or the code that was answered).
    refusal = {"denied", "failure", "not_authorized"}
    assert [e["outcome"] for e in named("call.invite", pair.mentor.user_id)] in (["success"], ["ringing"])
    (denied_invite,) = named("call.invite", pair.outsider.user_id)
    assert denied_invite["outcome"] in refusal
    assert [e["outcome"] for e in named("call.accept", pair.mentee.user_id)] in (["success"], ["accepted"])
    (denied_accept,) = named("call.accept", pair.outsider.user_id)
    assert denied_accept["outcome"] in refusal
    assert [e["outcome"] for e in named("call.hangup", pair.mentor.user_id)] in (["success"], ["hangup"])
    (end,) = [e for e in rows if e["action"] == "call.end"]
    # call.end carries the reason, as its outcome or in its detail.
    assert end["outcome"] == "hangup" or (end["detail"] or {}).get("reason") == "hangup", end

    dumped = json.dumps(rows)
    assert marker not in dumped
    assert "v=0" not in dumped
    assert "@example.org" not in dumped


async def test_decline_cancel_resume_and_refused_acts_are_audited(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    declined = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", declined)
    refused(await mentor.call("call:accept", {"call_id": declined}), "conflict")
    assert await mentee.call("call:decline", {"call_id": declined}) == {"ok": True}
    await of_call(mentor, "call:ended", declined)

    cancelled = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", cancelled)
    assert await mentor.call("call:cancel", {"call_id": cancelled}) == {"ok": True}
    await of_call(mentee, "call:ended", cancelled)

    resumed = await answered(mentor, mentee, pair.mentee)
    await mentee.close()
    await of_call(mentor, "call:reconnecting", resumed)
    back = await pair.connect(pair.mentee, name="pat-back")
    assert (await back.call("call:resume", {"call_id": resumed}))["ok"] is True
    await of_call(mentor, "call:resumed", resumed)

    status, body = await pair.api.call("GET", "/api/audit?limit=500", pair.admin)
    assert status == 200, body
    rows = [e for e in body["entries"] if e["action"].startswith("call.")]

    def outcomes(action: str, actor: str) -> list[str]:
        return [e["outcome"] for e in rows if e["action"] == action and e["actor_id"] == actor]

    assert outcomes("call.decline", pair.mentee.user_id) in (["success"], ["declined"])
    assert outcomes("call.cancel", pair.mentor.user_id) in (["success"], ["cancelled"])
    assert outcomes("call.resume", pair.mentee.user_id) in (["success"], ["resumed"])
    # The caller's refused accept has its row too.
    (refused_accept,) = outcomes("call.accept", pair.mentor.user_id)
    assert refused_accept in {"denied", "failure", "conflict"}
    ends = [e for e in rows if e["action"] == "call.end"]
    reasons = sorted(e["outcome"] if e["outcome"] != "success" else (e["detail"] or {}).get("reason") for e in ends)
    assert reasons == ["cancelled", "declined"]


TURN_ENV = {
    "HAVEN_STUN_URLS": "stun:stun.example.org:3478",
    "HAVEN_TURN_URLS": "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349?transport=tcp",
    "HAVEN_TURN_SECRET": TURN_SECRET,
    "HAVEN_TURN_TTL_SECONDS": "600",
    "HAVEN_ICE_POLICY": "relay",
}


def check_turn(media: dict[str, Any]) -> None:
    check_media(media, policy="relay")
    servers = media["ice_servers"]

    def urls(server: dict[str, Any]) -> list[str]:
        return [server["urls"]] if isinstance(server["urls"], str) else list(server["urls"])

    assert any("stun:stun.example.org:3478" in urls(s) for s in servers), servers
    (turn,) = [s for s in servers if any(u.startswith(("turn:", "turns:")) for u in urls(s))]
    assert set(urls(turn)) == {"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"}
    expiry, opaque = turn["username"].split(":")
    assert opaque
    assert abs(int(expiry) - (time.time() + 600)) < 60
    expected = base64.b64encode(hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest())
    assert turn["credential"] == expected.decode()


@pytest.mark.parametrize("extra_env", [TURN_ENV])
async def test_media_names_the_configured_turn_relay_and_the_ice_policy(pair: Pair, extra_env: dict[str, str]) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    ack = await mentor.call("call:invite", {"user_id": pair.mentee.user_id})
    assert ack["ok"] is True, ack
    check_turn(ack["media"])
    await of_call(mentee, "call:incoming", ack["call_id"])
    accept = await mentee.call("call:accept", {"call_id": ack["call_id"]})
    assert accept["ok"] is True, accept
    check_turn(accept["media"])


async def test_ending_a_pairing_ends_the_pairs_call_in_progress(pair: Pair) -> None:
    """A program that ends a pairing (a boundary crossed, a mentor leaving) ends the pair's call with it."""
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await answered(mentor, mentee, pair.mentee)
    status, body = await pair.api.call("DELETE", f"/api/pairings/{pair.pairing_id}", pair.admin)
    assert status == 200, body
    for side in (mentor, mentee):
        assert await of_call(side, "call:ended", call_id) == {"call_id": call_id, "reason": "hangup"}
    refused(await mentor.call("rtc:signal", {"to": mentee.sid, "type": "offer", "sdp": OFFER}), "not_authorized")
    refused(await mentor.call("call:invite", {"user_id": pair.mentee.user_id}), "not_authorized")
    (record,) = await calls_of(pair.api, pair.mentor.token)
    assert (record["id"], record["outcome"]) == (call_id, "hangup")


async def test_looking_at_someone_elses_calls_is_for_administrators_and_is_audited(pair: Pair) -> None:
    mentor = await pair.connect(pair.mentor)
    mentee = await pair.connect(pair.mentee)
    call_id = await invite(mentor, pair.mentee)
    await of_call(mentee, "call:incoming", call_id)

    status, body = await pair.api.call("GET", f"/api/calls?user_id={pair.mentor.user_id}", pair.mentee.token)
    assert (status, body["error"]["code"]) == (403, "not_authorized")
    status, body = await pair.api.call("GET", "/api/calls?user_id=not-a-uuid", pair.admin)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "user_id" in body["error"]["message"]

    status, body = await pair.api.call("GET", "/api/audit?limit=50", pair.admin)
    assert status == 200, body
    assert not [e for e in body["entries"] if e["action"] == "calls.view"]
    assert [c["id"] for c in await calls_of(pair.api, pair.admin, f"?user_id={pair.mentee.user_id}")] == [call_id]
    status, body = await pair.api.call("GET", "/api/audit?limit=50", pair.admin)
    (look,) = [e for e in body["entries"] if e["action"] == "calls.view"]
    assert (look["target_type"], look["target_id"]) == ("user", pair.mentee.user_id)
