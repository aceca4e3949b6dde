"""Schedule expansion in the group's time zone: daylight saving, gaps, cancelled dates, one-offs, open-ended series."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server import schedule
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
