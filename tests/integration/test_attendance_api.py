"""Attendance reports, sign-off and corrections over the REST API, from real joins through Socket.IO, on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError

from rooms.events import MemberJoined, MemberLeft, SessionClosed, SessionOpened
from rooms.model import LeaveReason, Member, Role
from server.attendance_report import CSV_COLUMNS
from server.db.models import (
    Attendance,
    AttendanceCorrection,
    AuditEntry,
    ExtraSession,
    MediaMark,
    Session,
)
from server.room_records import DatabaseRoomRecords
from tests.realtime.conftest import Cohort, make_cohort
from tests.support.api import Api


@pytest.fixture
async def cohort(api: Api, admin: str) -> AsyncIterator[Cohort]:
    made = await make_cohort(api, admin, str(api.client.make_url("/")))
    yield made
    for peer in made.peers:
        await peer.close()


async def held_session(cohort: Cohort, end: bool = True) -> str:
    """A session run through Socket.IO: P0 waits, is admitted, turns the camera off and leaves; P1 waits, is
    admitted and stays until the facilitator ends it; P2 and the co-facilitator never come."""
    room = {"room_id": cohort.group_id}
    fac, ack = await cohort.enter(cohort.facilitator)
    assert ack["status"] == "joined"
    p0, p1 = cohort.participants[:2]
    first, ack = await cohort.enter(p0)
    assert ack["status"] == "waiting"
    assert await fac.call("room:admit", {**room, "user_id": p0.user_id}) == {"ok": True}
    await first.next("room:admitted")
    assert await first.call("room:media", {**room, "kind": "video", "enabled": False}) == {"ok": True}
    second, _ = await cohort.enter(p1)
    assert await fac.call("room:admit", {**room, "user_id": p1.user_id}) == {"ok": True}
    await second.next("room:admitted")
    assert await first.call("room:leave", room) == {"ok": True}
    if end:
        assert await fac.call("room:end", room) == {"ok": True}
        await second.next("room:ended")
    async with cohort.api.db() as db:
        return str(await db.scalar(select(Session.id)))


async def get(cohort: Cohort, path: str, token: str | None = None, **kwargs: Any) -> tuple[int, Any]:
    return await cohort.api.call("GET", path, token or cohort.facilitator.token, **kwargs)


async def counts(cohort: Cohort) -> tuple[int, int, int]:
    async with cohort.api.db() as db:
        return (
            await db.scalar(select(func.count()).select_from(AttendanceCorrection)) or 0,
            await db.scalar(select(func.count()).select_from(Session).where(Session.signed_off_at.is_not(None))) or 0,
            await db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("attendance.%")))
            or 0,
        )


async def test_a_session_report_from_real_joins(cohort: Cohort) -> None:
    session_id = await held_session(cohort)
    status, body = await get(cohort, f"/api/sessions/{session_id}/attendance")
    assert status == 200, body
    assert body["session"]["id"] == session_id
    assert body["session"]["status"] == "ended"
    assert body["session"]["scheduled"] is False
    assert body["session"]["ended_by"]["user_id"] == cohort.facilitator.user_id
    assert body["signed_off"] is None
    members = {m["user_id"]: m for m in body["members"]}
    fac, cofac = cohort.facilitator, cohort.co_facilitator
    p0, p1, p2 = cohort.participants
    assert [m["user_id"] for m in body["members"]] == [fac.user_id, cofac.user_id, p0.user_id, p1.user_id, p2.user_id]
    assert [(members[u]["status"], members[u]["role"]) for u in (fac.user_id, cofac.user_id, p2.user_id)] == [
        ("present", "facilitator"),
        ("absent", "facilitator"),
        ("absent", "participant"),
    ]
    first = members[p0.user_id]
    assert first["display_name"] == "P0"
    assert first["status"] == "present"
    assert first["ended"] == ["left"]
    (stretch,) = first["stretches"]
    assert stretch["ended"] == "left"
    assert stretch["admitted_by"] == {"user_id": fac.user_id, "display_name": "Fran"}
    assert stretch["joined_at"] == first["first_joined"]
    assert stretch["left_at"] == first["last_left"]
    assert datetime.fromisoformat(first["first_joined"]).utcoffset() == timedelta(0)
    assert (first["late"], first["left_early"], first["minutes_late"]) == (None, None, None)
    assert members[p1.user_id]["ended"] == ["ended"]
    assert members[p2.user_id]["stretches"] == []
    assert members[p2.user_id]["first_joined"] is None
    # The lobby wait and the camera were recorded behind the figures.
    async with cohort.api.db() as db:
        waited = await db.scalar(select(Attendance.waited_since).where(Attendance.user_id == uuid.UUID(p0.user_id)))
        assert waited is not None
        marks = (
            await db.execute(
                select(MediaMark.video, MediaMark.connected)
                .where(MediaMark.user_id == uuid.UUID(p0.user_id))
                .order_by(MediaMark.at, MediaMark.id)
            )
        ).all()
    assert [tuple(m) for m in marks] == [(True, True), (False, True), (False, False)]

    # Every staff read is audited, by ids only.
    async with cohort.api.db() as db:
        reads = (
            await db.execute(
                select(AuditEntry.actor_id, AuditEntry.target_type, AuditEntry.target_id).where(
                    AuditEntry.action == "attendance.read"
                )
            )
        ).all()
    assert [(str(a), t, i) for a, t, i in reads] == [(fac.user_id, "session", session_id)]


async def test_the_csv_parses_and_matches_the_json(cohort: Cohort) -> None:
    session_id = await held_session(cohort)
    _, report = await get(cohort, f"/api/sessions/{session_id}/attendance")
    for kwargs in ({"params": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        async with cohort.api.client.get(
            f"/api/sessions/{session_id}/attendance",
            headers={"Authorization": f"Bearer {cohort.facilitator.token}", **kwargs.get("headers", {})},
            params=kwargs.get("params", {}),
        ) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            assert response.headers["Content-Disposition"].startswith("attachment; filename=")
            text = await response.text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert tuple(csv.reader(io.StringIO(text)).__next__()) == CSV_COLUMNS
        assert_csv_matches(rows, [report])


def assert_csv_matches(rows: list[dict[str, str]], reports: list[dict[str, Any]]) -> None:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    expected = [(r, m) for r in reports for m in r["members"]]
    assert len(rows) == len(expected)
    for row, (report, member) in zip(rows, expected, strict=True):
        assert row["session_id"] == report["session"]["id"]
        assert row["session_started_at"] == report["session"]["started_at"]
        assert row["scheduled_start"] == cell(report["session"]["scheduled_start"])
        for field in (
            "user_id",
            "display_name",
            "role",
            "status",
            "minutes_present",
            "minutes_camera_on",
            "minutes_waiting",
            "first_joined",
            "last_left",
            "late",
            "minutes_late",
            "left_early",
        ):
            assert row[field] == cell(member[field]), field
        assert row["stretches"] == str(len(member["stretches"]))
        assert row["ended"] == ";".join("in_room" if e is None else e for e in member["ended"])
        assert row["corrections"] == str(len(member["corrections"]))
        fixed = member["corrected"] or {}
        assert row["corrected_status"] == cell(fixed.get("status"))
        assert row["corrected_minutes_present"] == cell(fixed.get("minutes_present"))


async def test_who_may_read(cohort: Cohort) -> None:
    session_id = await held_session(cohort)
    path = f"/api/sessions/{session_id}/attendance"
    assert (await get(cohort, path, cohort.co_facilitator.token))[0] == 200
    assert (await get(cohort, path, cohort.admin))[0] == 200
    status, body = await get(cohort, path, cohort.participants[0].token)
    assert (status, body["error"]["code"]) == (403, "not_authorized")
    status, body = await get(cohort, path, cohort.outsider.token)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert (await get(cohort, path, cohort.outsider.token))[1] == (
        await get(cohort, f"/api/sessions/{uuid.uuid4()}/attendance", cohort.outsider.token)
    )[1]
    group_path = f"/api/groups/{cohort.group_id}/attendance"
    assert (await get(cohort, group_path, cohort.participants[0].token))[0] == 403
    assert (await get(cohort, group_path, cohort.outsider.token))[0] == 404
    assert (await cohort.api.call("GET", path))[0] == 401


async def test_the_group_report_over_a_range(cohort: Cohort) -> None:
    session_id = await held_session(cohort)
    now = datetime.now(UTC)
    params = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    status, body = await get(cohort, f"/api/groups/{cohort.group_id}/attendance", params=params)
    assert status == 200, body
    assert body["group"]["id"] == cohort.group_id
    assert [s["session"]["id"] for s in body["sessions"]] == [session_id]
    assert len(body["sessions"][0]["members"]) == 5
    status, text = await get(cohort, f"/api/groups/{cohort.group_id}/attendance", params={**params, "format": "csv"})
    assert status == 200
    assert_csv_matches(list(csv.DictReader(io.StringIO(text))), body["sessions"])
    # A range before the session holds nothing.
    earlier = {"from": (now - timedelta(days=9)).date().isoformat(), "to": (now - timedelta(days=2)).isoformat()}
    status, body = await get(cohort, f"/api/groups/{cohort.group_id}/attendance", params=earlier)
    assert (status, body["sessions"]) == (200, [])


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"from": "2026-03-10T00:00:00+00:00", "to": "2026-03-10T00:00:00+00:00"},
        {"from": "2026-01-01", "to": "2026-06-01"},
        {"from": "2026-03-01T18:00:00", "to": "2026-03-02"},
        {"from": "last tuesday"},
        {"format": "xml"},
        {"from": "9999-12-30"},  # the default end would be past the last representable day
        {"from": "0001-01-01T00:00:00+01:00"},  # before the first one, in UTC
    ],
)
async def test_bad_ranges_are_refused(cohort: Cohort, params: dict[str, str]) -> None:
    status, body = await get(cohort, f"/api/groups/{cohort.group_id}/attendance", params=params)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert (await counts(cohort))[2] == 0


async def test_unknown_sessions_and_groups(cohort: Cohort) -> None:
    for path in (
        f"/api/sessions/{uuid.uuid4()}/attendance",
        "/api/sessions/not-a-uuid/attendance",
        f"/api/groups/{uuid.uuid4()}/attendance",
    ):
        status, body = await get(cohort, path, cohort.admin)
        assert (status, body["error"]["code"]) == (404, "not_found"), path
    for path, payload in (
        (f"/api/sessions/{uuid.uuid4()}/sign-off", {}),
        (f"/api/sessions/{uuid.uuid4()}/corrections", {"user_id": cohort.participants[0].user_id, "note": "x"}),
    ):
        status, body = await cohort.api.call("POST", path, cohort.facilitator.token, payload)
        assert (status, body["error"]["code"]) == (404, "not_found"), path
    assert await counts(cohort) == (0, 0, 0)


async def test_sign_off_is_final_and_corrections_sit_beside_it(cohort: Cohort) -> None:
    session_id = await held_session(cohort, end=False)
    sign = f"/api/sessions/{session_id}/sign-off"
    fac = cohort.facilitator.token
    status, body = await cohort.api.call("POST", sign, fac, {})
    assert (status, body["error"]["code"]) == (409, "conflict")  # still open
    await cohort.peers[0].call("room:end", {"room_id": cohort.group_id})

    for token, code in ((cohort.participants[1].token, 403), (cohort.admin, 403), (cohort.outsider.token, 404)):
        assert (await cohort.api.call("POST", sign, token, {}))[0] == code
    status, body = await cohort.api.call("POST", sign, fac, {"note": "x" * 1001})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert (await counts(cohort))[1] == 0

    before = (await get(cohort, f"/api/sessions/{session_id}/attendance"))[1]["members"]
    status, body = await cohort.api.call("POST", sign, fac, {"note": "Week 3, all accounted for."})
    assert status == 200, body
    assert body["signed_off"]["by"] == {"user_id": cohort.facilitator.user_id, "display_name": "Fran"}
    assert body["signed_off"]["note"] == "Week 3, all accounted for."
    assert body["members"] == before
    status, body = await cohort.api.call("POST", sign, cohort.co_facilitator.token, {})
    assert (status, body["error"]["code"]) == (409, "conflict")

    # The database itself refuses to change the signed record.
    for statement in (
        update(Session).where(Session.id == uuid.UUID(session_id)).values(sign_off_note="changed"),
        update(Attendance).where(Attendance.session_id == uuid.UUID(session_id)).values(leave_reason="left"),
        update(MediaMark).where(MediaMark.session_id == uuid.UUID(session_id)).values(video=True),
        insert(Attendance).values(
            session_id=uuid.UUID(session_id),
            user_id=uuid.UUID(cohort.participants[2].user_id),
            role="participant",
            joined_at=datetime.now(UTC),
        ),
        insert(MediaMark).values(
            session_id=uuid.UUID(session_id),
            user_id=uuid.UUID(cohort.participants[2].user_id),
            at=datetime.now(UTC),
            video=True,
            connected=True,
        ),
    ):
        with pytest.raises(DBAPIError):
            async with cohort.api.db.begin() as db:
                await db.execute(statement)

    corrections = f"/api/sessions/{session_id}/corrections"
    p2 = cohort.participants[2]
    bad = [
        {"user_id": p2.user_id, "status": "present"},
        {"user_id": p2.user_id, "status": "present", "note": ""},
        {"user_id": p2.user_id, "status": "present", "note": "y" * 1001},
        {"user_id": p2.user_id, "status": "late", "note": "n"},
        {"user_id": p2.user_id, "minutes_present": -1, "note": "n"},
        {"user_id": p2.user_id, "status": "absent", "minutes_present": 5, "note": "n"},
        {"user_id": "nobody", "note": "n"},
        {"user_id": p2.user_id, "note": "n", "extra": 1},
    ]
    for payload in bad:
        status, body = await cohort.api.call("POST", corrections, fac, payload)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), payload
    status, body = await cohort.api.call(
        "POST", corrections, fac, {"user_id": cohort.outsider.user_id, "status": "present", "note": "n"}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _ = await cohort.api.call(
        "POST", corrections, cohort.participants[0].token, {"user_id": p2.user_id, "note": "n"}
    )
    assert status == 403
    assert (await counts(cohort))[0] == 0

    note = "Joined by phone; the facilitator saw them throughout."
    status, body = await cohort.api.call(
        "POST",
        corrections,
        cohort.admin,
        {"user_id": p2.user_id, "status": "present", "minutes_present": 50, "note": note},
    )
    assert status == 201, body
    member = next(m for m in body["members"] if m["user_id"] == p2.user_id)
    # The original stands; the correction is beside it.
    assert (member["status"], member["minutes_present"]) == ("absent", 0)
    (correction,) = member["corrections"]
    assert (correction["status"], correction["minutes_present"], correction["note"]) == ("present", 50, note)
    assert correction["by"]["display_name"] == "Program Admin"
    assert member["corrected"] == {"status": "present", "minutes_present": 50}
    assert body["signed_off"]["note"] == "Week 3, all accounted for."
    status, body = await cohort.api.call(
        "POST", corrections, fac, {"user_id": p2.user_id, "minutes_present": 45, "note": "Recounted."}
    )
    assert status == 201
    member = next(m for m in body["members"] if m["user_id"] == p2.user_id)
    assert member["corrected"] == {"status": "present", "minutes_present": 45}
    assert len(member["corrections"]) == 2
    with pytest.raises(DBAPIError):  # a correction is never edited: another is added
        async with cohort.api.db.begin() as db:
            await db.execute(update(AttendanceCorrection).values(minutes_present=0))

    async with cohort.api.db() as db:
        rows = (
            await db.execute(
                select(AuditEntry.action, AuditEntry.detail)
                .where(AuditEntry.action.in_(["attendance.sign_off", "attendance.correct"]))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [a for a, _ in rows] == ["attendance.sign_off", "attendance.correct", "attendance.correct"]
    for _, detail in rows:
        assert "note" not in detail
        assert note not in str(detail)
        assert "Week 3" not in str(detail)

    # A member taken out of the group later is still listed absent in the record that was signed.
    status, _ = await cohort.api.call("DELETE", f"/api/groups/{cohort.group_id}/members/{p2.user_id}", cohort.admin)
    assert status == 204
    signed = (await get(cohort, f"/api/sessions/{session_id}/attendance"))[1]["members"]
    assert (next(m for m in signed if m["user_id"] == p2.user_id))["status"] == "absent"
    # ... and can still be corrected; someone enrolled after the session was never expected there.
    status, _ = await cohort.api.call("POST", corrections, fac, {"user_id": p2.user_id, "note": "Left the program."})
    assert status == 201
    latecomer, _ = await cohort.api.user(cohort.admin, "latecomer@example.org", "participant")
    await cohort.api.enrol(cohort.admin, cohort.group_id, latecomer, "participant")
    status, body = await cohort.api.call("POST", corrections, fac, {"user_id": latecomer, "note": "n"})
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_figures_from_recorded_times(cohort: Cohort) -> None:
    """Stays and marks written by the room records at set times: minutes, camera, wait, late and early."""
    api = cohort.api
    records = DatabaseRoomRecords(api.db)
    group = uuid.UUID(cohort.group_id)
    start = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    occurrence = uuid.uuid4()
    async with api.db.begin() as db:
        db.add(
            ExtraSession(
                id=occurrence,
                group_id=group,
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                created_at=start - timedelta(days=1),
            )
        )
    t = start.timestamp()
    fac, p0, p1 = cohort.facilitator, cohort.participants[0], cohort.participants[1]
    facilitator = Member(fac.user_id, "Fran", Role.FACILITATOR, "sid-f", t - 300)
    first = Member(p0.user_id, "P0", Role.PARTICIPANT, "sid-0", t + 600, admitted_by=fac.user_id)
    second = Member(p1.user_id, "P1", Role.PARTICIPANT, "sid-1", t + 480, admitted_by=fac.user_id, video=False)
    sid = str(occurrence)
    await records.record(cohort.group_id, [SessionOpened(sid, fac.user_id, t - 300), MemberJoined(facilitator, None)])
    await records.record(cohort.group_id, [MemberJoined(second, fac.user_id, t - 60)])
    await records.record(cohort.group_id, [MemberJoined(first, fac.user_id, t + 420)])
    await records.record(cohort.group_id, [MemberLeft(p1.user_id, "sid-1", LeaveReason.LEFT, t + 1800)])
    await records.record(
        cohort.group_id,
        [
            MemberLeft(fac.user_id, "sid-f", LeaveReason.ENDED, t + 3000),
            MemberLeft(p0.user_id, "sid-0", LeaveReason.ENDED, t + 3000),
            SessionClosed(sid, fac.user_id, t + 3000),
        ],
    )
    status, body = await get(cohort, f"/api/sessions/{sid}/attendance")
    assert status == 200, body
    assert body["session"]["scheduled"] is True
    assert body["session"]["scheduled_start"] == start.isoformat()
    assert body["session"]["scheduled_end"] == (start + timedelta(hours=1)).isoformat()
    members = {m["user_id"]: m for m in body["members"]}
    late = members[p0.user_id]
    assert (late["minutes_present"], late["minutes_camera_on"], late["minutes_waiting"]) == (40, 40, 3)
    assert (late["late"], late["minutes_late"], late["left_early"]) == (True, 7, False)
    early = members[p1.user_id]
    assert (early["minutes_present"], early["minutes_camera_on"], early["minutes_waiting"]) == (22, 0, 9)
    # In the lobby before the start and admitted 8 minutes in: kept waiting, not late.
    assert (early["late"], early["minutes_late"], early["left_early"]) == (False, 0, True)
    assert members[fac.user_id]["minutes_present"] == 55

    # The facilitator opens the room again within the occurrence: the same session, open again, same start.
    await records.record(cohort.group_id, [SessionOpened(sid, cohort.co_facilitator.user_id, t + 3300)])
    async with api.db() as db:
        row = await db.get(Session, occurrence)
        assert row is not None
        assert (row.started_at, row.ended_at, row.ended_by) == (start - timedelta(minutes=5), None, None)
        assert str(row.opened_by) == fac.user_id
        assert row.scheduled_start == start

    # Records may commit out of order: a close dated before a re-opening's join does not end what came after it.
    co = cohort.co_facilitator
    back = Member(co.user_id, "Cole", Role.FACILITATOR, "sid-c", t + 3300)
    await records.record(cohort.group_id, [MemberJoined(back, None)])
    await records.record(cohort.group_id, [SessionClosed(sid, fac.user_id, t + 3200)])
    async with api.db() as db:
        row = await db.get(Session, occurrence)
        assert row is not None
        assert row.ended_at is None
        stays = (await db.execute(select(Attendance.left_at).where(Attendance.user_id == uuid.UUID(co.user_id)))).all()
    assert [left for (left,) in stays] == [None]
