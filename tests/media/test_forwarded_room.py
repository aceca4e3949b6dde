"""Group rooms through Haven's forwarder (media mode ``sfu``), written from the protocol (docs/protocol.md, "Through the
forwarder"), with real media: every member is an aiortc peer (``tests.support.forwarded_member``) with one peer
connection to the forwarder, sending small VP8 video and Opus audio and decoding everything it receives.

``HAVEN_MESH_LIMIT=0`` sends every group room through the forwarder, whatever its size. The server and all members
share this process (and its two cores), so video is 160x120 at 15 fps and the thresholds below are a few frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.config import Settings
from signaling.mount import SIGNALING
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.forwarded_member import KINDS, ForwardedMember, sample_offer
from tests.support.realtime import Peer

AUDIO_FRAMES = 25  # half a second of 20 ms frames
VIDEO_FRAMES = 8  # about half a second at 15 fps
WITHIN = 20.0  # for media to start flowing everywhere on a loaded machine
# The bound: a late joiner decodes its first video frame within 1 s of its answer being applied. The test
# allows a margin for this process's load (the server and six aiortc members share two cores).
LATE_VIDEO_BOUND = 1.0
LATE_VIDEO_MARGIN = 1.0
QUIET = 1.5  # seconds over which a muted member's audio must not arrive
SETTLE = 0.5  # for packets already on their way when a mute takes effect


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Haven</title>")
    return make_settings(tmp_path, database_url, HAVEN_MESH_LIMIT="0")


@dataclass
class Person:
    user_id: str
    token: str
    name: str


@dataclass
class Room:
    """A group and its people, created through the admin API, and the members connected so far."""

    api: Api
    admin: str
    group_id: str
    url: str
    facilitator: Person
    participants: list[Person]
    members: list[ForwardedMember] = field(default_factory=list)

    async def connect(self, person: Person) -> ForwardedMember:
        member = ForwardedMember(person.name)
        self.members.append(member)
        await member.connect(self.url, person.token)
        return member

    async def enter(self, person: Person, admit_by: ForwardedMember | None = None) -> ForwardedMember:
        """Connect and join; through the lobby when ``admit_by`` (a facilitator in the room) is given. Checks that
        the entry names the forwarder."""
        member = await self.connect(person)
        ack = await member.join(self.group_id)
        if admit_by is None:
            assert (ack.get("ok"), ack.get("status")) == (True, "joined"), ack
            entry = ack
        else:
            assert (ack.get("ok"), ack.get("status")) == (True, "waiting"), ack
            admit = await admit_by.signaling.call("room:admit", {"room_id": self.group_id, "user_id": person.user_id})
            assert admit == {"ok": True}, admit
            entry = await member.admitted()
        assert entry["self"]["user_id"] == person.user_id, entry
        media = entry["media"]
        assert media["mode"] == "sfu", entry
        assert isinstance(media.get("peer_id"), str), entry
        assert media["peer_id"], entry
        assert media["ice_servers"] == [], entry  # no STUN or TURN configured: nothing public, ever
        assert media["ice_transport_policy"] == "all", entry
        assert media["mesh_limit"] == 0, entry
        assert media["peer_id"] != member.signaling.sid
        return member

    async def close(self) -> None:
        for member in self.members:
            with contextlib.suppress(Exception):
                await member.close()


async def make_room(api: Api, admin: str, client: TestClient[Any, Any], participants: int, **group: Any) -> Room:
    status, body = await api.call("POST", "/api/groups", admin, {"name": "Forwarded", "capacity": 10, **group})
    assert status == 201, body
    tag = secrets.token_hex(3)

    async def person(role: str, name: str) -> Person:
        user_id, token = await api.user(admin, f"{name.lower()}-{tag}@example.org", role, name)
        await api.enrol(admin, body["id"], user_id, role)
        return Person(user_id, token, name)

    facilitator = await person("facilitator", "Fran")
    people = [await person("participant", f"P{n}") for n in range(participants)]
    return Room(api, admin, body["id"], str(client.make_url("/")), facilitator, people)


async def publish(*members: ForwardedMember) -> None:
    """Each member offers its audio and video to the forwarder; the offer is accepted and answered."""
    for member in members:
        ack = await member.publish()
        assert ack == {"ok": True}, f"{member.name}: offer refused: {ack!r}"
    for member in members:
        await member.wait_negotiated()


async def everyone_receives_everyone(
    members: list[ForwardedMember], audio: int = AUDIO_FRAMES, video: int = VIDEO_FRAMES, fresh: bool = False
) -> None:
    """Every member decodes ``audio`` and ``video`` frames from every other (more than until now, if ``fresh``)."""
    since = {id(m): m.frames() if fresh else {} for m in members}
    await asyncio.gather(
        *(
            m.wait_frames([o.user_id for o in members if o is not m], audio, video, WITHIN, since[id(m)])
            for m in members
        )
    )


# -- resources of this process (the server and every member live in it) ----------------------------------------


def udp_sockets() -> int:
    """Open UDP sockets of this process: its socket descriptors whose inodes /proc/self/net/udp{,6} list."""
    inodes = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            next(lines)
            inodes.update(line.split()[9] for line in lines if line.strip())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:[") and target[len("socket:[") : -1] in inodes:
                count += 1
    return count


def own_threads() -> list[str]:
    """Threads apart from the pools that stay once started (asyncio's default executor, which aiortc's encoders
    use, and aiosqlite's one thread per pooled database connection)."""
    return sorted(
        t.name
        for t in threading.enumerate()
        if not t.name.startswith("asyncio_") and "_connection_worker_thread" not in t.name
    )


def resources() -> dict[str, Any]:
    """This process's UDP sockets, tasks and threads, apart from the forwarder workers' standing links (a task
    and a child watcher each: the workers stay for the next room; what they hold is counted in them)."""
    tasks = sorted(
        t.get_name() + " " + repr(t.get_coro())[:80]
        for t in asyncio.all_tasks()
        if not t.get_name().startswith("haven-media-") and "Event.wait" not in repr(t.get_coro())
    )
    threads = [t for t in own_threads() if not t.startswith("asyncio-waitpid")]
    return {"udp": udp_sockets(), "tasks": tasks, "threads": threads}


async def workers_idle(client: TestClient[Any, Any], within: float = 10.0) -> None:
    """Every forwarder worker holds no room, member or UDP socket, and no more tasks than an idle worker has."""
    plane = client.app[SIGNALING].rooms.media
    assert plane is not None
    deadline = time.monotonic() + within
    while True:
        workers = plane.stats()
        busy = {
            name: values
            for name, values in workers.items()
            if values.get("rooms") or values.get("members") or values.get("udp_sockets") or values.get("tasks", 0) > 3
        }
        if not busy:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"forwarder workers still hold media after everyone left: {busy}")
        await asyncio.sleep(0.2)


def counted(found: dict[str, Any]) -> dict[str, int]:
    return {key: value if isinstance(value, int) else len(value) for key, value in found.items()}


async def steady_resources(within: float = 5.0) -> dict[str, Any]:
    """The resources once they stop changing (the same counts for half a second), for a baseline."""
    deadline = time.monotonic() + within
    found, same = resources(), 0
    while same < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = resources()
        same = same + 1 if counted(now) == counted(found) else 0
        found = now
    return found


async def back_to(baseline: dict[str, Any], within: float = 10.0) -> None:
    """Wait until the UDP sockets, tasks and threads of this process are no more than at ``baseline``."""
    deadline = time.monotonic() + within
    wanted = counted(baseline)
    while True:
        now = resources()
        counts = counted(now)
        if all(counts[key] <= wanted[key] for key in wanted):
            return
        if time.monotonic() > deadline:
            extra_tasks = sorted(set(now["tasks"]) - set(baseline["tasks"]))
            extra_threads = sorted(set(now["threads"]) - set(baseline["threads"]))
            raise AssertionError(
                f"resources after everyone left {counts} exceed those before anyone came {wanted}; "
                f"new tasks {extra_tasks}; new threads {extra_threads}"
            )
        await asyncio.sleep(0.2)


def others(members: Iterable[ForwardedMember], member: ForwardedMember) -> list[str]:
    return [m.user_id for m in members if m is not member]


# -- the tests ------------------------------------------------------------------------------------------------


async def test_six_members_see_and_hear_each_other_through_the_forwarder(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=5, lobby_enabled=False)
    # The Socket.IO server starts its one service task at its first connection: count from after one.
    warm_up = Peer("warm-up")
    await warm_up.connect(room.url, room.facilitator.token)
    await warm_up.close()
    baseline = await steady_resources()
    try:
        fran = await room.enter(room.facilitator)
        first = [fran] + [await room.enter(p) for p in room.participants[:4]]
        forwarder = fran.forwarder_id
        assert {m.forwarder_id for m in first} == {forwarder}, "one forwarder per room"
        assert forwarder not in {m.signaling.sid for m in first}

        await publish(*first)
        await everyone_receives_everyone(first)

        # A sixth member joins late: its first video frame from each publisher follows its answer within the bound.
        late = await room.enter(room.participants[4])
        assert late.forwarder_id == forwarder
        await publish(late)
        await late.wait_frames(others([*first, late], late), audio=1, video=1, within=WITHIN)
        delays = {}
        for publisher in others([*first, late], late):
            record = late.get(publisher, "video")
            assert record.first_frame_at is not None, late.describe()
            assert record.ready_at is not None, late.describe()
            delays[publisher] = round(record.first_frame_at - record.ready_at, 3)
        assert max(delays.values()) <= LATE_VIDEO_BOUND + LATE_VIDEO_MARGIN, f"first video frame after {delays} s"

        six = [*first, late]
        await everyone_receives_everyone(six, fresh=True)

        # Every stream id is a roster user id (the late joiner's roster lists all six), and each member receives
        # exactly the other five, both kinds, from nobody else.
        roster = {p["user_id"] for p in late.entry["room"]["participants"]}
        assert roster == {m.user_id for m in six}
        for member in six:
            assert member.publishers() == set(others(six, member)), (member.name, member.describe())
            assert set(member.received) == {(p, kind) for p in others(six, member) for kind in KINDS}
            assert not member.stray, (member.name, member.stray)

        # A member leaves while its client goes on sending: its tracks end at everyone else, and the forwarder's
        # next description sends nothing of it.
        leaver = first[1]
        assert await leaver.leave() == {"ok": True}
        staying = [m for m in six if m is not leaver]
        await asyncio.gather(*(m.wait_ended(leaver.user_id, within=WITHIN) for m in staying))
        await asyncio.gather(
            *(
                m.wait_until(lambda m=m: leaver.user_id not in m.sending_streams(), WITHIN, "description without it")
                for m in staying
            )
        )
        await leaver.close()
        await everyone_receives_everyone(staying, audio=10, video=3, fresh=True)

        # Everyone leaves: the forwarder's sockets, tasks and threads go with them.
        for member in staying:
            assert await member.leave() == {"ok": True}, member.name
        await room.close()
        await back_to(baseline)
        await workers_idle(client)
    finally:
        await room.close()


async def test_a_facilitators_mute_holds_at_the_forwarder_until_the_member_unmutes(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=2, lobby_enabled=False)
    try:
        fran = await room.enter(room.facilitator)
        muted, listener = [await room.enter(p) for p in room.participants]
        members = [fran, muted, listener]
        await publish(*members)
        await everyone_receives_everyone(members)

        ack = await fran.signaling.call(
            "room:mute", {"room_id": room.group_id, "user_id": muted.user_id, "kind": "audio"}
        )
        assert ack == {"ok": True}, ack
        assert await muted.signaling.next("room:muted") == {"room_id": room.group_id, "kind": "audio"}

        # The muted member's client does not react: it goes on sending audio. None of it reaches the others,
        # while its video and everyone else's audio still do.
        await asyncio.sleep(SETTLE)
        before = {id(m): m.frames() for m in members}
        sent_before = await muted.packets_sent("audio")
        await asyncio.sleep(QUIET)
        assert await muted.packets_sent("audio") > sent_before + 25, "the muted member's client stopped sending"
        for member in (fran, listener):
            grown = {key: n - before[id(member)].get(key, 0) for key, n in member.frames().items()}
            assert grown[(muted.user_id, "audio")] == 0, (member.name, grown)
            assert grown[(muted.user_id, "video")] > 0, (member.name, grown)
        assert listener.frames()[(fran.user_id, "audio")] > before[id(listener)][(fran.user_id, "audio")]

        # The group allows self-unmute (the default): the member turns its microphone back on, and it is heard.
        ack = await muted.signaling.call("room:media", {"room_id": room.group_id, "kind": "audio", "enabled": True})
        assert ack == {"ok": True}, ack
        since = {id(m): m.frames() for m in (fran, listener)}
        await asyncio.gather(
            *(
                m.wait_frames([muted.user_id], audio=AUDIO_FRAMES, within=WITHIN, since=since[id(m)])
                for m in (fran, listener)
            )
        )
    finally:
        await room.close()


def refused_with(ack: Any, code: str) -> None:
    assert isinstance(ack, dict), ack
    assert ack.get("ok") is False, ack
    assert ack["error"]["code"] == code, ack
    assert isinstance(ack["error"].get("message"), str), ack
    assert ack["error"]["message"], ack


async def test_bad_offers_are_refused_with_a_reason_and_the_room_goes_on(
    api: Api, admin: str, client: TestClient[Any, Any]
) -> None:
    room = await make_room(api, admin, client, participants=4)  # the lobby is on
    status, other_group = await api.call("POST", "/api/groups", admin, {"name": "Elsewhere", "capacity": 4})
    assert status == 201, other_group
    user_id, token = await api.user(admin, f"olive-{secrets.token_hex(3)}@example.org", "facilitator", "Olive")
    await api.enrol(admin, other_group["id"], user_id, "facilitator")
    try:
        fran = await room.enter(room.facilitator)
        ann, ben, cal = [await room.enter(p, admit_by=fran) for p in room.participants[:3]]
        forwarder = fran.forwarder_id
        assert forwarder is not None
        await publish(ann, ben)
        await everyone_receives_everyone([ann, ben])

        # Someone still waiting in the lobby, and a member of another group in that group's own forwarded room.
        waiting = await room.connect(room.participants[3])
        ack = await waiting.join(room.group_id)
        assert ack.get("status") == "waiting", ack
        olive = ForwardedMember("Olive")
        room.members.append(olive)
        await olive.connect(room.url, token)
        entry = await olive.join(other_group["id"])
        assert entry.get("status") == "joined", entry
        assert entry["media"]["mode"] == "sfu", entry
        assert entry["media"]["peer_id"] != forwarder, "each room has a forwarder of its own"

        good = await sample_offer()
        cases = [
            ("malformed SDP", cal, forwarder, "v=0\r\nthis is not a session description\r\n", "invalid_request"),
            (
                "H264 video only",
                cal,
                forwarder,
                await sample_offer(audio=None, video="video/H264"),
                "unsupported_media",
            ),
            ("PCMU and H264", cal, forwarder, await sample_offer("audio/PCMU", "video/H264"), "unsupported_media"),
            ("from another room", olive, forwarder, good, "not_authorized"),
            ("from the lobby", waiting, forwarder, good, "not_authorized"),
            ("to a made-up forwarder", cal, "sfu-" + secrets.token_urlsafe(12), good, "not_authorized"),
        ]
        for what, sender, to, sdp, code in cases:
            ack = await sender.signaling.call("rtc:signal", {"to": to, "type": "offer", "sdp": sdp})
            try:
                refused_with(ack, code)
            except AssertionError as exc:
                raise AssertionError(f"{what}: wanted {code}, got {ack!r}") from exc

        # The room goes on: the two publishers still receive each other; nobody refused was answered; and the
        # member whose offers were refused is accepted with a good one.
        await everyone_receives_everyone([ann, ben], fresh=True)
        for member in (ann, ben):
            assert not member.stray, (member.name, member.stray)
            assert not member.failures, (member.name, member.failures)
        for member in (olive, waiting, cal):
            assert not member.signals, (member.name, member.signals)
        await publish(cal)
        await cal.wait_frames([ann.user_id, ben.user_id], audio=1, video=1, within=WITHIN)
    finally:
        await room.close()
