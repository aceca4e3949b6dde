"""Who may write in a room's chat follows the room at once, across nodes, though a node no longer reads the room
for every message: moved to the lobby or removed elsewhere, a member's next message is refused; admitted again,
accepted; and in a new session a message belongs to the new session."""

from __future__ import annotations

from tests.cluster.conftest import Cluster
from tests.realtime.conftest import make_cohort
from tests.support.realtime import Peer


async def say(peer: Peer, name: str, body: str) -> dict:  # type: ignore[type-arg]
    return dict(await peer.call("chat:send", {"conversation": name, "body": body, "client_id": body.replace(" ", "-")}))


async def test_chat_writing_follows_the_room_decided_on_another_node(cluster: Cluster) -> None:
    a, b = cluster.nodes[0].base + "/", cluster.nodes[1].base + "/"
    crowd = await make_cohort(cluster.cohort.api, cluster.cohort.admin, a, participants=2, tag="cm-", capacity=10)
    room = {"room_id": crowd.group_id}
    name = f"room:{crowd.group_id}"
    pip_person, sam_person = crowd.participants
    try:
        fac, _ = await crowd.enter(crowd.facilitator, b)
        pip, ack = await crowd.enter(pip_person, a)
        assert ack["status"] == "waiting"
        assert await fac.call("room:admit", {**room, "user_id": pip_person.user_id}) == {"ok": True}
        await pip.next("room:admitted")
        assert (await say(pip, name, "first"))["ok"]
        assert (await say(pip, name, "second"))["ok"]

        # Sent back to the lobby by a facilitator on the other node: the next message is refused.
        assert await fac.call("room:send_to_lobby", {**room, "user_id": pip_person.user_id}) == {"ok": True}
        await pip.next("room:waiting")
        assert (await say(pip, name, "from the lobby"))["error"]["code"] == "not_authorized"
        # Admitted again: accepted.
        assert await fac.call("room:admit", {**room, "user_id": pip_person.user_id}) == {"ok": True}
        await pip.next("room:admitted")
        assert (await say(pip, name, "back"))["ok"]

        # The session ends; in the next one, the same connection's message belongs to the new session: someone who
        # attended only the new one reads it.
        assert await fac.call("room:end", room) == {"ok": True}
        await pip.next("room:ended")
        fac, _ = await crowd.enter(crowd.facilitator, b)
        again = await pip.call("room:join", room)
        assert again["status"] == "waiting"
        assert await fac.call("room:admit", {**room, "user_id": pip_person.user_id}) == {"ok": True}
        await pip.next("room:admitted")
        assert (await say(pip, name, "new session"))["ok"]
        sam, ack = await crowd.enter(sam_person, b)
        assert await fac.call("room:admit", {**room, "user_id": sam_person.user_id}) == {"ok": True}
        await sam.next("room:admitted")
        page = await sam.call("chat:history", {"conversation": name})
        assert [m["body"] for m in page["messages"]] == ["new session"]

        # Removed on the other node: refused at once.
        assert await fac.call("room:remove", {**room, "user_id": pip_person.user_id}) == {"ok": True}
        await pip.next("room:removed")
        assert (await say(pip, name, "after removal"))["error"]["code"] == "not_authorized"
    finally:
        for peer in crowd.peers:
            await peer.close()
