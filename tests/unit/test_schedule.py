"""Schedule expansion in the group's time zone: daylight saving, gaps, cancelled dates, one-offs, open-ended series."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server import schedule, schedule_overlap
from server.schedule import Held, OneOff, Series

NEW_YORK = ZoneInfo("America/New_York")
GROUP = uuid.UUID("11111111-1111-4111-8111-111111111111")
SERIES_ID = uuid.UUID("22222222-2222-4222-8222-222222222222")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def series(
    weekdays: set[int],
    at: time,
    starts_on: date,
    ends_on: date | None = None,
    cancelled: set[date] | None = None,
    minutes: int = 90,
) -> Series:
    return Series(
        id=SERIES_ID,
        group_id=GROUP,
        weekdays=frozenset(weekdays),
        start_time=at,
        duration_minutes=minutes,
        starts_on=starts_on,
        ends_on=ends_on,
        cancelled=frozenset(cancelled or ()),
    )


def test_a_weekly_series_keeps_its_local_time_across_the_march_and_november_changes() -> None:
    # Sundays at 18:00 in New York: 2026-03-08 and 2026-11-01 are the days the clocks change.
    weekly = series({7}, time(18, 0), date(2026, 3, 1), date(2026, 11, 8))
    found = schedule.expand(weekly, NEW_YORK, utc(2026, 2, 1), utc(2026, 12, 1))
    local = [o.starts_at.astimezone(NEW_YORK) for o in found]
    assert all(moment.time() == time(18, 0) and moment.isoweekday() == 7 for moment in local)
    assert len(found) == 37  # every Sunday from March 1 to November 8
    by_day = {o.starts_at.astimezone(NEW_YORK).date(): o for o in found}
    assert by_day[date(2026, 3, 1)].starts_at == utc(2026, 3, 1, 23, 0)  # EST, UTC-5
    assert by_day[date(2026, 3, 8)].starts_at == utc(2026, 3, 8, 22, 0)  # EDT from that morning, UTC-4
    assert by_day[date(2026, 10, 25)].starts_at == utc(2026, 10, 25, 22, 0)
    assert by_day[date(2026, 11, 1)].starts_at == utc(2026, 11, 1, 23, 0)  # EST again
    assert all(o.ends_at - o.starts_at == timedelta(minutes=90) for o in found)
    assert all(o.starts_at.tzinfo == UTC for o in found)


def test_a_start_inside_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in New York on 2026-03-08: the clocks go from 02:00 to 03:00.
    early = series({7}, time(2, 30), date(2026, 3, 1), minutes=60)
    found = schedule.expand(early, NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 9))
    assert [o.starts_at for o in found] == [utc(2026, 3, 8, 7, 30)]
    assert found[0].starts_at.astimezone(NEW_YORK).time() == time(3, 30)
    assert found[0].ends_at == utc(2026, 3, 8, 8, 30)


def test_an_ambiguous_start_takes_the_first_of_the_two_instances() -> None:
    # 01:30 happens twice on 2026-11-01 (EDT, then EST): the session is at the first.
    early = series({7}, time(1, 30), date(2026, 10, 1))
    found = schedule.expand(early, NEW_YORK, utc(2026, 11, 1), utc(2026, 11, 2))
    assert [o.starts_at for o in found] == [utc(2026, 11, 1, 5, 30)]


def test_occurrence_ids_are_stable_and_derived_from_the_series_and_local_date() -> None:
    weekly = series({1, 3}, time(18, 0), date(2026, 3, 2))
    first = schedule.expand(weekly, NEW_YORK, utc(2026, 3, 2), utc(2026, 3, 9))
    assert [o.id for o in first] == [
        uuid.uuid5(schedule.SCHEDULE_NAMESPACE, f"{SERIES_ID}/2026-03-02"),
        uuid.uuid5(schedule.SCHEDULE_NAMESPACE, f"{SERIES_ID}/2026-03-04"),
    ]
    # Moving the series to another hour keeps each date's id (sessions already held stay matched).
    later = series({1, 3}, time(19, 30), date(2026, 3, 2))
    assert [o.id for o in schedule.expand(later, NEW_YORK, utc(2026, 3, 2), utc(2026, 3, 9))] == [o.id for o in first]
    assert all(o.schedule_id == SERIES_ID for o in first)


def test_cancelled_dates_are_listed_flagged_and_skipped_for_opening() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2), cancelled={date(2026, 3, 9)})
    found = schedule.expand(weekly, NEW_YORK, utc(2026, 3, 1), utc(2026, 3, 20))
    assert [(o.starts_at.date(), o.cancelled) for o in found] == [
        (date(2026, 3, 2), False),
        (date(2026, 3, 9), True),
        (date(2026, 3, 16), False),
    ]
    during_cancelled = utc(2026, 3, 9, 22, 30)
    assert schedule.for_opening([weekly], [], NEW_YORK, during_cancelled, timedelta(minutes=60)) is None
    # Participants are told the next opening: ten minutes before the following Monday's.
    assert schedule.next_opening([weekly], [], NEW_YORK, during_cancelled, timedelta(minutes=10)) == utc(
        2026, 3, 16, 21, 50
    )


def test_an_open_ended_series_goes_on_and_one_with_an_end_stops() -> None:
    forever = series({2}, time(9, 0), date(2026, 1, 6))
    far = schedule.expand(forever, NEW_YORK, utc(2031, 6, 1), utc(2031, 6, 30))
    assert len(far) == 4
    ended = series({2}, time(9, 0), date(2026, 1, 6), ends_on=date(2026, 1, 20))
    assert [o.starts_at.date() for o in schedule.expand(ended, NEW_YORK, utc(2026, 1, 1), utc(2026, 3, 1))] == [
        date(2026, 1, 6),
        date(2026, 1, 13),
        date(2026, 1, 20),
    ]
    assert schedule.next_held(ended, NEW_YORK, utc(2026, 1, 21)) is None
    assert schedule.next_opening([ended], [], NEW_YORK, utc(2026, 1, 21), timedelta(minutes=10)) == schedule.NEVER
    # Nothing before the first date either.
    assert schedule.expand(forever, NEW_YORK, utc(2025, 12, 1), utc(2026, 1, 5)) == []


def test_one_offs_mix_with_the_series_in_order() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))
    extra = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 4, 15, 0), utc(2026, 3, 4, 16, 0))
    found = schedule.occurrences([weekly], [extra], NEW_YORK, utc(2026, 3, 1), utc(2026, 3, 10))
    assert [(o.starts_at, o.schedule_id) for o in found] == [
        (utc(2026, 3, 2, 23, 0), SERIES_ID),
        (utc(2026, 3, 4, 15, 0), None),
        (utc(2026, 3, 9, 22, 0), SERIES_ID),
    ]
    assert found[1].id == extra.id
    assert not found[1].cancelled


def test_a_session_running_across_the_start_of_the_range_is_included() -> None:
    late = series({5}, time(23, 0), date(2026, 3, 6), minutes=120)  # Friday 23:00 to Saturday 01:00 local
    found = schedule.expand(late, NEW_YORK, utc(2026, 3, 7, 5, 30), utc(2026, 3, 7, 6, 0))
    assert [o.starts_at for o in found] == [utc(2026, 3, 7, 4, 0)]
    assert schedule.expand(late, NEW_YORK, utc(2026, 3, 7, 6, 0), utc(2026, 3, 7, 7, 0)) == []


def test_opening_belongs_to_the_session_within_an_hour_of_its_start() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))
    start = utc(2026, 3, 2, 23, 0)
    hour = timedelta(minutes=60)
    assert schedule.for_opening([weekly], [], NEW_YORK, start - timedelta(minutes=61), hour) is None
    found = schedule.for_opening([weekly], [], NEW_YORK, start - hour, hour)
    assert found is not None
    assert found.starts_at == start
    assert schedule.for_opening([weekly], [], NEW_YORK, start + timedelta(minutes=89), hour) == found
    assert schedule.for_opening([weekly], [], NEW_YORK, start + timedelta(minutes=90), hour) is None


def test_participants_come_in_from_the_opening_time_until_the_end() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))
    start = utc(2026, 3, 2, 23, 0)
    ten = timedelta(minutes=10)
    assert schedule.next_opening([weekly], [], NEW_YORK, start - timedelta(minutes=11), ten) == start - ten
    assert schedule.next_opening([weekly], [], NEW_YORK, start - ten, ten) is None
    assert schedule.next_opening([weekly], [], NEW_YORK, start + timedelta(minutes=89), ten) is None
    after = start + timedelta(minutes=90)
    assert schedule.next_opening([weekly], [], NEW_YORK, after, ten) == utc(2026, 3, 9, 22, 0) - ten
    extra = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 4, 12, 0), utc(2026, 3, 4, 13, 0))
    assert schedule.next_opening([weekly], [extra], NEW_YORK, after, ten) == utc(2026, 3, 4, 11, 50)
    assert schedule.next_opening([], [extra], NEW_YORK, utc(2026, 3, 4, 12, 30), ten) is None


def test_a_long_run_of_cancelled_dates_still_finds_the_next_session() -> None:
    cancelled = {date(2026, 3, 2) + timedelta(weeks=n) for n in range(30)}
    weekly = series({1}, time(18, 0), date(2026, 3, 2), cancelled=cancelled)
    found = schedule.next_held(weekly, NEW_YORK, utc(2026, 3, 1))
    assert found is not None
    assert found.starts_at.date() == date(2026, 3, 2) + timedelta(weeks=30)


def test_the_listing_puts_held_sessions_in_their_dated_places() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2), cancelled={date(2026, 3, 16)})
    dated = schedule.expand(weekly, NEW_YORK, utc(2026, 3, 1), utc(2026, 3, 20))
    held_first = Held(
        dated[0].id, GROUP, utc(2026, 3, 2, 22, 55), utc(2026, 3, 3, 0, 40), dated[0].starts_at, dated[0].ends_at, True
    )
    unscheduled = Held(uuid.uuid4(), GROUP, utc(2026, 3, 5, 12, 0), None, None, None, False)
    outside = Held(uuid.uuid4(), GROUP, utc(2026, 4, 5, 12, 0), utc(2026, 4, 5, 13, 0), None, None, False)
    listed = schedule.listing(dated, [held_first, unscheduled, outside], utc(2026, 3, 1), utc(2026, 3, 20))
    assert [(s.id, s.status, s.scheduled, s.signed_off) for s in listed] == [
        (dated[0].id, "ended", True, True),
        (unscheduled.id, "open", False, False),
        (dated[1].id, "scheduled", True, False),
        (dated[2].id, "cancelled", True, False),
    ]
    assert listed[0].starts_at == dated[0].starts_at  # the scheduled time, not when it was opened
    assert listed[0].started_at == utc(2026, 3, 2, 22, 55)
    assert (listed[1].starts_at, listed[1].ends_at) == (unscheduled.started_at, None)


def test_weekdays_are_stored_ascending_without_repeats() -> None:
    assert schedule.format_weekdays([5, 1, 3, 3]) == "1,3,5"
    assert schedule.parse_weekdays("1,3,5") == frozenset({1, 3, 5})


def test_an_unknown_zone_name_reads_as_utc() -> None:
    assert schedule.zone("Mars/Olympus_Mons") == ZoneInfo("UTC")
    assert schedule.zone("America/New_York") == NEW_YORK


# -- dates far from now: a stored row must never break the room ---------------------------------------------------


def test_series_near_the_end_of_the_calendar_expand_without_overflowing() -> None:
    # Rows like these could be stored before the API bounded dates to 2000..2100.
    late = series({6}, time(23, 30), date(9999, 12, 25), minutes=720)  # 9999-12-25 is a Saturday
    now = utc(2026, 3, 1)
    found = schedule.next_held(late, NEW_YORK, now)
    assert found is not None
    assert found.starts_at.date() == date(9999, 12, 26)  # 23:30 EST is 04:30 UTC the next day
    assert schedule.next_opening([late], [], NEW_YORK, now, timedelta(minutes=10)) == found.starts_at - timedelta(
        minutes=10
    )
    everything = [series(set(range(1, 8)), time(23, 59), date(9999, 12, 20), minutes=720)]
    edge = datetime.max.replace(tzinfo=UTC)
    for tz in (NEW_YORK, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), ZoneInfo("UTC")):
        found_all = schedule.occurrences(everything, [], tz, utc(9999, 12, 1), edge)
        assert found_all
        assert all(o.ends_at <= edge for o in found_all)
        assert max(o.starts_at.astimezone(tz).date() for o in found_all) <= schedule.LAST_DAY
        assert schedule.for_opening(everything, [], tz, utc(9999, 12, 31, 23), timedelta(minutes=60)) is None
        assert schedule.next_opening(everything, [], tz, utc(9999, 12, 31, 23), timedelta(minutes=10)) is not None
        assert schedule.expand(everything[0], tz, utc(9999, 12, 31), edge) == []


def test_series_and_one_offs_at_the_start_of_the_calendar_do_not_overflow() -> None:
    ancient = series({1}, time(0, 0), date(1, 1, 1), date(1, 1, 31))
    early_extra = OneOff(uuid.uuid4(), GROUP, datetime.min.replace(tzinfo=UTC), utc(1, 1, 1, 1))
    tokyo = ZoneInfo("Asia/Tokyo")
    start = datetime.min.replace(tzinfo=UTC)
    found = schedule.occurrences([ancient], [early_extra], tokyo, start, utc(1, 2, 1))
    assert found[0].id == early_extra.id
    assert [o.starts_at.astimezone(tokyo).date() for o in found[1:]] == [
        date(1, 1, 8),
        date(1, 1, 15),
        date(1, 1, 22),
        date(1, 1, 29),
    ]
    assert schedule.for_opening([ancient], [early_extra], tokyo, start, timedelta(minutes=60)) == found[0]
    assert schedule.next_opening([ancient], [early_extra], tokyo, start, timedelta(minutes=10)) is None
    assert schedule.next_held(ancient, tokyo, utc(2026, 1, 1)) is None
    assert schedule.add_days(date.max, 3) == date.max
    assert schedule.add_days(date.min, -3) == date.min


# -- overlapping entries: only the earliest of two overlapping sessions could ever be held -------------------------

OTHER_ID = uuid.UUID("33333333-3333-4333-8333-333333333333")


def other(
    weekdays: set[int], at: time, starts_on: date, ends_on: date | None = None, minutes: int = 90, **more: Any
) -> Series:
    return dataclasses.replace(series(weekdays, at, starts_on, ends_on, minutes=minutes, **more), id=OTHER_ID)


def test_series_on_the_same_weekday_with_intersecting_times_overlap_from_the_first_shared_date() -> None:
    evening = series({1, 3}, time(18, 0), date(2026, 3, 2))  # Mondays and Wednesdays 18:00-19:30
    later = other({3}, time(18, 30), date(2026, 3, 1), date(2026, 6, 30))
    clash = schedule_overlap.series_clash(later, [evening], [], NEW_YORK)
    assert clash is not None
    assert (clash.schedule_id, clash.extra_session_id) == (SERIES_ID, None)
    assert clash.at == utc(2026, 3, 4, 23, 30)  # Wednesday 4 March, 18:30 EST: the later start
    # The same from the other side, and at the first Monday too when the second series has Mondays.
    assert schedule_overlap.series_meets_series(evening, later, NEW_YORK) == utc(2026, 3, 4, 23, 30)
    both = other({1, 3}, time(17, 0), date(2026, 3, 1), minutes=61)
    assert schedule_overlap.series_meets_series(both, evening, NEW_YORK) == utc(2026, 3, 2, 23, 0)


def test_a_session_crossing_midnight_overlaps_one_early_the_next_weekday() -> None:
    night = series({1}, time(23, 0), date(2026, 3, 2), minutes=120)  # Monday 23:00 to Tuesday 01:00
    small_hours = other({2}, time(0, 30), date(2026, 3, 3), minutes=30)
    clash = schedule_overlap.series_clash(small_hours, [night], [], NEW_YORK)
    assert clash is not None
    assert clash.at == utc(2026, 3, 3, 5, 30)  # Tuesday 00:30 EST
    assert schedule_overlap.series_meets_series(night, small_hours, NEW_YORK) == clash.at
    # Sunday to Monday wraps around the week.
    sunday_night = other({7}, time(22, 0), date(2026, 3, 1), minutes=180)  # until Monday 01:00
    monday_early = series({1}, time(0, 0), date(2026, 3, 2), minutes=30)
    assert schedule_overlap.series_meets_series(monday_early, sunday_night, NEW_YORK) == utc(2026, 3, 2, 5, 0)
    # The ranges need not share a date: Monday night's last session runs into the other's first Tuesday.
    last_monday = series({1}, time(23, 0), date(2026, 3, 2), date(2026, 3, 2), minutes=120)
    assert schedule_overlap.series_meets_series(small_hours, last_monday, NEW_YORK) == utc(2026, 3, 3, 5, 30)
    # Ending at midnight does not reach a session starting at midnight.
    until_midnight = series({1}, time(23, 0), date(2026, 3, 2), minutes=60)
    at_midnight = other({2}, time(0, 0), date(2026, 3, 3), minutes=60)
    assert schedule_overlap.series_meets_series(at_midnight, until_midnight, NEW_YORK) is None


def test_series_that_never_meet_do_not_overlap() -> None:
    spring = series({1}, time(18, 0), date(2026, 3, 2), date(2026, 5, 25))
    # Same weekday and time, disjoint date ranges.
    autumn = other({1}, time(18, 0), date(2026, 6, 1), date(2026, 8, 31))
    assert schedule_overlap.series_clash(autumn, [spring], [], NEW_YORK) is None
    assert schedule_overlap.series_clash(spring, [autumn], [], NEW_YORK) is None
    # Adjacent sessions: 18:00-19:00 and 19:00-20:00.
    first = series({1}, time(18, 0), date(2026, 3, 2), minutes=60)
    second = other({1}, time(19, 0), date(2026, 3, 2), minutes=60)
    assert schedule_overlap.series_clash(second, [first], [], NEW_YORK) is None
    # Other weekdays; or a shared weekday that is never inside both ranges (Mondays and Tuesdays to 8 March; Mondays from 9 March).
    assert schedule_overlap.series_clash(other({2, 4}, time(18, 0), date(2026, 3, 2)), [first], [], NEW_YORK) is None
    one_monday = series({1, 2}, time(18, 0), date(2026, 3, 2), date(2026, 3, 8))
    from_the_ninth = other({1}, time(18, 0), date(2026, 3, 9), minutes=60)
    assert schedule_overlap.series_clash(from_the_ninth, [one_monday], [], NEW_YORK) is None


def test_a_series_does_not_conflict_with_itself_and_cancelled_dates_still_count() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))
    assert schedule_overlap.series_clash(weekly, [weekly], [], NEW_YORK) is None  # a change keeping its times
    # The ranges share one Monday, and it is cancelled: restoring it would make two sessions, so it overlaps.
    ending = other({1}, time(18, 30), date(2026, 2, 1), date(2026, 3, 2), cancelled={date(2026, 3, 2)})
    clash = schedule_overlap.series_clash(weekly, [ending], [], NEW_YORK)
    assert clash is not None
    assert (clash.schedule_id, clash.at) == (OTHER_ID, utc(2026, 3, 2, 23, 30))


def test_one_offs_against_series_and_each_other() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))  # 23:00-00:30 UTC in winter
    inside = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 2, 23, 15), utc(2026, 3, 3, 0, 15))
    clash = schedule_overlap.one_off_clash(inside, [weekly], [], NEW_YORK)
    assert clash is not None
    assert (clash.schedule_id, clash.at) == (SERIES_ID, utc(2026, 3, 2, 23, 15))
    # The series, checked against the one-off, sees the same.
    clash = schedule_overlap.series_clash(weekly, [], [inside], NEW_YORK)
    assert clash is not None
    assert (clash.extra_session_id, clash.at) == (inside.id, utc(2026, 3, 2, 23, 15))
    # Right after the session, before it, on another day: fine.
    after = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 3, 0, 30), utc(2026, 3, 3, 1, 30))
    before = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 2, 22, 0), utc(2026, 3, 2, 23, 0))
    assert schedule_overlap.one_off_clash(after, [weekly], [before], NEW_YORK) is None
    assert schedule_overlap.one_off_clash(before, [weekly], [after], NEW_YORK) is None
    # A cancelled date still counts (it can be restored).
    cancelled = series({1}, time(18, 0), date(2026, 3, 2), cancelled={date(2026, 3, 2)})
    assert schedule_overlap.one_off_clash(inside, [cancelled], [], NEW_YORK) is not None
    # One-off against one-off, by time; itself excluded.
    crossing = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 2, 22, 30), utc(2026, 3, 2, 23, 30))
    clash = schedule_overlap.one_off_clash(crossing, [], [before, after, crossing], NEW_YORK)
    assert clash is not None
    assert (clash.extra_session_id, clash.at) == (before.id, utc(2026, 3, 2, 22, 30))
    # A series session that began the evening before and is still running counts too.
    night = series({1}, time(23, 0), date(2026, 3, 2), minutes=120)  # to Tuesday 06:00 UTC
    small_hours = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 3, 5, 0), utc(2026, 3, 3, 5, 30))
    assert schedule_overlap.one_off_clash(small_hours, [night], [], NEW_YORK) is not None


def test_overlap_checks_survive_rows_from_the_ends_of_the_calendar() -> None:
    weekly = series({1}, time(18, 0), date(2026, 3, 2))
    far = other(set(range(1, 8)), time(18, 0), date(9999, 12, 20), minutes=720)
    ancient = other(set(range(1, 8)), time(0, 0), date(1, 1, 1), date(1, 1, 10), minutes=720)
    assert schedule_overlap.series_clash(weekly, [far, ancient], [], NEW_YORK) is not None  # the open-ended one
    assert schedule_overlap.series_meets_series(far, ancient, NEW_YORK) is None
    assert schedule_overlap.series_meets_series(far, dataclasses.replace(far, id=SERIES_ID), NEW_YORK) is not None
    extra = OneOff(uuid.uuid4(), GROUP, utc(2026, 3, 2, 23, 0), utc(2026, 3, 3, 0, 0))
    assert schedule_overlap.one_off_clash(extra, [ancient], [], NEW_YORK) is None
