"""An administrator's change on one node reaches the live connections on the other (docs/protocol.md 7.7: "on every
node, within a second"): two ``haven serve`` processes on one PostgreSQL and one Redis, the administrator's REST
calls going to node A, the people concerned connected to node B."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.cluster.conftest import Cluster, urls
from tests.realtime.conftest import Person
from tests.realtime.test_calls import Pair, answered
from tests.support.realtime import Peer

# The protocol's second, with slack for two processes and a test client sharing a loaded machine.
ACROSS_NODES = 3.0


async def member_in_room(cluster: Cluster, fac: Peer, person: Person, url: str) -> Peer:
    room = {"room_id": cluster.cohort.group_id}
    peer, ack = await cluster.cohort.enter(person, url)
    assert ack["status"] == "waiting", ack  # the group has a lobby
    assert await fac.call("room:admit", {**room, "user_id": person.user_id}) == {"ok": True}
    await peer.next("room:admitted")
    return peer


@contextlib.asynccontextmanager
async def across_nodes(what: str) -> AsyncIterator[None]:
    """Bounds the whole wait, from the administrator's answer to the last effect seen."""
    try:
        async with asyncio.timeout(ACROSS_NODES):
            yield
    except TimeoutError:
        raise AssertionError(f"{what}: not seen within {ACROSS_NODES} s") from None


# Each waits without a bound of its own: ``across_nodes`` bounds the whole wait.


async def left(peer: Peer, user_id: str) -> dict[str, Any]:
    while True:
        data = await peer.received["room:participant_left"].get()
        if data.get("user_id") == user_id:
            return dict(data)


async def call_ended(peer: Peer, call_id: str) -> dict[str, Any]:
    while True:
        data = await peer.received["call:ended"].get()
        if data.get("call_id") == call_id:
            return dict(data)


async def closed(peer: Peer) -> None:
    while peer.client.connected:
        await asyncio.sleep(0.05)


async def test_an_account_disabled_on_one_node_is_disconnected_on_the_other(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    person = cohort.participants[0]
    fac, _ = await cohort.enter(cohort.facilitator, a)
    member = await member_in_room(cluster, fac, person, b)

    status, body = await cohort.api.call("PATCH", f"/api/users/{person.user_id}", cohort.admin, {"disabled": True})
    assert status == 200, body
    async with across_nodes("session:ended, the disconnect and room:participant_left"):
        notice = await member.next("session:ended")
        assert notice["code"] == "account_disabled", notice
        await closed(member)
        assert await left(fac, person.user_id) == {
            "room_id": cohort.group_id,
            "user_id": person.user_id,
            "reason": "left",
        }


async def test_a_member_removed_on_one_node_leaves_the_room_on_the_other(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    person = cohort.participants[0]
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator, a)
    member = await member_in_room(cluster, fac, person, b)
    watcher = await member_in_room(cluster, fac, cohort.participants[1], a)

    status, body = await cohort.api.call(
        "DELETE", f"/api/groups/{cohort.group_id}/members/{person.user_id}", cohort.admin
    )
    assert status == 204, body
    async with across_nodes("room:participant_left (removed) and room:removed"):
        for peer in (fac, watcher):
            assert await left(peer, person.user_id) == {
                "room_id": cohort.group_id,
                "user_id": person.user_id,
                "reason": "removed",
            }
        assert await member.next("room:removed") == room
    message = {"conversation": f"room:{cohort.group_id}", "body": "hi", "client_id": "x"}
    refused = await member.call("chat:send", message)
    assert refused["error"]["code"] == "not_authorized", refused


async def test_a_pairing_ended_on_one_node_ends_its_call_across_both(cluster: Cluster, calls: Pair) -> None:
    a, b = urls(cluster)
    mentor = await calls.connect(calls.mentor, b)
    mentee = await calls.connect(calls.mentee, a)
    call_id = await answered(mentor, mentee, calls.mentee)

    status, body = await calls.api.call("DELETE", f"/api/pairings/{calls.pairing_id}", calls.admin)
    assert status == 200, body
    async with across_nodes("call:ended on both sides"):
        for side in (mentor, mentee):
            assert await call_ended(side, call_id) == {"call_id": call_id, "reason": "hangup"}
    refused = await mentor.call(
        "chat:send", {"conversation": f"dm:{calls.mentee.user_id}", "body": "still there?", "client_id": "x"}
    )
    assert refused["error"]["code"] == "not_authorized", refused
