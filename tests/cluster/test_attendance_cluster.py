"""Attendance on a deployment of two nodes (PostgreSQL and Redis shared): a member who changes node within the grace
period, a node killed mid-session, and a session the facilitator ends, all read back from the report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.cluster.conftest import DEPARTURE_BOUND, GRACE_SECONDS, Cluster, urls
from tests.support.api import Api


async def test_attendance_across_nodes_a_killed_node_and_an_ended_session(cluster: Cluster) -> None:
    a, b = urls(cluster)
    cohort = cluster.cohort
    room = {"room_id": cohort.group_id}
    fac, ack = await cohort.enter(cohort.facilitator, b)
    assert ack["status"] == "joined"
    mover, victim = cohort.participants[:2]
    peers = {}
    for person in (mover, victim):
        peer, ack = await cohort.enter(person, a)
        assert ack["status"] == "waiting"
        assert await fac.call("room:admit", {**room, "user_id": person.user_id}) == {"ok": True}
        await peer.next("room:admitted")
        peers[person.user_id] = peer

    # The mover's connection drops; they come back on the other node within the grace period.
    await peers[mover.user_id].client.disconnect()
    dropped = await fac.next("room:participant_updated")
    while dropped["participant"]["user_id"] != mover.user_id or dropped["participant"]["connected"]:
        dropped = await fac.next("room:participant_updated")
    _, ack = await cohort.enter(mover, b)
    assert ack["status"] == "joined"

    # Node A dies with the other participant on it.
    fac.drain("room:participant_left")
    cluster.nodes[0].process.kill()
    left = await fac.next("room:participant_left", within=DEPARTURE_BOUND + 5)
    assert (left["user_id"], left["reason"]) == (victim.user_id, "connection_lost")
    noticed = datetime.now(UTC)

    assert await fac.call("room:end", room) == {"ok": True}

    async with aiohttp.ClientSession(base_url=cluster.nodes[1].base) as http:
        api = Api(http)
        token = cohort.facilitator.token
        now = datetime.now(UTC)
        params = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
        async with asyncio.timeout(10):
            while True:
                status, body = await api.call("GET", f"/api/groups/{cohort.group_id}/attendance", token, params=params)
                assert status == 200, body
                if body["sessions"] and body["sessions"][0]["session"]["status"] == "ended":
                    break
                await asyncio.sleep(0.2)
        (report,) = body["sessions"]
        assert report["session"]["ended_by"]["user_id"] == cohort.facilitator.user_id
        members = {m["user_id"]: m for m in report["members"]}
        assert members[cohort.facilitator.user_id]["ended"] == ["ended"]
        # One stretch across the change of node, ended with the session.
        moved = members[mover.user_id]
        assert moved["status"] == "present"
        assert moved["ended"] == ["ended"]
        assert moved["stretches"][0]["admitted_by"]["user_id"] == cohort.facilitator.user_id
        assert moved["last_left"] == report["session"]["ended_at"]
        # The killed node's member: lost, and counted until the connection was lost, not until the grace ran out.
        lost = members[victim.user_id]
        assert lost["ended"] == ["connection_lost"]
        assert datetime.fromisoformat(lost["last_left"]) <= noticed - timedelta(seconds=GRACE_SECONDS / 2)
        assert datetime.fromisoformat(lost["last_left"]) > datetime.fromisoformat(lost["first_joined"])
        absent = {u for u, m in members.items() if m["status"] == "absent"}
        assert absent == {cohort.co_facilitator.user_id, cohort.participants[2].user_id}

        session_id = report["session"]["id"]
        sign = f"/api/sessions/{session_id}/sign-off"
        status, signed = await api.call("POST", sign, token, {"note": "Node A failed at the half."})
        assert status == 200, signed
        assert signed["members"] == report["members"]
        status, again = await api.call("POST", sign, token, {})
        assert (status, again["error"]["code"]) == (409, "conflict")
