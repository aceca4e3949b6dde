"""Attendance computed from stays and marks: every edge a program's report must get right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.attendance import (
    ABSENT,
    PRESENT,
    Enrolled,
    Mark,
    MemberAttendance,
    SessionTimes,
    Stay,
    intersection,
    minutes,
    report,
    union,
)

T0 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
FAC, PIP, SAM = "fac", "pip", "sam"


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


SCHEDULED = SessionTimes(at(-2), at(60), scheduled_start=at(0), scheduled_end=at(60))
UNSCHEDULED = SessionTimes(at(0), at(60))


def one(
    session: SessionTimes, stays: list[Stay], marks: list[Mark] | None = None, now: datetime | None = None
) -> MemberAttendance:
    members = report(session, stays, marks or [], [], now or at(120))
    assert len(members) == 1
    return members[0]


def test_minutes_round_to_the_nearest() -> None:
    assert [minutes(s) for s in (0, 29, 30, 89, 90, 3600)] == [0, 0, 1, 1, 2, 60]


def test_union_and_intersection() -> None:
    assert union([(at(10), at(20)), (at(0), at(5)), (at(5), at(7)), (at(15), at(30)), (at(40), at(40))]) == [
        (at(0), at(7)),
        (at(10), at(30)),
    ]
    assert intersection([(at(0), at(10)), (at(20), at(30))], [(at(5), at(25))]) == [
        (at(5), at(10)),
        (at(20), at(25)),
    ]


def test_a_plain_stay() -> None:
    m = one(SCHEDULED, [Stay(PIP, "participant", at(1), at(59), "left", FAC)])
    assert m.status == PRESENT
    assert (m.minutes_present, m.first_joined, m.last_left) == (58, at(1), at(59))
    assert (m.late, m.minutes_late, m.left_early) == (False, 1, False)
    assert [(s.joined_at, s.left_at, s.ended, s.admitted_by) for s in m.stretches] == [(at(1), at(59), "left", FAC)]


def test_a_reconnect_within_the_grace_period_is_one_stretch() -> None:
    # One stay (the room kept the place): the drop and the return are marks only.
    stays = [Stay(PIP, "participant", at(0), at(60), "ended")]
    marks = [
        Mark(PIP, at(0), True, True),
        Mark(PIP, at(20), True, False),
        Mark(PIP, at(20.5), True, True),
        Mark(PIP, at(60), False, False),
    ]
    m = one(SCHEDULED, stays, marks)
    assert len(m.stretches) == 1
    assert m.minutes_present == 60
    # The camera showed nothing while the connection was down.
    assert m.seconds_camera_on == 59.5 * 60


def test_two_devices_or_two_records_of_one_stay_are_counted_once() -> None:
    stays = [
        Stay(PIP, "participant", at(0), at(40), "left", FAC, waited_since=at(-3)),
        Stay(PIP, "participant", at(10), at(50), "left"),
        Stay(PIP, "participant", at(45), at(55), "connection_lost"),
    ]
    m = one(SCHEDULED, stays)
    assert m.minutes_present == 55
    assert len(m.stretches) == 1
    stretch = m.stretches[0]
    assert (stretch.joined_at, stretch.left_at, stretch.ended, stretch.admitted_by) == (
        at(0),
        at(55),
        "connection_lost",
        FAC,
    )
    assert m.minutes_waiting == 3
    assert m.left_early is False  # exactly five minutes before the scheduled end is not early


def test_separate_stretches_each_say_how_they_ended() -> None:
    stays = [
        Stay(PIP, "participant", at(0), at(10), "to_lobby", FAC),
        Stay(PIP, "participant", at(12), at(20), "removed", FAC, waited_since=at(10)),
        Stay(PIP, "participant", at(30), None, None, "cofac", waited_since=at(25)),
    ]
    m = one(SCHEDULED, stays)
    assert [s.ended for s in m.stretches] == ["to_lobby", "removed", "ended"]
    assert [s.admitted_by for s in m.stretches] == [FAC, FAC, "cofac"]
    assert [s.seconds_waiting for s in m.stretches] == [0, 120, 300]
    assert m.minutes_present == 10 + 8 + 30
    assert m.minutes_waiting == 7


def test_an_open_row_is_clipped_at_the_session_end() -> None:
    # A node died before the stay's end was written; the session ended at 60.
    m = one(SCHEDULED, [Stay(PIP, "participant", at(5), None)])
    assert (m.minutes_present, m.last_left, m.stretches[0].ended) == (55, at(60), "ended")
    assert m.left_early is False
    # A row whose end is after the session's is clipped too.
    m = one(SCHEDULED, [Stay(PIP, "participant", at(5), at(90), "left")])
    assert (m.minutes_present, m.last_left) == (55, at(60))


def test_a_running_session_counts_to_now_and_the_stretch_is_still_in() -> None:
    running = SessionTimes(at(-2), None, at(0), at(60))
    m = one(running, [Stay(PIP, "participant", at(0), None)], [Mark(PIP, at(0), True, True)], now=at(30))
    assert (m.minutes_present, m.minutes_camera_on, m.last_left) == (30, 30, None)
    assert m.stretches[0].ended is None
    assert m.stretches[0].left_at is None
    assert m.left_early is False
    # Someone who left while it still runs left early (it went on after them).
    gone = one(running, [Stay(PIP, "participant", at(0), at(20), "left")], now=at(30))
    assert gone.left_early is True


def test_a_session_ended_by_the_facilitator_early_is_not_leaving_early() -> None:
    ended_early = SessionTimes(at(-2), at(30), at(0), at(60))
    members = report(
        ended_early,
        [
            Stay(FAC, "facilitator", at(-2), at(30), "ended"),
            Stay(PIP, "participant", at(1), at(30), "ended", FAC),
            Stay(SAM, "participant", at(1), at(20), "left", FAC),
        ],
        [],
        [Enrolled(FAC, "facilitator"), Enrolled(PIP, "participant"), Enrolled(SAM, "participant")],
        at(120),
    )
    by = {m.user_id: m for m in members}
    assert by[PIP].left_early is False
    assert by[FAC].left_early is False
    # Sam left while the session went on, more than five minutes before the scheduled end.
    assert by[SAM].left_early is True


def test_the_last_to_leave_closes_the_session_and_is_not_early() -> None:
    closed_by_leaving = SessionTimes(at(-2), at(30), at(0), at(60))
    m = one(closed_by_leaving, [Stay(PIP, "participant", at(0), at(30), "left")])
    assert m.left_early is False


def test_late_needs_more_than_five_minutes() -> None:
    assert one(SCHEDULED, [Stay(PIP, "participant", at(5), at(60), "ended")]).late is False
    late = one(SCHEDULED, [Stay(PIP, "participant", at(5.1), at(60), "ended")])
    assert (late.late, late.minutes_late) == (True, 5)
    early_bird = one(SCHEDULED, [Stay(PIP, "participant", at(-2), at(60), "ended")])
    assert (early_bird.late, early_bird.minutes_late) == (False, 0)


def test_an_unscheduled_session_has_no_late_or_early() -> None:
    m = one(UNSCHEDULED, [Stay(PIP, "participant", at(30), at(31), "left")])
    assert (m.late, m.minutes_late, m.left_early) == (None, None, None)


def test_a_lost_connection_ends_the_stretch_when_it_was_lost() -> None:
    # Dropped at 20; the grace period ran out at 20.5 and the stay was closed then.
    stays = [Stay(PIP, "participant", at(0), at(20.5), "connection_lost")]
    marks = [Mark(PIP, at(0), True, True), Mark(PIP, at(20), True, False), Mark(PIP, at(20.5), False, False)]
    m = one(SCHEDULED, stays, marks)
    assert (m.last_left, m.minutes_present, m.minutes_camera_on) == (at(20), 20, 20)
    # A drop followed by a return, then a later drop: the later one counts.
    marks = [Mark(PIP, at(5), True, False), Mark(PIP, at(6), True, True), Mark(PIP, at(20), True, False)]
    assert one(SCHEDULED, stays, marks).last_left == at(20)


def test_camera_toggles_count_only_while_present_and_on() -> None:
    stays = [Stay(PIP, "participant", at(0), at(30), "left"), Stay(PIP, "participant", at(40), at(60), "ended")]
    marks = [
        Mark(PIP, at(0), False, True),
        Mark(PIP, at(10), True, True),
        Mark(PIP, at(15), False, True),
        Mark(PIP, at(20), True, True),
        Mark(PIP, at(30), False, False),  # left
        Mark(PIP, at(40), True, True),  # back, camera on
        Mark(PIP, at(50), False, True),
    ]
    m = one(SCHEDULED, stays, marks)
    assert m.minutes_present == 50
    assert m.minutes_camera_on == 5 + 10 + 10


def test_camera_on_without_a_closing_mark_is_clipped_to_presence() -> None:
    # The closing mark was lost with its node: presence still bounds the camera.
    stays = [Stay(PIP, "participant", at(0), at(10), "left")]
    m = one(SCHEDULED, stays, [Mark(PIP, at(0), True, True)])
    assert m.minutes_camera_on == 10


def test_absent_members_and_order() -> None:
    members = report(
        SCHEDULED,
        [Stay(PIP, "participant", at(3), at(60), "ended", FAC), Stay(FAC, "facilitator", at(-2), at(60), "ended")],
        [],
        [
            Enrolled(FAC, "facilitator"),
            Enrolled("cofac", "facilitator"),
            Enrolled(PIP, "participant"),
            Enrolled(SAM, "participant"),
        ],
        at(120),
    )
    assert [(m.user_id, m.status) for m in members] == [
        (FAC, PRESENT),
        ("cofac", ABSENT),
        (PIP, PRESENT),
        (SAM, ABSENT),
    ]
    sam = members[-1]
    assert (sam.minutes_present, sam.first_joined, sam.late, sam.left_early, sam.stretches) == (
        0,
        None,
        None,
        None,
        (),
    )


def test_someone_no_longer_enrolled_who_came_is_listed_with_their_stay_role() -> None:
    members = report(SCHEDULED, [Stay("gone", "participant", at(0), at(10), "left")], [], [], at(120))
    assert [(m.user_id, m.role, m.status) for m in members] == [("gone", "participant", PRESENT)]
