"""Access on live connections (docs/protocol.md 7.7), on one node over each database and live-state store.

Written from the protocol alone: Socket.IO's reserved event names and malformed packets refused without touching
the connection; a connection that lives no longer than its token unless refreshed; an administrator's changes
(disabling an account, a new password, a new role, removing a member, archiving a group, new group settings,
ending a pairing) reaching the open connections at once; ICE candidates rate-limited apart; strikes that decay;
ICE servers on request."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import socketio
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.tokens import issue_token
from tests.conftest import TEST_SECRET, make_settings
from tests.realtime.conftest import Cohort, Person, make_cohort
from tests.support.api import Api
from tests.support.raw_socket import RawSocketIO
from tests.support.realtime import WAIT, Peer

# The protocol gives a live change one second on every node; a loaded test machine gets some slack on top.
LIVE_BOUND = 3.0
# Time to let in-flight events land before checking that something did NOT happen.
SETTLE = 0.5
CANDIDATE = {
    "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 0.0.0.0 rport 0",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "a1b2",
}
OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"


# --- Helpers ------------------------------------------------------------------------------------------------------


def refused(ack: Any, code: str) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert isinstance(ack["error"]["message"], str), ack
    assert ack["error"]["message"], ack


def instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def token_for(person: Person, seconds: int, now: datetime | None = None) -> tuple[str, datetime]:
    """A valid token for ``person`` (as sign-in issues it to an account whose password never changed) that expires
    ``seconds`` after ``now``."""
    return issue_token(uuid.UUID(person.user_id), TEST_SECRET, seconds, now or datetime.now(UTC))


def expiry_of(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


def issued_of(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["iat"])


async def arrival(peer: Peer, event: str, within: float = LIVE_BOUND) -> Any:
    """The next ``event`` on this connection, failing plainly when none comes within the bound."""
    try:
        return await peer.next(event, within=within)
    except TimeoutError:
        raise AssertionError(f"{peer.name}: no {event} within {within:.1f} s") from None


async def closed(peer: Peer, within: float = LIVE_BOUND) -> None:
    """Wait (bounded) until the server has closed this connection."""
    try:
        async with asyncio.timeout(within):
            while peer.client.connected:
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{peer.name}: still connected after {within:.1f} s") from None


async def ended(peer: Peer, code: str, within: float = LIVE_BOUND) -> None:
    """``session:ended`` with ``code`` arrives within the bound, then the server closes the connection."""
    notice = await arrival(peer, "session:ended", within)
    assert set(notice) == {"code", "message"}, notice
    assert notice["code"] == code, notice
    assert isinstance(notice["message"], str)
    assert notice["message"]
    await closed(peer)


async def refused_at_connect(url: str, token: str, code: str) -> None:
    peer = Peer("refused")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(url, token)
    finally:
        await peer.close()
    assert peer.connect_error["data"]["code"] == code, peer.connect_error


async def next_about(peer: Peer, event: str, field: str, value: str, within: float = LIVE_BOUND) -> dict[str, Any]:
    """The next ``event`` on this connection whose ``field`` is ``value`` (others of the name are skipped)."""
    deadline = time.monotonic() + within
    while True:
        data = await arrival(peer, event, max(0.0, deadline - time.monotonic()))
        if data.get(field) == value:
            return dict(data)


async def left(peer: Peer, user_id: str) -> dict[str, Any]:
    """The next ``room:participant_left`` about ``user_id`` on this connection."""
    return await next_about(peer, "room:participant_left", "user_id", user_id)


async def admitted(cohort: Cohort, fac: Peer, person: Person) -> Peer:
    """``person`` in the room, let in from the lobby by the facilitator if the group has one."""
    peer, ack = await cohort.enter(person)
    if ack["status"] == "waiting":
        assert await fac.call("room:admit", {"room_id": cohort.group_id, "user_id": person.user_id}) == {"ok": True}
        await peer.next("room:admitted")
    return peer


async def pair_with_mentor(cohort: Cohort, mentee: Person, tag: str = "") -> tuple[Person, str]:
    """A mentor account paired with ``mentee``; the mentor and the pairing's id."""
    mentor_id, token = await cohort.api.user(cohort.admin, f"{tag}mentor@example.org", "mentor", "Morgan")
    status, body = await cohort.api.call(
        "POST", "/api/pairings", cohort.admin, {"mentor_id": mentor_id, "mentee_id": mentee.user_id}
    )
    assert status == 201, body
    return Person(mentor_id, token, "Morgan"), str(body["id"])


async def answered_call(caller: Peer, callee: Peer, callee_person: Person) -> str:
    ack = await caller.call("call:invite", {"user_id": callee_person.user_id})
    assert ack["ok"] is True, ack
    assert ack["state"] == "ringing", ack
    call_id = str(ack["call_id"])
    while (await callee.next("call:incoming"))["call_id"] != call_id:
        pass
    assert (await callee.call("call:accept", {"call_id": call_id}))["ok"] is True
    while (await caller.next("call:accepted"))["call_id"] != call_id:
        pass
    return call_id


async def call_ended(peer: Peer, call_id: str) -> dict[str, Any]:
    return await next_about(peer, "call:ended", "call_id", call_id)


class Raw:
    """A hand-made Socket.IO connection for frames the official clients will not send. Its reads block, so they
    run in a thread while the server goes on in the test's loop."""

    def __init__(self, sock: RawSocketIO, sid: str) -> None:
        self.sock = sock
        self.sid = sid
        self._next_id = 100

    @classmethod
    async def open(cls, client: TestClient, token: str) -> Raw:
        sock = await asyncio.to_thread(RawSocketIO, client.server.port)
        sid = await asyncio.to_thread(sock.handshake, token)
        return cls(sock, sid)

    async def send(self, *frames: str) -> None:
        """Engine.IO messages as text (``4`` then a Socket.IO packet), back to back."""

        def send_all() -> None:
            for frame in frames:
                self.sock.send_text(frame)

        await asyncio.to_thread(send_all)

    def ack_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def answers(self, *ack_ids: int) -> dict[int, list[Any]]:
        return await asyncio.to_thread(self.sock.acks, *ack_ids)

    async def answer(self, ack_id: int) -> Any:
        """The acknowledgement's one argument (None when the server acknowledged with nothing)."""
        arguments = (await self.answers(ack_id))[ack_id]
        return arguments[0] if arguments else None

    async def call(self, event: str, payload: Any) -> Any:
        ack_id = self.ack_id()
        await self.send(f"42{ack_id}" + json.dumps([event, payload]))
        return await self.answer(ack_id)

    async def event(self, name: str) -> Any:
        return await asyncio.to_thread(self.sock.event, name)

    async def closes(self, within: float = LIVE_BOUND) -> bool:
        """Whether the server closes the connection within ``within`` seconds (what it sends is discarded)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.sock.is_closed):
                return True
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sock.shutdown(socket.SHUT_RDWR)  # wakes a read still waiting in its thread
        self.sock.close()


@pytest.fixture
def raws() -> Iterator[list[Raw]]:
    opened: list[Raw] = []
    yield opened
    for raw in opened:
        raw.close()


async def raw_member_in_room(cohort: Cohort, client: TestClient, fac: Peer, person: Person, raws: list[Raw]) -> Raw:
    """``person`` on a raw connection, let into the group's room."""
    raw = await Raw.open(client, person.token)
    raws.append(raw)
    ack = await raw.call("room:join", {"room_id": cohort.group_id})
    assert ack["ok"] is True, ack
    if ack["status"] == "waiting":
        assert await fac.call("room:admit", {"room_id": cohort.group_id, "user_id": person.user_id}) == {"ok": True}
        assert (await raw.event("room:admitted"))["status"] == "joined"
    return raw


async def still_in_room(cohort: Cohort, raw: Raw, person: Person, fac: Peer) -> None:
    """The raw connection is in the room as before: it acts there, the roster lists it, room events reach it."""
    room = {"room_id": cohort.group_id}
    assert await raw.call("hand:raise", room) == {"ok": True}
    queue = await fac.next("hand:queue")
    assert queue == {"room_id": cohort.group_id, "queue": [person.user_id]}
    _, entry = await cohort.enter(cohort.co_facilitator)
    assert entry["status"] == "joined", entry
    listed = {p["user_id"]: p for p in entry["room"]["participants"]}
    assert person.user_id in listed, listed
    assert listed[person.user_id]["connected"] is True
    assert listed[person.user_id]["peer_id"] == raw.sid
    assert await fac.call("room:lock", {**room, "locked": True}) == {"ok": True}
    assert await raw.event("room:locked") == {"room_id": cohort.group_id, "locked": True}
    gone = [d for e, d in fac.log if e == "room:participant_left" and d.get("user_id") == person.user_id]
    assert gone == []
    dropped = [
        d
        for e, d in fac.log
        if e == "room:participant_updated"
        and d["participant"]["user_id"] == person.user_id
        and not d["participant"]["connected"]
    ]
    assert dropped == []


async def signed_in_as(peer: Peer, cohort: Cohort, person: Person) -> None:
    """The connection acts as ``person``: the group's room takes them (to its lobby) and names them."""
    ack = await peer.call("room:join", {"room_id": cohort.group_id})
    assert ack["ok"] is True, ack
    assert ack["self"]["user_id"] == person.user_id, ack


# --- Socket.IO's reserved names ----------------------------------------------------------------------------------


async def test_reserved_event_names_are_refused_and_change_nothing(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    raw = await raw_member_in_room(cohort, client, fac, person, raws)
    token = json.dumps({"token": person.token})
    asked = {
        "disconnect": '["disconnect"]',
        "disconnect with a reason": '["disconnect","client namespace disconnect"]',
        "connect with a token": f'["connect",{{}},{token}]',
        "connect_error": '["connect_error",{"message":"x","data":{"code":"not_authenticated"}}]',
        "disconnecting": '["disconnecting"]',
        "message": '["message","hello"]',
        "newListener": '["newListener","room:locked"]',
        "removeListener": '["removeListener","room:locked"]',
        "error": '["error",{}]',
    }
    ids = {what: raw.ack_id() for what in asked}
    # The same names with no acknowledgement asked: nothing to answer, and still nothing changes.
    await raw.send(
        '42["disconnect"]',
        f'42["connect",{{}},{token}]',
        '42["disconnecting","transport close"]',
        *(f"42{ids[what]}{frame}" for what, frame in asked.items()),
    )
    answers = await raw.answers(*ids.values())
    for what, ack_id in ids.items():
        assert len(answers[ack_id]) == 1, (what, answers[ack_id])
        refused(answers[ack_id][0], "invalid_request")
    await still_in_room(cohort, raw, person, fac)


async def test_a_fake_disconnect_does_not_free_a_connection_slot(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    person = cohort.participants[0]
    for _ in range(5):  # HAVEN_MAX_CONNECTIONS_PER_USER, default 5
        raws.append(await Raw.open(client, person.token))
    answers = []
    for raw in raws:
        ack_id = raw.ack_id()
        await raw.send(f'42{ack_id}["disconnect"]')
        answers.append(await raw.answer(ack_id))
    await refused_at_connect(cohort.url, person.token, "rate_limited")
    for answer in answers:
        refused(answer, "invalid_request")

    # Closing one for real does free a slot.
    raws.pop().close()
    async with asyncio.timeout(LIVE_BOUND):
        while True:
            peer = Peer("sixth")
            try:
                await peer.connect(cohort.url, person.token)
                break
            except socketio.exceptions.ConnectionError:
                await asyncio.sleep(0.1)
    cohort.peers.append(peer)


async def test_a_fake_connect_does_not_give_a_fresh_rate_limit(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    person = cohort.participants[0]
    raw = await Raw.open(client, person.token)
    raws.append(raw)
    raise_hand = json.dumps(["hand:raise", {"room_id": cohort.group_id}])  # not in the room: not_in_room if allowed
    flood = [raw.ack_id() for _ in range(60)]  # the whole burst allowed: this empties the allowance
    fake = raw.ack_id()
    token = json.dumps({"token": person.token})
    await raw.send(*(f"42{i}{raise_hand}" for i in flood), f'42{fake}["connect",{{}},{token}]')
    answers = await raw.answers(*flood, fake)
    # Right after the fake connect was answered: an emptied allowance refills at 20 a second, so 18 requests cannot
    # all pass; a fresh allowance (bursts of 60) would let them all through. (At most 19 strikes: still connected.)
    after = [raw.ack_id() for _ in range(18)]
    await raw.send(*(f"42{i}{raise_hand}" for i in after))
    later = await raw.answers(*after)
    codes_after = [later[i][0]["error"]["code"] for i in after]
    assert "rate_limited" in codes_after, codes_after
    assert set(codes_after) <= {"rate_limited", "not_in_room"}, codes_after
    refused(answers[fake][0] if answers[fake] else None, "invalid_request")


async def test_a_fake_connect_cannot_put_a_connection_in_two_places(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    raw = await raw_member_in_room(cohort, client, fac, person, raws)
    other = await make_cohort(cohort.api, cohort.admin, cohort.url, participants=0, tag="b-", lobby_enabled=False)
    await cohort.api.enrol(cohort.admin, other.group_id, person.user_id, "participant")
    other_fac, _ = await other.enter(other.facilitator)
    cohort.peers.extend(other.peers)
    mentor, _ = await pair_with_mentor(cohort, person)
    mentor_peer = await cohort.connect(mentor)

    fake = raw.ack_id()
    await raw.send(f'42{fake}["connect",{{}},{json.dumps({"token": person.token})}]')
    answer = await raw.answer(fake)
    refused(await raw.call("room:join", {"room_id": other.group_id}), "conflict")
    refused(await raw.call("call:invite", {"user_id": mentor.user_id}), "conflict")
    refused(answer, "invalid_request")
    await asyncio.sleep(SETTLE)
    joined = [d["participant"]["user_id"] for e, d in other_fac.log if e == "room:participant_joined"]
    waiting = [w["user_id"] for e, d in other_fac.log if e == "room:lobby" for w in d["waiting"]]
    assert person.user_id not in joined + waiting
    assert [e for e, _ in mentor_peer.log if e == "call:incoming"] == []
    await still_in_room(cohort, raw, person, fac)


async def test_a_client_that_keeps_sending_reserved_names_is_disconnected(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    raw = await Raw.open(client, cohort.participants[0].token)
    raws.append(raw)
    # Each counts as a strike; past 20 standing strikes the connection is closed.
    await raw.send(*(['42["disconnect"]'] * 25))
    assert await raw.closes()


# --- Malformed packets -----------------------------------------------------------------------------------------------


def nested(depth: int) -> Any:
    payload: Any = {"room_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"}
    for _ in range(depth):
        payload = {"x": payload}
    return payload


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param('[5,{"room_id":"6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"}]', id="number-name"),
        pytest.param("[null,{}]", id="null-name"),
        pytest.param('[["hand:raise"],{}]', id="list-name"),
        pytest.param('[{"event":"hand:raise"},{}]', id="object-name"),
        pytest.param(json.dumps(["room:join", nested(100)]), id="nested-100-deep"),
        pytest.param(json.dumps(["no:such:event", nested(100)]), id="nested-100-deep-unknown-name"),
    ],
)
async def test_malformed_events_are_invalid_and_the_connection_goes_on(
    cohort: Cohort, client: TestClient, raws: list[Raw], packet: str
) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    raw = await raw_member_in_room(cohort, client, fac, person, raws)
    ack_id = raw.ack_id()
    await raw.send(f"42{ack_id}{packet}")
    refused(await raw.answer(ack_id), "invalid_request")
    await still_in_room(cohort, raw, person, fac)


async def test_a_binary_event_is_invalid_and_the_connection_goes_on(
    cohort: Cohort, client: TestClient, raws: list[Raw]
) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    raw = await raw_member_in_room(cohort, client, fac, person, raws)
    conversation = f"room:{cohort.group_id}"
    ack_id = raw.ack_id()
    # A binary event with one attachment (Socket.IO type 5), its body sent as the next, binary, message.
    body = {"conversation": conversation, "body": {"_placeholder": True, "num": 0}, "client_id": "bin-1"}
    await raw.send(f"451-{ack_id}" + json.dumps(["chat:send", body]))
    await asyncio.to_thread(raw.sock.send_binary, b"hello as bytes")
    refused(await raw.answer(ack_id), "invalid_request")
    # Nothing was stored or delivered.
    history = await fac.call("chat:history", {"conversation": conversation})
    assert history["messages"] == [], history
    assert [e for e, _ in fac.log if e == "chat:message"] == []
    await still_in_room(cohort, raw, person, fac)


# --- Token lifetime --------------------------------------------------------------------------------------------------

TOKEN_SECONDS = 6


async def short_lived(cohort: Cohort, person: Person, name: str) -> tuple[Peer, str]:
    """A connection of ``person`` on a token that lives TOKEN_SECONDS, and the token."""
    token, _ = token_for(person, TOKEN_SECONDS)
    peer = Peer(name)
    await peer.connect(cohort.url, token)
    cohort.peers.append(peer)
    return peer, token


async def test_a_connection_ends_when_its_token_expires(cohort: Cohort) -> None:
    person = cohort.participants[0]
    peer, token = await short_lived(cohort, person, "short-lived")
    issued, expires = issued_of(token), expiry_of(token)

    # Warned halfway through a life shorter than two minutes, before the end.
    warning = await arrival(peer, "session:expiring", expires - time.time())
    warned_at = time.time()
    assert set(warning) == {"expires_at"}, warning
    assert instant(warning["expires_at"]).timestamp() == expires
    assert warned_at < expires
    assert warned_at >= issued + (expires - issued) / 2 - 1, "warned long before halfway"

    await ended(peer, "token_expired", within=expires - time.time() + LIVE_BOUND)
    assert time.time() >= expires - 0.5, "ended before the token expired"
    assert [e for e, _ in peer.log].count("session:expiring") == 1


async def test_a_refreshed_connection_outlives_its_first_token(cohort: Cohort) -> None:
    person = cohort.participants[0]
    peer, token = await short_lived(cohort, person, "refreshing")
    first_expiry = expiry_of(token)
    await arrival(peer, "session:expiring", first_expiry - time.time())

    fresh, _ = token_for(person, 600)
    ack = await peer.call("session:refresh", {"token": fresh})
    assert set(ack) == {"ok", "expires_at"}, ack
    assert ack["ok"] is True
    assert instant(ack["expires_at"]).timestamp() == expiry_of(fresh)

    # Past the first token's expiry (and the slack the server would need to act on it): still connected.
    await asyncio.sleep(first_expiry - time.time() + LIVE_BOUND)
    assert peer.client.connected
    assert [e for e, _ in peer.log if e == "session:ended"] == []
    await signed_in_as(peer, cohort, person)


async def test_a_refused_refresh_changes_nothing(cohort: Cohort) -> None:
    person = cohort.participants[0]
    peer, token = await short_lived(cohort, person, "refused-refresh")
    expires = expiry_of(token)

    past = datetime.now(UTC) - timedelta(hours=1)
    forged = jwt.encode(
        {
            **jwt.decode(token_for(person, 600)[0], options={"verify_signature": False}),
            "jti": "forged",
        },
        "another-secret-" + "y" * 40,
        algorithm="HS256",
    )
    not_valid = {
        "another account's token": cohort.outsider.token,
        "garbage": "not-a-token",
        "expired": token_for(person, 60, now=past)[0],
        "forged": forged,
    }
    for what, candidate in not_valid.items():
        ack = await peer.call("session:refresh", {"token": candidate})
        assert ack.get("ok") is False, (what, ack)
        refused(ack, "not_authenticated")
    # Still the same account (the outsider is no member of the group)...
    await signed_in_as(peer, cohort, person)
    # ...and the same expiry.
    await ended(peer, "token_expired", within=expires - time.time() + LIVE_BOUND)


# --- An administrator's changes reach live connections ------------------------------------------------------------


async def test_disabling_an_account_closes_its_connections_and_its_place_in_the_room(cohort: Cohort) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, person)
    other_device = await cohort.connect(person)
    other = await admitted(cohort, fac, cohort.participants[1])

    status, body = await cohort.api.call("PATCH", f"/api/users/{person.user_id}", cohort.admin, {"disabled": True})
    assert status == 200, body
    for peer in (member, other_device):
        await ended(peer, "account_disabled")
    for peer in (fac, other):
        assert await left(peer, person.user_id) == {
            "room_id": cohort.group_id,
            "user_id": person.user_id,
            "reason": "left",
        }
    await refused_at_connect(cohort.url, person.token, "not_authenticated")
    assert fac.client.connected
    assert other.client.connected


async def test_disabling_an_account_ends_its_call(cohort: Cohort) -> None:
    mentee = cohort.participants[0]
    mentor, _ = await pair_with_mentor(cohort, mentee)
    mentor_peer = await cohort.connect(mentor)
    mentee_peer = await cohort.connect(mentee)
    call_id = await answered_call(mentor_peer, mentee_peer, mentee)

    status, body = await cohort.api.call("PATCH", f"/api/users/{mentee.user_id}", cohort.admin, {"disabled": True})
    assert status == 200, body
    await ended(mentee_peer, "account_disabled")
    assert await call_ended(mentor_peer, call_id) == {"call_id": call_id, "reason": "hangup"}


async def test_a_new_password_signs_every_connection_out_and_retires_the_old_token(cohort: Cohort) -> None:
    person = cohort.participants[0]
    peer = await cohort.connect(person)
    status, body = await cohort.api.call(
        "PATCH", f"/api/users/{person.user_id}", cohort.admin, {"password": "a-brand-new-password"}
    )
    assert status == 200, body
    await ended(peer, "signed_out")

    status, body = await cohort.api.call("GET", "/api/me", person.token)
    assert status == 401, body
    assert body["error"]["code"] == "not_authenticated"
    await refused_at_connect(cohort.url, person.token, "not_authenticated")
    # A token issued now, with the new password, works.
    fresh = await cohort.api.login("p0@example.org", "a-brand-new-password")
    assert (await cohort.api.call("GET", "/api/me", fresh))[0] == 200
    again = Peer("again")
    await again.connect(cohort.url, fresh)
    cohort.peers.append(again)


async def test_a_new_role_ends_the_connection_and_applies_on_the_next(cohort: Cohort) -> None:
    person = cohort.participants[0]
    peer = await cohort.connect(person)
    status, body = await cohort.api.call("PATCH", f"/api/users/{person.user_id}", cohort.admin, {"role": "mentor"})
    assert status == 200, body
    await ended(peer, "role_changed")
    again = await cohort.connect(person)  # the token is still good
    assert again.client.connected


async def test_a_member_removed_from_the_group_leaves_its_live_room_and_chat(cohort: Cohort) -> None:
    person = cohort.participants[0]
    room = {"room_id": cohort.group_id}
    conversation = f"room:{cohort.group_id}"
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, person)
    other = await admitted(cohort, fac, cohort.participants[1])
    assert (await member.call("chat:send", {"conversation": conversation, "body": "hi", "client_id": "c1"}))["ok"]

    status, body = await cohort.api.call(
        "DELETE", f"/api/groups/{cohort.group_id}/members/{person.user_id}", cohort.admin
    )
    assert status == 204, body
    for peer in (fac, other):
        assert await left(peer, person.user_id) == {
            "room_id": cohort.group_id,
            "user_id": person.user_id,
            "reason": "removed",
        }
    assert await arrival(member, "room:removed") == room

    still = {"conversation": conversation, "body": "still?", "client_id": "c2"}
    refused(await member.call("chat:send", still), "not_authorized")
    refused(await member.call("chat:history", {"conversation": conversation}), "not_authorized")
    refused(await member.call("room:join", room), "not_authorized")
    refused(await member.call("rtc:signal", {"to": other.sid, "type": "offer", "sdp": OFFER}), "not_authorized")
    await asyncio.sleep(SETTLE)
    assert [d["body"] for e, d in other.log if e == "chat:message"] == ["hi"]
    assert [e for e, _ in other.log if e == "rtc:signal"] == []


async def test_a_member_removed_from_the_group_leaves_its_lobby(cohort: Cohort) -> None:
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator)
    _, ack = await cohort.enter(person)
    assert ack["status"] == "waiting"
    lobby = await fac.next("room:lobby")
    assert [w["user_id"] for w in lobby["waiting"]] == [person.user_id]

    status, body = await cohort.api.call(
        "DELETE", f"/api/groups/{cohort.group_id}/members/{person.user_id}", cohort.admin
    )
    assert status == 204, body
    lobby = await arrival(fac, "room:lobby")
    assert lobby == {"room_id": cohort.group_id, "waiting": []}
    refused(await fac.call("room:admit", {"room_id": cohort.group_id, "user_id": person.user_id}), "not_found")


async def test_archiving_a_group_ends_its_live_room(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, cohort.participants[0])
    waiting, ack = await cohort.enter(cohort.participants[1])
    assert ack["status"] == "waiting"

    status, body = await cohort.api.call("PATCH", f"/api/groups/{cohort.group_id}", cohort.admin, {"archived": True})
    assert status == 200, body
    for peer in (fac, member, waiting):
        assert await arrival(peer, "room:ended") == room
    assert (await left(fac, cohort.participants[0].user_id))["reason"] == "ended"


async def test_new_group_settings_reach_the_live_room_at_once(cohort: Cohort) -> None:
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, cohort.participants[0])

    status, body = await cohort.api.call(
        "PATCH", f"/api/groups/{cohort.group_id}", cohort.admin, {"lobby_enabled": False, "capacity": 3}
    )
    assert status == 200, body
    for peer in (fac, member):
        settings = await arrival(peer, "room:settings")
        assert settings["room_id"] == cohort.group_id
        assert settings["lobby_enabled"] is False
    # No lobby now: a participant walks in while a facilitator is present; the third place is the last.
    _, ack = await cohort.enter(cohort.participants[1])
    assert ack["status"] == "joined", ack
    _, ack = await cohort.enter(cohort.participants[2])
    refused(ack, "room_full")


async def test_ending_a_pairing_ends_its_call_and_closes_its_direct_conversation(cohort: Cohort) -> None:
    mentee = cohort.participants[0]
    mentor, pairing_id = await pair_with_mentor(cohort, mentee)
    mentor_peer = await cohort.connect(mentor)
    mentee_peer = await cohort.connect(mentee)
    to_mentee, to_mentor = f"dm:{mentee.user_id}", f"dm:{mentor.user_id}"
    sent = await mentor_peer.call("chat:send", {"conversation": to_mentee, "body": "Ready?", "client_id": "d1"})
    assert sent["ok"] is True, sent
    call_id = await answered_call(mentor_peer, mentee_peer, mentee)

    status, body = await cohort.api.call("DELETE", f"/api/pairings/{pairing_id}", cohort.admin)
    assert status == 200, body
    for peer in (mentor_peer, mentee_peer):
        assert await call_ended(peer, call_id) == {"call_id": call_id, "reason": "hangup"}
    mentee_peer.drain("chat:message")
    refused(
        await mentor_peer.call("chat:send", {"conversation": to_mentee, "body": "One more", "client_id": "d2"}),
        "not_authorized",
    )
    refused(
        await mentee_peer.call("chat:send", {"conversation": to_mentor, "body": "Bye", "client_id": "d3"}),
        "not_authorized",
    )
    await asyncio.sleep(SETTLE)
    assert mentee_peer.drain("chat:message") == []
    assert mentor_peer.drain("chat:message") == []


# --- Rate limits and strikes --------------------------------------------------------------------------------------


async def test_ice_candidates_have_an_allowance_of_their_own(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    sender, _ = await cohort.enter(cohort.facilitator)
    receiver, ack = await cohort.enter(cohort.co_facilitator)
    assert ack["status"] == "joined"
    candidate = {"to": receiver.sid, "type": "candidate", "candidate": CANDIDATE}

    acks = await asyncio.gather(*(sender.call("rtc:signal", candidate) for _ in range(150)), return_exceptions=True)
    assert acks == [{"ok": True}] * 150, [a for a in acks if a != {"ok": True}][:3]
    # The general allowance (bursts of 60) is untouched by the candidates.
    acks = await asyncio.gather(*(sender.call("hand:raise", room) for _ in range(50)), return_exceptions=True)
    assert acks == [{"ok": True}] * 50, [a for a in acks if a != {"ok": True}][:3]
    async with asyncio.timeout(WAIT):
        while len([e for e, _ in receiver.log if e == "rtc:signal"]) < 150:
            await asyncio.sleep(0.05)
    relayed = [d for e, d in receiver.log if e == "rtc:signal"]
    assert relayed[0] == {"from": sender.sid, "type": "candidate", "candidate": CANDIDATE}
    assert sender.client.connected


async def test_strikes_decay_with_time(cohort: Cohort) -> None:
    peer = await cohort.connect(cohort.participants[0])
    for _ in range(19):  # each a protocol violation: a strike
        refused(await peer.call("hand:raise", {}), "invalid_request")
    # One strike is forgiven every 10 s: after 21 s at most 17 stand, so two more leave the connection at 19.
    await asyncio.sleep(21)
    for _ in range(2):
        refused(await peer.call("hand:raise", {}), "invalid_request")
    await asyncio.sleep(SETTLE)
    assert peer.client.connected
    assert (await peer.call("rtc:ice_servers", {}))["ok"] is True
    # And past 20 standing strikes it is still disconnected.
    for _ in range(5):
        if not peer.client.connected:
            break
        try:
            await peer.client.emit("hand:raise", {})
        except socketio.exceptions.BadNamespaceError:
            break
        await asyncio.sleep(0.05)
    await closed(peer)


# --- ICE servers on request ---------------------------------------------------------------------------------------

TURN_SECRET = "turn-secret-" + "t" * 40


async def test_ice_servers_on_request_in_a_room(aiohttp_client, tmp_path: Path, database_url: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "web").mkdir(exist_ok=True)
    settings = make_settings(
        tmp_path,
        database_url,
        HAVEN_STUN_URLS="stun:stun.example.org:3478",
        HAVEN_TURN_URLS="turn:turn.example.org:3478?transport=udp",
        HAVEN_TURN_SECRET=TURN_SECRET,
        HAVEN_TURN_TTL_SECONDS="600",
    )
    client = await aiohttp_client(create_app(settings))
    api = Api(client)
    await api.create_user_directly("admin@example.org", "Admin", "admin", "admin-password")
    admin = await api.login("admin@example.org", "admin-password")
    cohort = await make_cohort(api, admin, str(client.make_url("/")), participants=1)
    try:
        fac, entry = await cohort.enter(cohort.facilitator)
        assert entry["status"] == "joined"
        ack = await fac.call("rtc:ice_servers", {})
        assert set(ack) == {"ok", "ice_servers", "ice_transport_policy"}, ack
        assert ack["ok"] is True
        assert ack["ice_transport_policy"] == "all"
        servers = ack["ice_servers"]

        def urls(server: dict[str, Any]) -> list[str]:
            return [server["urls"]] if isinstance(server["urls"], str) else list(server["urls"])

        (turn,) = [s for s in servers if any(u.startswith("turn:") for u in urls(s))]
        expiry, _ = turn["username"].split(":")
        assert abs(int(expiry) - (time.time() + 600)) < 60
        assert any("stun:stun.example.org:3478" in urls(s) for s in servers)
        refused(await fac.call("rtc:ice_servers", {"extra": 1}), "invalid_request")
    finally:
        for peer in cohort.peers:
            await peer.close()
