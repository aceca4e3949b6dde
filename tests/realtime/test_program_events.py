"""The program's live side with real Socket.IO clients: the group agreement and the schedule gate on room:join,
check-ins and "I need support" reaching the facilitators only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from server.db.models import AuditEntry, CheckIn, ExtraSession, Session, SupportRequest
from tests.realtime.conftest import Cohort
from tests.support.realtime import Peer

# Long enough for an event that was (wrongly) sent to arrive.
QUIET = 0.5


async def admitted(cohort: Cohort, fac: Peer, index: int) -> Peer:
    peer, ack = await cohort.enter(cohort.participants[index])
    assert ack["status"] == "waiting", ack
    admit = {"room_id": cohort.group_id, "user_id": cohort.participants[index].user_id}
    assert (await fac.call("room:admit", admit))["ok"]
    await peer.next("room:admitted")
    return peer


async def set_agreement(cohort: Cohort, text: str) -> int:
    status, body = await cohort.api.call(
        "PUT", f"/api/groups/{cohort.group_id}/agreement", cohort.facilitator.token, {"text": text}
    )
    assert status == 200, body
    return int(body["version"])


async def accept(cohort: Cohort, token: str, version: int) -> tuple[int, Any]:
    return await cohort.api.call("POST", f"/api/groups/{cohort.group_id}/agreement/accept", token, {"version": version})


async def count(cohort: Cohort, model: Any) -> int:
    async with cohort.api.db() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


async def join_outcomes(cohort: Cohort, user_id: str) -> list[str]:
    async with cohort.api.db() as session:
        rows = await session.execute(
            select(AuditEntry.outcome)
            .where(AuditEntry.action == "room.join", AuditEntry.actor_id == uuid.UUID(user_id))
            .order_by(AuditEntry.id)
        )
        return list(rows.scalars())


def never_got(peer: Peer, *events: str) -> None:
    got = [name for name, _ in peer.log if name in events]
    assert not got, f"{peer.name} received {got}"


# -- the agreement -------------------------------------------------------------------------------------------


async def test_no_entry_before_accepting_and_a_new_version_asks_again(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    pip = cohort.participants[0]
    version = await set_agreement(cohort, "What is said here stays here.\nBe kind.")
    assert version == 1

    fac, ack = await cohort.enter(cohort.facilitator)
    assert ack["status"] == "joined"  # facilitators are not asked

    peer, ack = await cohort.enter(pip)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "agreement_required"
    assert ack["agreement"] == {"version": 1, "text": "What is said here stays here.\nBe kind."}
    await asyncio.sleep(QUIET)
    never_got(fac, "room:lobby", "room:participant_joined")
    assert await join_outcomes(cohort, pip.user_id) == ["agreement_required"]
    # Not in the lobby: a check-in or a call for support does not make them a member either.
    refused = await peer.call("support:request", room)
    assert refused["error"]["code"] == "not_in_room"

    status, body = await accept(cohort, pip.token, 1)
    assert status == 200, body
    assert body["accepted"] is True
    ack = await peer.call("room:join", room)
    assert ack["status"] == "waiting"
    assert (await peer.call("room:leave", room))["ok"]

    assert await set_agreement(cohort, "Version two: phones away.") == 2
    ack = await peer.call("room:join", room)
    assert ack["error"]["code"] == "agreement_required"
    assert ack["agreement"] == {"version": 2, "text": "Version two: phones away."}
    status, body = await accept(cohort, pip.token, 1)
    assert status == 409
    assert body["error"]["code"] == "conflict"
    status, _ = await accept(cohort, pip.token, 2)
    assert status == 200
    assert (await peer.call("room:join", room))["status"] == "waiting"


async def test_a_member_holding_a_place_is_not_asked_again(cohort: Cohort) -> None:
    """A new version published mid-session does not throw out someone reconnecting to their own place."""
    room = {"room_id": cohort.group_id}
    await set_agreement(cohort, "First rules.")
    assert (await accept(cohort, cohort.participants[0].token, 1))[0] == 200
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, 0)
    await set_agreement(cohort, "Second rules.")
    again = await cohort.connect(cohort.participants[0])
    ack = await again.call("room:join", room)
    assert ack["status"] == "joined"
    await member.next("room:superseded")


# -- the schedule gate ---------------------------------------------------------------------------------------


async def add_one_off(cohort: Cohort, starts_in: timedelta, length: timedelta = timedelta(hours=1)) -> uuid.UUID:
    starts_at = datetime.now(UTC).replace(microsecond=0) + starts_in
    ident = uuid.uuid4()
    async with cohort.api.db.begin() as session:
        session.add(
            ExtraSession(
                id=ident,
                group_id=uuid.UUID(cohort.group_id),
                starts_at=starts_at,
                ends_at=starts_at + length,
                created_at=datetime.now(UTC),
            )
        )
    return ident


async def test_room_not_open_before_the_window_and_a_facilitator_opens_it_any_time(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    one_off = await add_one_off(cohort, timedelta(hours=3))
    async with cohort.api.db() as session:
        starts_at = await session.scalar(select(ExtraSession.starts_at).where(ExtraSession.id == one_off))
    assert starts_at is not None

    peer, ack = await cohort.enter(cohort.participants[0])
    assert ack["ok"] is False
    assert ack["error"]["code"] == "room_not_open"
    assert datetime.fromisoformat(ack["opens_at"]) == starts_at - timedelta(minutes=10)
    assert await join_outcomes(cohort, cohort.participants[0].user_id) == ["room_not_open"]

    # Three hours early is outside the hour in which an opening belongs to the session: an unscheduled session.
    _fac, ack = await cohort.enter(cohort.facilitator)
    assert ack["status"] == "joined"
    assert (await peer.call("room:join", room))["status"] == "waiting"  # a session is open: anyone may come
    async with cohort.api.db() as session:
        opened = list((await session.execute(select(Session.id))).scalars())
    assert len(opened) == 1
    assert opened[0] != one_off


async def test_participants_may_come_inside_the_window_and_the_session_is_the_scheduled_one(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    one_off = await add_one_off(cohort, timedelta(minutes=5))
    peer, ack = await cohort.enter(cohort.participants[0])
    assert ack["status"] == "waiting", ack
    fac, ack = await cohort.enter(cohort.facilitator)
    assert ack["status"] == "joined"
    async with cohort.api.db() as session:
        opened = list((await session.execute(select(Session.id))).scalars())
    assert opened == [one_off]
    assert (await fac.call("room:admit", {**room, "user_id": cohort.participants[0].user_id}))["ok"]
    await peer.next("room:admitted")


async def test_a_session_running_past_its_scheduled_end_is_not_cut_off(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    one_off = await add_one_off(cohort, timedelta(minutes=-50), length=timedelta(minutes=55))
    fac, _ = await cohort.enter(cohort.facilitator)
    first = await admitted(cohort, fac, 0)
    # The scheduled end passes while the session runs (the one-off's end is moved into the past).
    async with cohort.api.db.begin() as session:
        extra = await session.get(ExtraSession, one_off)
        assert extra is not None
        extra.ends_at = datetime.now(UTC) - timedelta(minutes=1)
    late, ack = await cohort.enter(cohort.participants[1])
    assert ack["status"] == "waiting", ack  # the session is open, so the room is too
    sent = await first.call(
        "chat:send", {"conversation": f"room:{cohort.group_id}", "body": "still here", "client_id": "c"}
    )
    assert sent["ok"], sent
    never_got(first, "room:ended")
    async with cohort.api.db() as session:
        held = await session.get(Session, one_off)
    assert held is not None
    assert held.ended_at is None
    await late.call("room:leave", room)


async def test_nothing_ahead_means_not_open_with_no_time(cohort: Cohort) -> None:
    await add_one_off(cohort, timedelta(days=-2))
    _, ack = await cohort.enter(cohort.participants[0])
    assert ack["error"]["code"] == "room_not_open"
    assert ack["opens_at"] is None


# -- check-ins -----------------------------------------------------------------------------------------------


async def test_a_checkin_reaches_the_facilitators_only_flagged_when_low(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    member = await admitted(cohort, fac, 1)
    co_fac_outside = await cohort.connect(cohort.co_facilitator)  # connected, not in the room

    # Before joining (the lobby is on here, but the form comes first in the client).
    before = await cohort.connect(cohort.participants[0])
    ack = await before.call("lobby:checkin", {**room, "rating": 2, "note": "Rough week."})
    assert ack["ok"] is True, ack
    seen = await fac.next("lobby:checkin")
    assert seen == {
        "room_id": cohort.group_id,
        "id": ack["id"],
        "user_id": cohort.participants[0].user_id,
        "display_name": "P0",
        "rating": 2,
        "note": "Rough week.",
        "flagged": True,
        "at": ack["at"],
    }

    # While waiting in the lobby.
    waiting, ack = await cohort.enter(cohort.participants[2])
    assert ack["status"] == "waiting"
    ack = await waiting.call("lobby:checkin", {**room, "rating": 5})
    assert ack["ok"] is True
    seen = await fac.next("lobby:checkin")
    assert (seen["rating"], seen["note"], seen["flagged"]) == (5, None, False)

    await asyncio.sleep(QUIET)
    for other in (member, before, waiting, co_fac_outside):
        never_got(other, "lobby:checkin")
    async with cohort.api.db() as session:
        rows = list((await session.execute(select(CheckIn).order_by(CheckIn.at))).scalars())
        session_id = await session.scalar(select(Session.id))
        audits = list(
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "checkin.create"))).scalars()
        )
    assert [(r.rating, r.note) for r in rows] == [(2, "Rough week."), (5, None)]
    assert {r.session_id for r in rows} == {session_id}
    assert len(audits) == 2
    assert "Rough" not in repr([a.detail for a in audits])


async def test_only_enrolled_participants_check_in(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    outsider = await cohort.connect(cohort.outsider)
    for peer, target in ((fac, room), (outsider, room), (fac, {"room_id": str(uuid.uuid4())})):
        ack = await peer.call("lobby:checkin", {**target, "rating": 3})
        assert ack["error"]["code"] == "not_authorized", ack
    assert await count(cohort, CheckIn) == 0


async def test_bad_checkins_are_refused_and_nothing_is_stored(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    peer = await cohort.connect(cohort.participants[0])
    bad: list[dict[str, Any]] = [
        {**room, "rating": 0},
        {**room, "rating": 6},
        {**room, "rating": True},
        {**room, "rating": "3"},
        {**room, "rating": 3.5},
        {**room},
        {**room, "rating": 3, "note": "x" * 501},
        {**room, "rating": 3, "note": 7},
        {**room, "rating": 3, "mood": "fine"},
        {"room_id": "not-a-room", "rating": 3},
    ]
    for payload in bad:
        ack = await peer.call("lobby:checkin", payload)
        assert (ack["ok"], ack["error"]["code"]) == (False, "invalid_request"), payload
    unknown = await peer.call("lobby:checkin", {"room_id": str(uuid.uuid4()), "rating": 3})
    assert unknown["error"]["code"] == "not_authorized"
    assert (await peer.call("lobby:checkin", {**room, "rating": 3, "note": "x" * 500}))["ok"] is True
    assert await count(cohort, CheckIn) == 1
    assert len(fac.drain("lobby:checkin")) <= 1


async def test_checkins_are_rate_limited(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    peer = await cohort.connect(cohort.participants[0])
    answers = [await peer.call("lobby:checkin", {**room, "rating": 4}) for _ in range(7)]
    assert [a["ok"] for a in answers[:5]] == [True] * 5
    assert answers[-1]["error"]["code"] == "rate_limited"
    assert await count(cohort, CheckIn) == sum(1 for a in answers if a["ok"])


# -- "I need support" -----------------------------------------------------------------------------------------


async def test_support_reaches_the_facilitators_only_and_the_acknowledgement_the_requester(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    co_fac, _ = await cohort.enter(cohort.co_facilitator)
    asking = await admitted(cohort, fac, 0)
    other = await admitted(cohort, fac, 1)
    waiting, _ = await cohort.enter(cohort.participants[2])

    ack = await asking.call("support:request", {**room, "note": "I need a minute."})
    assert ack["ok"] is True, ack
    for facilitator in (fac, co_fac):
        signal = await facilitator.next("support:requested")
        assert signal == {
            "room_id": cohort.group_id,
            "id": ack["id"],
            "user_id": cohort.participants[0].user_id,
            "display_name": "P0",
            "note": "I need a minute.",
            "at": ack["at"],
        }

    # Someone waiting in the lobby may ask too.
    assert (await waiting.call("support:request", room))["ok"] is True
    assert (await fac.next("support:requested"))["note"] is None

    refused = await other.call("support:acknowledge", {**room, "id": ack["id"]})
    assert refused["error"]["code"] == "not_authorized"
    missing = await fac.call("support:acknowledge", {**room, "id": str(uuid.uuid4())})
    assert missing["error"]["code"] == "not_found"

    done = await fac.call("support:acknowledge", {**room, "id": ack["id"]})
    assert done["ok"] is True
    assert done["by"] == cohort.facilitator.user_id
    assert done["already"] is False
    told = await asking.next("support:acknowledged")
    assert (told["id"], told["by"], told["by_name"]) == (ack["id"], cohort.facilitator.user_id, "Fran")
    assert (await co_fac.next("support:acknowledged"))["id"] == ack["id"]
    again = await co_fac.call("support:acknowledge", {**room, "id": ack["id"]})
    assert again["ok"] is True
    assert again["already"] is True
    assert again["by"] == cohort.facilitator.user_id

    await asyncio.sleep(QUIET)
    never_got(other, "support:requested", "support:acknowledged")
    never_got(asking, "support:requested")
    never_got(waiting, "support:requested", "support:acknowledged")
    async with cohort.api.db() as session:
        stored = list((await session.execute(select(SupportRequest).order_by(SupportRequest.at))).scalars())
        audits = list(
            (
                await session.execute(
                    select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action.like("support.%"))
                )
            ).all()
        )
    assert next(str(s.id) for s in stored) == ack["id"]
    assert str(stored[0].acknowledged_by) == cohort.facilitator.user_id
    assert sorted(a for a, _ in audits) == ["support.acknowledge", "support.request", "support.request"]
    assert "minute" not in repr(audits)


async def test_support_needs_a_place_in_the_room_and_bounded_notes(cohort: Cohort) -> None:
    room = {"room_id": cohort.group_id}
    fac, _ = await cohort.enter(cohort.facilitator)
    outsider = await cohort.connect(cohort.outsider)
    away = await cohort.connect(cohort.participants[0])
    assert (await outsider.call("support:request", room))["error"]["code"] == "not_authorized"
    unknown = await outsider.call("support:request", {"room_id": str(uuid.uuid4())})
    assert unknown["error"]["code"] == "not_authorized"
    assert (await away.call("support:request", room))["error"]["code"] == "not_in_room"
    member = await admitted(cohort, fac, 1)
    oversize = await member.call("support:request", {**room, "note": "x" * 501})
    assert oversize["error"]["code"] == "invalid_request"
    assert await count(cohort, SupportRequest) == 0
    await asyncio.sleep(QUIET)
    never_got(fac, "support:requested")
