"""Schedules through REST: weekly series in the group's time zone, cancelled dates, one-offs, the session list,
who may change them, and bad input refused with nothing changed. On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select

from server import schedule, schedule_store
from server.db.models import AuditEntry, ExtraSession, Schedule, ScheduleCancellation, Session
from tests.support.api import Api

UNKNOWN = "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"
SUNDAYS_1800 = {
    "weekdays": [7],
    "start_time": "18:00",
    "duration_minutes": 90,
    "starts_on": "2026-03-01",
    "ends_on": "2026-11-08",
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def q(moment: datetime | str) -> str:
    return quote(moment if isinstance(moment, str) else moment.isoformat())


@dataclass
class People:
    group_id: str
    admin: str
    facilitator: str
    participant: str
    outsider: str


async def people(api: Api, admin: str, timezone: str = "America/New_York") -> People:
    facilitator_id, facilitator = await api.user(admin, "fac@example.org", "facilitator", "Fran")
    participant_id, participant = await api.user(admin, "part@example.org", "participant", "Pip")
    _, outsider = await api.user(admin, "out@example.org", "participant", "Olu")
    status, group = await api.call(
        "POST", "/api/groups", admin, {"name": "Evening IOP", "capacity": 12, "timezone": timezone}
    )
    assert status == 201, group
    assert group["timezone"] == timezone
    await api.enrol(admin, group["id"], facilitator_id, "facilitator")
    await api.enrol(admin, group["id"], participant_id, "participant")
    return People(group["id"], admin, facilitator, participant, outsider)


async def add_series(api: Api, token: str, group_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    status, created = await api.call("POST", f"/api/groups/{group_id}/schedules", token, body or SUNDAYS_1800)
    assert status == 201, created
    return dict(created)


async def sessions(api: Api, token: str, group_id: str, start: str, end: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/groups/{group_id}/sessions?from={q(start)}&to={q(end)}", token)
    assert status == 200, body
    return list(body["sessions"])


async def counts(api: Api) -> dict[str, int]:
    async with api.db() as session:
        found = {}
        for model in (Schedule, ScheduleCancellation, ExtraSession, AuditEntry):
            found[model.__name__] = int((await session.execute(select(func.count()).select_from(model))).scalar_one())
        return found


async def audited(api: Api) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    async with api.db() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.target_id, AuditEntry.detail).order_by(AuditEntry.id)
        )
        return [(a, t, d) for a, t, d in rows.all() if a.startswith(("schedule.", "extra_session."))]


async def test_a_weekly_series_keeps_18_00_in_new_york_across_both_changes(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    assert created["weekdays"] == [7]
    assert created["start_time"] == "18:00"
    assert created["timezone"] == "America/New_York"
    assert created["ends_on"] == "2026-11-08"

    march = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    assert [s["starts_at"] for s in march] == [
        "2026-03-01T23:00:00+00:00",  # EST
        "2026-03-08T22:00:00+00:00",  # EDT: the clocks changed that morning
        "2026-03-15T22:00:00+00:00",
    ]
    assert [s["ends_at"] for s in march] == [
        "2026-03-02T00:30:00+00:00",
        "2026-03-08T23:30:00+00:00",
        "2026-03-15T23:30:00+00:00",
    ]
    first = march[0]
    assert (first["status"], first["scheduled"], first["signed_off"]) == ("scheduled", True, False)
    assert (first["schedule_id"], first["group_id"]) == (created["id"], team.group_id)
    assert (first["started_at"], first["ended_at"]) == (None, None)
    assert first["id"] == str(uuid.uuid5(schedule.SCHEDULE_NAMESPACE, f"{created['id']}/2026-03-01"))

    november = await sessions(api, team.participant, team.group_id, "2026-10-20", "2026-11-20")
    assert [s["starts_at"] for s in november] == [
        "2026-10-25T22:00:00+00:00",
        "2026-11-01T23:00:00+00:00",  # EST again
        "2026-11-08T23:00:00+00:00",  # the series' last date
    ]
    # The same in the caller's offset: the range is a range of instants.
    shifted = await sessions(api, team.participant, team.group_id, "2026-03-01T00:00:00+05:00", "2026-03-02")
    assert [s["starts_at"] for s in shifted] == ["2026-03-01T23:00:00+00:00"]


async def test_cancel_restore_one_off_update_and_delete_each_audited(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    series = f"/api/groups/{team.group_id}/schedules/{created['id']}"

    status, cancelled = await api.call("POST", f"{series}/cancellations", team.facilitator, {"date": "2026-03-08"})
    assert status == 201, cancelled
    assert cancelled["date"] == "2026-03-08"
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    assert [s["status"] for s in listed] == ["scheduled", "cancelled", "scheduled"]
    assert listed[1]["id"] == cancelled["session_id"]
    status, shown = await api.call("GET", f"/api/groups/{team.group_id}/schedules", team.participant)
    assert status == 200
    assert shown["timezone"] == "America/New_York"
    assert [s["cancelled_dates"] for s in shown["schedules"]] == [["2026-03-08"]]

    status, _ = await api.call("DELETE", f"{series}/cancellations/2026-03-08", admin)
    assert status == 204
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    assert [s["status"] for s in listed] == ["scheduled"] * 3

    status, extra = await api.call(
        "POST",
        f"/api/groups/{team.group_id}/extra-sessions",
        team.facilitator,
        {"starts_at": "2026-03-04T12:00:00-05:00", "ends_at": "2026-03-04T13:00:00-05:00"},
    )
    assert status == 201, extra
    assert extra["starts_at"] == "2026-03-04T17:00:00+00:00"
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-09")
    assert [(s["id"], s["schedule_id"], s["scheduled"]) for s in listed][1] == (extra["id"], None, True)
    assert len(listed) == 3

    status, updated = await api.call(
        "PATCH", series, team.facilitator, {"start_time": "19:30", "weekdays": [1, 7], "ends_on": None}
    )
    assert status == 200, updated
    assert (updated["start_time"], updated["weekdays"], updated["ends_on"]) == ("19:30", [1, 7], None)
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-04")
    assert [s["starts_at"] for s in listed] == ["2026-03-02T00:30:00+00:00", "2026-03-03T00:30:00+00:00"]
    # Same date, same id, whatever the time became.
    assert listed[0]["id"] == str(uuid.uuid5(schedule.SCHEDULE_NAMESPACE, f"{created['id']}/2026-03-01"))

    status, _ = await api.call("DELETE", f"/api/groups/{team.group_id}/extra-sessions/{extra['id']}", team.facilitator)
    assert status == 204
    status, _ = await api.call("DELETE", series, team.facilitator)
    assert status == 204
    assert await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16") == []

    trail = await audited(api)
    assert [(action, target) for action, target, _ in trail] == [
        ("schedule.create", created["id"]),
        ("schedule.cancel", created["id"]),
        ("schedule.restore", created["id"]),
        ("extra_session.create", extra["id"]),
        ("schedule.update", created["id"]),
        ("extra_session.delete", extra["id"]),
        ("schedule.delete", created["id"]),
    ]
    assert all(detail is not None and detail["group_id"] == team.group_id for _, _, detail in trail)
    assert trail[1][2] == {"group_id": team.group_id, "date": "2026-03-08"}


async def test_who_may_read_and_change_a_schedule(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.admin, team.group_id)  # admins manage any group's schedule
    base = f"/api/groups/{team.group_id}"
    series = f"{base}/schedules/{created['id']}"
    status, extra = await api.call(
        "POST", f"{base}/extra-sessions", team.admin, {"starts_at": "2026-03-04T17:00Z", "ends_at": "2026-03-04T18:00Z"}
    )
    assert status == 201
    changes: list[tuple[str, str, Any]] = [
        ("POST", f"{base}/schedules", SUNDAYS_1800),
        ("PATCH", series, {"duration_minutes": 60}),
        ("DELETE", series, None),
        ("POST", f"{series}/cancellations", {"date": "2026-03-08"}),
        ("DELETE", f"{series}/cancellations/2026-03-08", None),
        ("POST", f"{base}/extra-sessions", {"starts_at": "2026-03-05T17:00Z", "ends_at": "2026-03-05T18:00Z"}),
        ("DELETE", f"{base}/extra-sessions/{extra['id']}", None),
    ]
    reads = [f"{base}/schedules", f"{base}/sessions?from=2026-03-01&to=2026-03-10"]
    before = await counts(api)
    for method, path, payload in changes:
        status, body = await api.call(method, path, team.participant, payload)
        assert (status, body["error"]["code"]) == (403, "not_authorized"), (method, path)
        # Someone outside the group learns nothing, not even that the group exists.
        status, body = await api.call(method, path, team.outsider, payload)
        assert (status, body["error"]["code"]) == (404, "not_found"), (method, path)
    for path in reads:
        assert (await api.call("GET", path, team.participant))[0] == 200
        assert (await api.call("GET", path, team.facilitator))[0] == 200
        status, body = await api.call("GET", path, team.outsider)
        assert (status, body["error"]["code"]) == (404, "not_found")
        assert (await api.call("GET", path))[0] == 401
    assert await counts(api) == before


async def test_unknown_groups_schedules_and_dates_are_not_found(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    status, other_group = await api.call("POST", "/api/groups", admin, {"name": "Other", "capacity": 5})
    other_series = await add_series(api, admin, other_group["id"])
    base = f"/api/groups/{team.group_id}"
    before = await counts(api)
    cases: list[tuple[str, str, Any]] = [
        ("GET", f"/api/groups/{UNKNOWN}/schedules", None),
        ("POST", f"/api/groups/{UNKNOWN}/schedules", SUNDAYS_1800),
        ("GET", f"/api/groups/{UNKNOWN}/sessions", None),
        ("GET", "/api/groups/not-a-uuid/sessions", None),
        ("PATCH", f"{base}/schedules/{UNKNOWN}", {"duration_minutes": 60}),
        ("DELETE", f"{base}/schedules/{UNKNOWN}", None),
        # A series of another group is not this group's.
        ("PATCH", f"{base}/schedules/{other_series['id']}", {"duration_minutes": 60}),
        ("DELETE", f"{base}/schedules/{other_series['id']}", None),
        ("POST", f"{base}/schedules/{UNKNOWN}/cancellations", {"date": "2026-03-08"}),
        ("DELETE", f"{base}/schedules/{created['id']}/cancellations/2026-03-08", None),  # not cancelled
        ("DELETE", f"{base}/schedules/{created['id']}/cancellations/someday", None),
        ("DELETE", f"{base}/extra-sessions/{UNKNOWN}", None),
    ]
    for method, path, payload in cases:
        for token in (team.facilitator, team.admin):
            status, body = await api.call(method, path, token, payload)
            assert (status, body["error"]["code"]) == (404, "not_found"), (method, path)
    assert await counts(api) == before


async def test_bad_input_is_refused_with_a_stable_code_and_nothing_changes(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    base = f"/api/groups/{team.group_id}"
    series = f"{base}/schedules/{created['id']}"
    await api.call("POST", f"{series}/cancellations", team.facilitator, {"date": "2026-03-08"})

    def with_(**change: Any) -> dict[str, Any]:
        return {**SUNDAYS_1800, **change}

    refused: list[tuple[str, str, Any, int, str]] = [
        ("POST", f"{base}/schedules", with_(weekdays=[0]), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(weekdays=[8]), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(weekdays=[]), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(weekdays=["monday"]), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(weekdays=[True]), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(duration_minutes=4), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(duration_minutes=721), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(start_time="25:00"), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(start_time="18:00+02:00"), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(starts_on="2026-03-10", ends_on="2026-03-01"), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(starts_on="March 1"), 400, "invalid_request"),
        ("POST", f"{base}/schedules", with_(room="A"), 400, "invalid_request"),
        ("POST", f"{base}/schedules", {"weekdays": [1]}, 400, "invalid_request"),
        ("PATCH", series, {}, 400, "invalid_request"),
        ("PATCH", series, {"weekdays": None}, 400, "invalid_request"),
        ("PATCH", series, {"ends_on": "2026-02-01"}, 400, "invalid_request"),
        ("PATCH", series, {"duration_minutes": 0}, 400, "invalid_request"),
        ("POST", f"{series}/cancellations", {"date": "2026-03-09"}, 400, "invalid_request"),  # a Monday
        ("POST", f"{series}/cancellations", {"date": "2026-11-15"}, 400, "invalid_request"),  # after the end
        ("POST", f"{series}/cancellations", {"date": "2026-03-08"}, 409, "conflict"),  # already cancelled
        ("POST", f"{series}/cancellations", {"date": "8 March"}, 400, "invalid_request"),
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "2026-03-04T12:00:00", "ends_at": "2026-03-04T13:00:00"},
            400,
            "invalid_request",
        ),  # naive times
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "2026-03-04T13:00:00Z", "ends_at": "2026-03-04T12:00:00Z"},
            400,
            "invalid_request",
        ),  # inverted
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "2026-03-04T12:00:00Z", "ends_at": "2026-03-05T12:00:00Z"},
            400,
            "invalid_request",
        ),  # a day long
        ("PATCH", f"/api/groups/{team.group_id}", {"timezone": "Mars/Olympus_Mons"}, 400, "invalid_request"),
        ("PATCH", f"/api/groups/{team.group_id}", {"timezone": "../../etc/passwd"}, 400, "invalid_request"),
        ("POST", "/api/groups", {"name": "X", "capacity": 5, "timezone": "EST+5"}, 400, "invalid_request"),
    ]
    before = await counts(api)
    for method, path, payload, status_expected, code in refused:
        status, body = await api.call(method, path, admin, payload)
        assert (status, body["error"]["code"]) == (status_expected, code), (method, path, payload)
        assert body["error"]["message"]
    status, group = await api.call("GET", f"/api/groups/{team.group_id}", admin)
    assert group["timezone"] == "America/New_York"
    status, shown = await api.call("GET", f"{base}/schedules", admin)
    assert shown["schedules"][0] == {**created, "cancelled_dates": ["2026-03-08"]}
    assert await counts(api) == before


async def test_bad_ranges_are_refused(api: Api, admin: str) -> None:
    team = await people(api, admin)
    for path in (f"/api/groups/{team.group_id}/sessions", "/api/me/sessions"):
        for query in (
            "from=2026-03-10&to=2026-03-01",  # inverted
            "from=2026-03-10&to=2026-03-10",  # empty
            "from=2026-01-01&to=2026-04-04",  # over 92 days
            "from=2026-03-01T18:00:00&to=2026-03-02",  # naive
            "from=yesterday",
            "to=2026-13-01",
        ):
            status, body = await api.call("GET", f"{path}?{query}", team.participant)
            assert status == 400, (path, query, body)
            assert body["error"]["code"] == "invalid_request"
        status, body = await api.call("GET", f"{path}?from=2026-01-01&to=2026-04-03T00:00:00Z", team.participant)
        assert status == 200, body  # exactly 92 days


async def test_the_group_time_zone_moves_the_series_with_it(api: Api, admin: str) -> None:
    team = await people(api, admin, timezone="UTC")
    await add_series(api, team.facilitator, team.group_id)
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-02")
    assert [s["starts_at"] for s in listed] == ["2026-03-01T18:00:00+00:00"]
    status, group = await api.call("PATCH", f"/api/groups/{team.group_id}", admin, {"timezone": "Europe/Berlin"})
    assert (status, group["timezone"]) == (200, "Europe/Berlin")
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-02")
    assert [s["starts_at"] for s in listed] == ["2026-03-01T17:00:00+00:00"]
    status, groups = await api.call("GET", "/api/groups", team.participant)
    assert groups["groups"][0]["timezone"] == "Europe/Berlin"


async def hold(
    api: Api,
    group_id: str,
    session_id: uuid.UUID,
    started_at: datetime,
    ended_at: datetime | None,
    scheduled: tuple[datetime, datetime] | None = None,
    signed_off: bool = False,
) -> None:
    """A session row as the room writes it when a facilitator opens the room."""
    async with api.db.begin() as session:
        session.add(
            Session(
                id=session_id,
                group_id=uuid.UUID(group_id),
                started_at=started_at,
                ended_at=ended_at,
                scheduled_start=None if scheduled is None else scheduled[0],
                scheduled_end=None if scheduled is None else scheduled[1],
                signed_off_at=ended_at if signed_off else None,
            )
        )


async def test_held_sessions_take_their_dated_places_and_unscheduled_ones_are_listed(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    march = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    first, second = uuid.UUID(march[0]["id"]), uuid.UUID(march[1]["id"])
    times = (utc(2026, 3, 1, 23), utc(2026, 3, 2, 0, 30))
    await hold(api, team.group_id, first, utc(2026, 3, 1, 22, 50), utc(2026, 3, 2, 0, 40), times, signed_off=True)
    await hold(
        api, team.group_id, second, utc(2026, 3, 8, 21, 58), None, (utc(2026, 3, 8, 22), utc(2026, 3, 8, 23, 30))
    )
    walk_in = uuid.uuid4()
    await hold(api, team.group_id, walk_in, utc(2026, 3, 10, 15), utc(2026, 3, 10, 16))
    await hold(api, team.group_id, uuid.uuid4(), utc(2026, 4, 10, 15), utc(2026, 4, 10, 16))  # outside the range
    # A series date cancelled after it was held still lists what was held.
    await api.call(
        "POST", f"/api/groups/{team.group_id}/schedules/{created['id']}/cancellations", admin, {"date": "2026-03-08"}
    )

    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    assert [(s["id"], s["status"], s["scheduled"], s["signed_off"]) for s in listed] == [
        (str(first), "ended", True, True),
        (str(second), "open", True, False),
        (str(walk_in), "ended", False, False),
        (march[2]["id"], "scheduled", True, False),
    ]
    assert listed[0]["starts_at"] == "2026-03-01T23:00:00+00:00"  # the scheduled start, not the opening
    assert listed[0]["started_at"] == "2026-03-01T22:50:00+00:00"
    assert listed[0]["ended_at"] == "2026-03-02T00:40:00+00:00"
    assert listed[0]["schedule_id"] == created["id"]
    assert listed[2]["starts_at"] == "2026-03-10T15:00:00+00:00"  # an unscheduled one: when it started
    assert listed[2]["ends_at"] == "2026-03-10T16:00:00+00:00"
    assert listed[2]["schedule_id"] is None
    # The series moves to 20:00 later: what was held stays listed at the times it was held for.
    status, _ = await api.call(
        "PATCH", f"/api/groups/{team.group_id}/schedules/{created['id']}", admin, {"start_time": "20:00"}
    )
    assert status == 200
    moved = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-16")
    assert next(s for s in moved if s["id"] == str(first))["starts_at"] == "2026-03-01T23:00:00+00:00"
    assert march[2]["id"] not in {s["id"] for s in moved}  # its date now starts at 00:00 UTC on the 16th


async def test_my_sessions_lists_my_groups_next_and_live_sessions(api: Api, admin: str) -> None:
    team = await people(api, admin)
    now = datetime.now(UTC).replace(microsecond=0)
    status, other = await api.call("POST", "/api/groups", admin, {"name": "Not mine", "capacity": 5})
    for group_id in (team.group_id, other["id"]):
        status, _ = await api.call(
            "POST",
            f"/api/groups/{group_id}/extra-sessions",
            admin,
            {
                "starts_at": (now + timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=1, hours=1)).isoformat(),
            },
        )
        assert status == 201
    live = uuid.uuid4()
    await hold(api, team.group_id, live, now - timedelta(minutes=5), None)

    status, body = await api.call("GET", "/api/me/sessions", team.participant)
    assert status == 200, body
    assert [(s["group_name"], s["status"], s["group_id"]) for s in body["sessions"]] == [
        ("Evening IOP", "open", team.group_id),
        ("Evening IOP", "scheduled", team.group_id),
    ]
    assert body["sessions"][0]["id"] == str(live)
    assert (await api.call("GET", "/api/me/sessions", team.outsider))[1] == {"sessions": []}
    # An archived group's sessions are not on the home page.
    await api.call("PATCH", f"/api/groups/{team.group_id}", admin, {"archived": True})
    assert (await api.call("GET", "/api/me/sessions", team.participant))[1] == {"sessions": []}


async def test_the_store_answers_what_the_room_asks(api: Api, admin: str) -> None:
    team = await people(api, admin)
    group_id = uuid.UUID(team.group_id)
    engine = api.db.kw["bind"]
    async with engine.connect() as connection:
        # Nothing scheduled at all: the room is open to participants whenever, as before schedules.
        assert await schedule_store.participant_gate(connection, group_id, utc(2026, 3, 1, 12), 10) is None
        assert await schedule_store.occurrence_for_opening(connection, group_id, utc(2026, 3, 1, 12)) is None
    created = await add_series(api, team.facilitator, team.group_id)
    await api.call(
        "POST", f"/api/groups/{team.group_id}/schedules/{created['id']}/cancellations", admin, {"date": "2026-03-08"}
    )
    start = utc(2026, 3, 1, 23)
    async with engine.connect() as connection:
        gate = schedule_store.participant_gate
        assert await gate(connection, group_id, start - timedelta(minutes=11), 10) == start - timedelta(minutes=10)
        assert await gate(connection, group_id, start - timedelta(minutes=10), 10) is None
        assert await gate(connection, group_id, start + timedelta(minutes=89), 10) is None
        # March 8 is cancelled: after March 1 the room next opens before March 15.
        assert await gate(connection, group_id, start + timedelta(minutes=90), 10) == utc(2026, 3, 15, 21, 50)
        # After the series' last date there is nothing ahead.
        assert await gate(connection, group_id, utc(2026, 11, 10), 10) == datetime.max.replace(tzinfo=UTC)

        opened = await schedule_store.occurrence_for_opening(connection, group_id, start - timedelta(minutes=60))
        assert opened is not None
        assert (opened.starts_at, opened.schedule_id) == (start, uuid.UUID(created["id"]))
        assert await schedule_store.occurrence_for_opening(connection, group_id, start - timedelta(minutes=61)) is None
        assert await schedule_store.occurrence_for_opening(connection, group_id, utc(2026, 3, 8, 22, 5)) is None

        found = await schedule_store.occurrence_by_id(connection, group_id, opened.id, start + timedelta(hours=3))
        assert found == opened
        assert await schedule_store.occurrence_by_id(connection, group_id, uuid.uuid4(), start) is None
        assert await schedule_store.occurrence_by_id(connection, uuid.uuid4(), opened.id, start) is None

        dated = await schedule_store.occurrences(connection, group_id, utc(2026, 3, 1), utc(2026, 3, 16))
        assert [o.cancelled for o in dated] == [False, True, False]

    status, extra = await api.call(
        "POST",
        f"/api/groups/{team.group_id}/extra-sessions",
        admin,
        {"starts_at": "2026-03-04T17:00:00Z", "ends_at": "2026-03-04T18:00:00Z"},
    )
    assert status == 201
    async with engine.connect() as connection:
        one_off = await schedule_store.occurrence_by_id(connection, group_id, uuid.UUID(extra["id"]), utc(2026, 1, 1))
        assert one_off is not None
        assert (one_off.schedule_id, one_off.starts_at) == (None, utc(2026, 3, 4, 17))
        assert await schedule_store.participant_gate(connection, group_id, utc(2026, 3, 4, 16), 10) == utc(
            2026, 3, 4, 16, 50
        )
        opening = await schedule_store.occurrence_for_opening(connection, group_id, utc(2026, 3, 4, 16, 30))
        assert opening is not None
        assert opening.id == uuid.UUID(extra["id"])
    # Deleting every schedule (but a one-off already past) still leaves the group scheduled: it opens with the next.
    await api.call("DELETE", f"/api/groups/{team.group_id}/schedules/{created['id']}", admin)
    async with engine.connect() as connection:
        assert await schedule_store.participant_gate(connection, group_id, utc(2026, 4, 1), 10) == datetime.max.replace(
            tzinfo=UTC
        )


async def test_dates_outside_2000_to_2100_are_refused_naming_the_field(api: Api, admin: str) -> None:
    team = await people(api, admin)
    created = await add_series(api, team.facilitator, team.group_id)
    base = f"/api/groups/{team.group_id}"
    series = f"{base}/schedules/{created['id']}"
    refused: list[tuple[str, str, Any, str]] = [
        ("POST", f"{base}/schedules", {**SUNDAYS_1800, "starts_on": "9999-12-25", "ends_on": None}, "starts_on"),
        ("POST", f"{base}/schedules", {**SUNDAYS_1800, "starts_on": "1999-12-31"}, "starts_on"),
        ("POST", f"{base}/schedules", {**SUNDAYS_1800, "starts_on": "0001-01-01"}, "starts_on"),
        ("POST", f"{base}/schedules", {**SUNDAYS_1800, "ends_on": "2101-01-01"}, "ends_on"),
        ("PATCH", series, {"starts_on": "9999-12-25", "ends_on": None}, "starts_on"),
        ("PATCH", series, {"ends_on": "2101-01-06"}, "ends_on"),
        ("POST", f"{series}/cancellations", {"date": "9999-12-26"}, "date"),
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "0001-01-01T00:00:00+05:00", "ends_at": "0001-01-01T01:00:00+05:00"},
            "starts_at",
        ),
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "9999-12-31T20:00:00-05:00", "ends_at": "9999-12-31T21:00:00-05:00"},
            "starts_at",
        ),
        (
            "POST",
            f"{base}/extra-sessions",
            {"starts_at": "2100-12-31T23:30:00Z", "ends_at": "2101-01-01T00:30:00Z"},
            "ends_at",
        ),
    ]
    before = await counts(api)
    for method, path, payload, field in refused:
        status, body = await api.call(method, path, team.facilitator, payload)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), (method, path, payload, body)
        assert f"'{field}'" in body["error"]["message"], body
    assert await counts(api) == before
    # The bounds themselves are fine.
    status, body = await api.call(
        "POST",
        f"{base}/schedules",
        team.facilitator,
        {**SUNDAYS_1800, "starts_on": "2100-12-01", "ends_on": "2100-12-31"},
    )
    assert status == 201, body
    status, body = await api.call(
        "POST",
        f"{base}/extra-sessions",
        team.facilitator,
        {"starts_at": "2000-01-01T00:00:00Z", "ends_at": "2000-01-01T01:00:00Z"},
    )
    assert status == 201, body


async def test_repeated_weekdays_are_folded_up_to_fourteen_entries(api: Api, admin: str) -> None:
    team = await people(api, admin)
    base = f"/api/groups/{team.group_id}/schedules"
    body = {**SUNDAYS_1800, "weekdays": [1, 2, 3, 4, 5, 6, 7, 1]}
    created = await add_series(api, team.facilitator, team.group_id, body)
    assert created["weekdays"] == [1, 2, 3, 4, 5, 6, 7]
    status, updated = await api.call(
        "PATCH", f"{base}/{created['id']}", team.facilitator, {"weekdays": [7, 6, 5, 4, 3, 2, 1] * 2}
    )
    assert (status, updated["weekdays"]) == (200, [1, 2, 3, 4, 5, 6, 7])
    status, refused = await api.call("PATCH", f"{base}/{created['id']}", team.facilitator, {"weekdays": [1] * 15})
    assert (status, refused["error"]["code"]) == (400, "invalid_request")
    assert "'weekdays'" in refused["error"]["message"]


async def test_a_row_stored_before_the_bounds_does_not_break_the_room(api: Api, admin: str) -> None:
    team = await people(api, admin)
    group_id = uuid.UUID(team.group_id)
    legacy = uuid.uuid4()
    async with api.db.begin() as session:
        for on in ("9999-12-25", "0001-01-01"):
            session.add(
                Schedule(
                    id=legacy if on.startswith("9") else uuid.uuid4(),
                    group_id=group_id,
                    weekdays="1,2,3,4,5,6,7",
                    start_time=datetime(2000, 1, 1, 23, 30).time(),
                    duration_minutes=720,
                    starts_on=datetime.fromisoformat(on).date(),
                    ends_on=None,
                    created_at=utc(2026, 1, 1),
                )
            )
    engine = api.db.kw["bind"]
    now = utc(2026, 3, 1, 17)  # noon in New York
    async with engine.connect() as connection:
        # The row from year 1 is open-ended: every day 23:30 to 11:30 the next morning, local time.
        gate = await schedule_store.participant_gate(connection, group_id, now, 10)
        assert gate == utc(2026, 3, 2, 4, 20)  # 23:30 EST on 1 March, less ten minutes
        assert await schedule_store.occurrence_for_opening(connection, group_id, now) is None
        far = utc(9999, 12, 27)
        assert await schedule_store.participant_gate(connection, group_id, far, 10) == utc(9999, 12, 27, 4, 20)
        assert await schedule_store.occurrences(connection, group_id, utc(9999, 12, 1), utc(9999, 12, 31))
    listed = await sessions(api, team.participant, team.group_id, "2026-03-01", "2026-03-03")
    assert len(listed) == 2
    # Changing the old row asks for dates in range with the change.
    path = f"/api/groups/{team.group_id}/schedules/{legacy}"
    status, body = await api.call("PATCH", path, team.facilitator, {"duration_minutes": 60})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "'starts_on'" in body["error"]["message"]
    status, body = await api.call("DELETE", path, team.facilitator)
    assert status == 204


async def test_overlapping_series_and_one_offs_are_refused_with_nothing_stored(api: Api, admin: str) -> None:
    team = await people(api, admin)
    base = f"/api/groups/{team.group_id}"
    first = await add_series(api, team.facilitator, team.group_id)  # Sundays 18:00-19:30, 1 March to 8 November
    later_start = {**SUNDAYS_1800, "start_time": "18:30", "starts_on": "2026-02-01", "ends_on": "2026-03-31"}
    one_off_1815 = {"starts_at": "2026-03-01T18:15:00-05:00", "ends_at": "2026-03-01T19:15:00-05:00"}
    before = await counts(api)
    status, body = await api.call("POST", f"{base}/schedules", team.facilitator, later_start)
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert first["id"] in body["error"]["message"]
    assert "2026-03-01 at 18:30 (America/New_York)" in body["error"]["message"]
    status, body = await api.call("POST", f"{base}/extra-sessions", admin, one_off_1815)
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert first["id"] in body["error"]["message"]
    assert "2026-03-01 at 18:15" in body["error"]["message"]
    assert await counts(api) == before

    # Right after the series' session is fine; a one-off overlapping that one-off is not.
    status, after = await api.call(
        "POST",
        f"{base}/extra-sessions",
        team.facilitator,
        {"starts_at": "2026-03-01T19:30:00-05:00", "ends_at": "2026-03-01T20:30:00-05:00"},
    )
    assert status == 201, after
    before = await counts(api)
    status, body = await api.call(
        "POST",
        f"{base}/extra-sessions",
        team.facilitator,
        {"starts_at": "2026-03-02T01:00:00Z", "ends_at": "2026-03-02T02:00:00Z"},
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert f"one-off {after['id']}" in body["error"]["message"]
    # A series that would meet that one-off (Sundays 19:30) is refused too, naming it.
    status, body = await api.call(
        "POST", f"{base}/schedules", team.facilitator, {**SUNDAYS_1800, "start_time": "19:30"}
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert after["id"] in body["error"]["message"]
    # Saturday 23:00 for two hours runs into a Sunday 00:30 series.
    await add_series(
        api,
        team.facilitator,
        team.group_id,
        {**SUNDAYS_1800, "weekdays": [6], "start_time": "23:00", "duration_minutes": 120},
    )
    before = await counts(api)
    status, body = await api.call(
        "POST", f"{base}/schedules", team.facilitator, {**SUNDAYS_1800, "start_time": "00:30", "duration_minutes": 30}
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert "on 2026-03-08 at 00:30" in body["error"]["message"]
    assert await counts(api) == before

    # The same weekday and time on dates that never meet is fine.
    winter = await add_series(
        api, team.facilitator, team.group_id, {**SUNDAYS_1800, "starts_on": "2026-11-15", "ends_on": None}
    )

    # A change that keeps the times does not meet itself; one that moves into another series is refused.
    status, body = await api.call(
        "PATCH", f"{base}/schedules/{first['id']}", team.facilitator, {"duration_minutes": 90}
    )
    assert status == 200, body
    before = await counts(api)
    status, body = await api.call(
        "PATCH",
        f"{base}/schedules/{winter['id']}",
        team.facilitator,
        {"starts_on": "2026-11-01", "start_time": "19:00"},
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body
    assert first["id"] in body["error"]["message"]
    assert "2026-11-01 at 19:00" in body["error"]["message"]
    status, shown = await api.call("GET", f"{base}/schedules", team.facilitator)
    assert next(s for s in shown["schedules"] if s["id"] == winter["id"]) == winter
    assert await counts(api) == before
    # Cancelled dates still count: they can be restored.
    status, _ = await api.call(
        "POST", f"{base}/schedules/{first['id']}/cancellations", team.facilitator, {"date": "2026-11-08"}
    )
    assert status == 201
    status, body = await api.call(
        "PATCH", f"{base}/schedules/{winter['id']}", team.facilitator, {"starts_on": "2026-11-08"}
    )
    assert (status, body["error"]["code"]) == (409, "conflict"), body

    trail = await audited(api)
    updates = [detail for action, _, detail in trail if action == "schedule.update"]
    assert updates == [{"group_id": team.group_id, "fields": ["duration_minutes"]}]
