"""Who reads check-ins and support requests over REST, sharing with a mentor, and retention of their notes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select

from server.chat_retention import purge_bodies
from server.db.models import AuditEntry, CheckIn, SupportRequest
from tests.support.api import Api


@dataclass
class Program:
    """Two groups: A (facilitator fac_a; participants pip, quinn) and B (facilitator fac_b; participant pip);
    a mentor paired with pip, another mentor paired with nobody."""

    group_a: str
    group_b: str
    fac_a: str
    fac_b: str
    pip_id: str
    pip: str
    quinn_id: str
    quinn: str
    mentor_id: str
    mentor: str
    stranger_mentor: str
    pairing_id: str


async def program(api: Api, admin: str) -> Program:
    group_a, group_b = await api.group(admin, "Group A"), await api.group(admin, "Group B")
    fac_a_id, fac_a = await api.user(admin, "fa@example.org", "facilitator", "Fay")
    fac_b_id, fac_b = await api.user(admin, "fb@example.org", "facilitator", "Fib")
    pip_id, pip = await api.user(admin, "pip@example.org", "participant", "Pip")
    quinn_id, quinn = await api.user(admin, "quinn@example.org", "participant", "Quinn")
    mentor_id, mentor = await api.user(admin, "mentor@example.org", "mentor", "Mo")
    _, stranger_mentor = await api.user(admin, "m2@example.org", "mentor", "Mia")
    await api.enrol(admin, group_a, fac_a_id, "facilitator")
    await api.enrol(admin, group_b, fac_b_id, "facilitator")
    for group, person in ((group_a, pip_id), (group_a, quinn_id), (group_b, pip_id)):
        await api.enrol(admin, group, person, "participant")
    status, body = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": pip_id})
    assert status == 201, body
    return Program(
        group_a, group_b, fac_a, fac_b, pip_id, pip, quinn_id, quinn, mentor_id, mentor, stranger_mentor, body["id"]
    )


async def add_checkin(api: Api, group: str, user: str, rating: int, note: str | None, age: timedelta) -> str:
    ident = uuid.uuid4()
    async with api.db.begin() as session:
        session.add(
            CheckIn(
                id=ident,
                group_id=uuid.UUID(group),
                user_id=uuid.UUID(user),
                rating=rating,
                note=note,
                at=datetime.now(UTC) - age,
            )
        )
    return str(ident)


async def seeded(api: Api, admin: str) -> Program:
    p = await program(api, admin)
    await add_checkin(api, p.group_a, p.pip_id, 2, "Hard day.", timedelta(hours=2))
    await add_checkin(api, p.group_b, p.pip_id, 4, None, timedelta(hours=1))
    await add_checkin(api, p.group_a, p.quinn_id, 5, "Good.", timedelta(hours=3))
    return p


async def ratings(api: Api, token: str, path: str) -> tuple[int, list[tuple[str, int]]]:
    status, body = await api.call("GET", path, token)
    if status != 200:
        return status, []
    return status, [(c["user_id"], c["rating"]) for c in body["checkins"]]


async def test_a_participant_reads_only_their_own(api: Api, admin: str) -> None:
    p = await seeded(api, admin)
    status, body = await api.call("GET", f"/api/users/{p.pip_id}/checkins", p.pip)
    assert status == 200
    assert [(c["rating"], c["note"], c["flagged"]) for c in body["checkins"]] == [
        (4, None, False),
        (2, "Hard day.", True),
    ]
    assert (await api.call("GET", f"/api/users/{p.pip_id}/checkins", p.quinn))[0] == 403
    status, body = await api.call("GET", f"/api/groups/{p.group_a}/checkins", p.quinn)
    assert status == 403
    assert body["error"]["code"] == "not_authorized"
    assert (await api.call("GET", f"/api/groups/{p.group_b}/checkins", p.quinn))[0] == 404
    assert (await api.call("GET", f"/api/groups/{p.group_a}/support-requests", p.pip))[0] == 403


async def test_a_facilitator_reads_only_their_groups(api: Api, admin: str) -> None:
    p = await seeded(api, admin)
    assert await ratings(api, p.fac_a, f"/api/users/{p.pip_id}/checkins") == (200, [(p.pip_id, 2)])
    assert await ratings(api, p.fac_b, f"/api/users/{p.pip_id}/checkins") == (200, [(p.pip_id, 4)])
    assert await ratings(api, p.fac_a, f"/api/groups/{p.group_a}/checkins") == (
        200,
        [(p.pip_id, 2), (p.quinn_id, 5)],
    )
    assert (await api.call("GET", f"/api/groups/{p.group_b}/checkins", p.fac_a))[0] == 404
    # Administrators run the program; check-ins are for the member's care team.
    for path in (f"/api/groups/{p.group_a}/checkins", f"/api/users/{p.pip_id}/checkins"):
        status, body = await api.call("GET", path, admin)
        assert status == 403
        assert "Administrators" in body["error"]["message"]

    async with api.db() as session:
        reads = (
            await session.execute(
                select(AuditEntry.target_type, AuditEntry.detail)
                .where(AuditEntry.action == "checkins.read")
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [(t, d) for t, d in reads] == [
        ("user", {"count": 1}),
        ("user", {"count": 1}),
        ("group", {"count": 2}),
    ]


async def test_a_mentor_reads_only_a_consenting_mentee(api: Api, admin: str) -> None:
    p = await seeded(api, admin)
    path = f"/api/users/{p.pip_id}/checkins"
    status, body = await api.call("GET", path, p.mentor)
    assert status == 403
    assert "shared" in body["error"]["message"]

    sharing = {"mentor_id": p.mentor_id, "shared": True}
    assert (await api.call("PUT", "/api/me/checkin-sharing", p.quinn, sharing))[0] == 404  # not Quinn's mentor
    assert (await api.call("PUT", "/api/me/checkin-sharing", p.pip, {**sharing, "shared": "yes"}))[0] == 400
    status, body = await api.call("PUT", "/api/me/checkin-sharing", p.pip, sharing)
    assert status == 200
    assert body == sharing
    status, body = await api.call("GET", "/api/me/checkin-sharing", p.pip)
    assert body == {"mentors": [{"mentor_id": p.mentor_id, "display_name": "Mo", "shared": True}]}

    assert await ratings(api, p.mentor, path) == (200, [(p.pip_id, 4), (p.pip_id, 2)])
    assert (await api.call("GET", path, p.stranger_mentor))[0] == 403
    assert (await api.call("GET", f"/api/users/{p.quinn_id}/checkins", p.mentor))[0] == 403

    await api.call("PUT", "/api/me/checkin-sharing", p.pip, {**sharing, "shared": False})
    assert (await api.call("GET", path, p.mentor))[0] == 403
    await api.call("PUT", "/api/me/checkin-sharing", p.pip, sharing)
    assert (await api.call("DELETE", f"/api/pairings/{p.pairing_id}", admin))[0] == 200
    assert (await api.call("GET", path, p.mentor))[0] == 403  # the pairing ended: sharing ends with it


async def test_ranges_are_checked(api: Api, admin: str) -> None:
    p = await seeded(api, admin)
    base = f"/api/groups/{p.group_a}/checkins"
    for query in (
        "from=2026-03-02T10:00:00",
        "from=yesterday",
        "from=2026-03-02&to=2026-03-01",
        "from=2026-01-01&to=2026-06-01",
    ):
        status, body = await api.call("GET", f"{base}?{query}", p.fac_a)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), query
    start = quote((datetime.now(UTC) - timedelta(hours=2, minutes=30)).isoformat())
    assert await ratings(api, p.fac_a, f"{base}?from={start}") == (200, [(p.pip_id, 2)])


async def test_open_support_requests_for_the_facilitators(api: Api, admin: str) -> None:
    p = await program(api, admin)
    now = datetime.now(UTC)
    async with api.db.begin() as session:
        session.add(
            SupportRequest(
                id=uuid.uuid4(), group_id=uuid.UUID(p.group_a), user_id=uuid.UUID(p.pip_id), note="help", at=now
            )
        )
        session.add(
            SupportRequest(
                id=uuid.uuid4(),
                group_id=uuid.UUID(p.group_a),
                user_id=uuid.UUID(p.quinn_id),
                note=None,
                at=now - timedelta(minutes=5),
                acknowledged_at=now,
            )
        )
    path = f"/api/groups/{p.group_a}/support-requests"
    status, body = await api.call("GET", f"{path}?open=true", p.fac_a)
    assert status == 200
    assert [(r["user_id"], r["note"]) for r in body["support_requests"]] == [(p.pip_id, "help")]
    status, body = await api.call("GET", path, p.fac_a)
    assert len(body["support_requests"]) == 2
    assert (await api.call("GET", f"{path}?open=maybe", p.fac_a))[0] == 400
    assert (await api.call("GET", path, p.fac_b))[0] == 404


async def test_the_chat_purge_erases_old_notes(api: Api, admin: str) -> None:
    p = await program(api, admin)
    old = await add_checkin(api, p.group_a, p.pip_id, 1, "Very old words.", timedelta(days=40))
    new = await add_checkin(api, p.group_a, p.pip_id, 3, "Recent words.", timedelta(days=1))
    async with api.db.begin() as session:
        session.add(
            SupportRequest(
                id=uuid.uuid4(),
                group_id=uuid.UUID(p.group_a),
                user_id=uuid.UUID(p.pip_id),
                note="Old plea.",
                at=datetime.now(UTC) - timedelta(days=40),
            )
        )
    now = datetime.now(UTC)
    await purge_bodies(api.db, now - timedelta(days=30), now)
    async with api.db() as session:
        notes = dict((str(i), n) for i, n in (await session.execute(select(CheckIn.id, CheckIn.note))).all())
        ratings_kept = sorted((await session.execute(select(CheckIn.rating))).scalars())
        pleas = list((await session.execute(select(SupportRequest.note))).scalars())
        purge = await session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "chat.purge"))
    assert notes == {old: None, new: "Recent words."}
    assert ratings_kept == [1, 3]
    assert pleas == [None]
    assert purge is not None
    assert purge["checkin_notes_erased"] == 1
    assert purge["support_notes_erased"] == 1
    assert "words" not in repr(purge)
