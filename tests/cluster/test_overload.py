"""A node driven past what it admits: it refuses at once with ``busy`` and a retry hint, clients that honour the
hint get every message in, nothing acknowledged is lost or stored twice, and the node never takes its own
saturation for a Redis or database outage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.cluster.conftest import close_cluster, make_cluster
from tests.cluster.test_chat_cluster import history
from tests.realtime.conftest import make_cohort
from tests.support.realtime import Peer

SENDERS = 12
MESSAGES_EACH = 8
# Small enough that a dozen clients at once are past what the node admits.
ADMISSION = {"HAVEN_MAX_IN_FLIGHT": "2", "HAVEN_ADMISSION_QUEUE": "4", "HAVEN_ADMISSION_WAIT_MS": "300"}


async def send_until_stored(peer: Peer, name: str, client_id: str, refusals: list[dict[str, Any]]) -> dict[str, Any]:
    """Send, and send the very same again after each ``busy`` hint, as a client must."""
    for _ in range(100):
        ack = await peer.call(
            "chat:send", {"conversation": name, "body": f"message {client_id}", "client_id": client_id}
        )
        if ack["ok"]:
            return dict(ack["message"])
        refusals.append(ack["error"])
        assert ack["error"]["code"] == "busy", ack
        await asyncio.sleep(ack["error"]["retry_after_ms"] / 1000)
    raise AssertionError(f"{client_id} was never admitted")


async def test_a_saturated_node_refuses_with_busy_and_loses_nothing(
    tmp_path: Path, cluster_database: str, redis_server_url: str
) -> None:
    cluster = await make_cluster(tmp_path, cluster_database, redis_server_url, extra_env=ADMISSION)
    try:
        url = cluster.nodes[0].base + "/"
        crowd = await make_cohort(
            cluster.cohort.api,
            cluster.cohort.admin,
            url,
            participants=SENDERS,
            tag="busy-",
            capacity=20,
            lobby_enabled=False,
        )
        await crowd.enter(crowd.facilitator)
        peers = []
        for person in crowd.participants:
            peer, ack = await crowd.enter(person)
            assert ack["status"] == "joined", ack
            peers.append(peer)
        name = f"room:{crowd.group_id}"

        refusals: list[dict[str, Any]] = []
        sends = [
            send_until_stored(peer, name, f"p{n}-m{m}", refusals)
            for m in range(MESSAGES_EACH)
            for n, peer in enumerate(peers)
        ]
        stored = await asyncio.gather(*sends)

        # Past saturation, and refused rather than queued without bound or failed as an outage.
        assert refusals, "the node was never saturated"
        assert all(100 <= error["retry_after_ms"] <= 5000 for error in refusals)
        # Every message in exactly once, in one gapless sequence, each where its ack said.
        total = SENDERS * MESSAGES_EACH
        assert sorted(m["seq"] for m in stored) == list(range(1, total + 1))
        kept = await history(peers[0], name)
        assert [m["seq"] for m in kept] == list(range(1, total + 1))
        assert {m["id"]: m["seq"] for m in kept} == {m["id"]: m["seq"] for m in stored}

        # The load is over: the node is itself again, and still sees Redis and the database as healthy.
        ack = await peers[0].call("chat:send", {"conversation": name, "body": "after", "client_id": "after"})
        assert ack["ok"], ack
        async with cluster.session.get(cluster.nodes[0].base + "/readyz") as response:
            assert response.status == 200
            assert (await response.json())["status"] == "ready"

        # What an operator sees: the refusals, the connections, deliveries, no fallback, and no id in any label.
        async with cluster.session.get(cluster.nodes[0].base + "/metrics") as response:
            text = await response.text()
        samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        assert float(samples['haven_admission_refused_total{kind="request"}']) >= 1
        assert float(samples['haven_signaling_events_total{event="chat:send",outcome="busy"}']) == len(refusals)
        assert float(samples['haven_signaling_events_total{event="chat:send",outcome="ok"}']) == total + 1
        assert float(samples['haven_signaling_events_total{event="room:join",outcome="joined"}']) == SENDERS + 1
        assert float(samples["haven_sockets"]) == SENDERS + 1
        assert float(samples["haven_room_members"]) == SENDERS + 1
        assert float(samples["haven_redis_fallback"]) == 0
        assert float(samples["haven_deliveries_total"]) >= total * (SENDERS - 1)
        assert 'haven_signaling_ack_seconds_bucket{event="chat:send",le="+Inf"}' in samples
        assert "haven_db_pool_in_use" in samples
        assert crowd.group_id not in text
        assert all(person.user_id not in text for person in crowd.participants)
    finally:
        await close_cluster(cluster)
    node = cluster.nodes[0].process
    log = node.stderr.read() if node.stderr else ""
    assert "store unreachable" not in str(log)
    assert "database unavailable" not in str(log)
