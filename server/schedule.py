"""A group's schedule as dated sessions: weekly series expanded in the group's time zone, plus one-off sessions.

Pure: no database, no clock. A weekly series keeps its local time across daylight saving (18:00 in New York is
23:00 UTC in winter and 22:00 UTC in summer). A local start that does not exist (inside a spring-forward gap) moves
forward by the gap; one that happens twice (a fall-back hour) takes the first instance. Both are what
``datetime.combine(..., tzinfo=zone)`` with ``fold=0`` means (PEP 495), so that is all ``local_start`` does.

Nothing here raises for a stored row, however far its dates lie (rows written before the API bounded dates to
2000-2100 may say year 1 or 9999): iteration stops two days inside the calendar's ends (``FIRST_DAY``,
``LAST_DAY``), where every local time of any zone, plus a session's length, is a representable UTC instant.

Every dated session has a stable id: a series date's is derived from the series and the local date (the same
whatever the series' time or the group's zone later become), a one-off's is its own row's id. A session opened for
a dated session takes that id, which is how attendance finds its scheduled times.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# Fixed forever: occurrence ids derived from it are stored as session ids.
SCHEDULE_NAMESPACE = uuid.UUID("8d0f6f3e-2c55-4a1b-9b7e-5f3c1e0a7d42")

# A dated session lasts 5 minutes to 12 hours (the schedules table's check says the same for a series).
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(minutes=720)

# The dates a series is expanded on. A UTC offset is under a day and a session at most half a day, so a session on
# one of these dates starts and ends between ``datetime.min`` and ``datetime.max``; dates outside are skipped.
FIRST_DAY = date.min + timedelta(days=2)
LAST_DAY = date.max - timedelta(days=2)


@dataclass(frozen=True)
class Occurrence:
    """One dated session of a group: a weekly series' date (``schedule_id`` set) or a one-off (``schedule_id``
    None). Times are aware UTC."""

    id: uuid.UUID
    group_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    schedule_id: uuid.UUID | None
    cancelled: bool


@dataclass(frozen=True)
class Series:
    """A weekly series as expansion needs it: ISO ``weekdays`` (1 = Monday), local ``start_time``, ``starts_on``
    to ``ends_on`` inclusive (open-ended when None), and the local dates that are cancelled."""

    id: uuid.UUID
    group_id: uuid.UUID
    weekdays: frozenset[int]
    start_time: time
    duration_minutes: int
    starts_on: date
    ends_on: date | None
    cancelled: frozenset[date] = field(default_factory=frozenset)

    def falls_on(self, day: date) -> bool:
        """Whether ``day`` is one of the series' dates (cancelled or not)."""
        return (
            day.isoweekday() in self.weekdays
            and day >= self.starts_on
            and (self.ends_on is None or day <= self.ends_on)
        )


@dataclass(frozen=True)
class OneOff:
    """A one-off session outside any series."""

    id: uuid.UUID
    group_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime


@cache
def time_zones() -> frozenset[str]:
    """The IANA zone names this system knows (read once: listing them scans the zone files)."""
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The zone named ``name``; UTC when the name is unknown here (the API validates names before storing them)."""
    if name not in time_zones():
        return ZoneInfo("UTC")
    return ZoneInfo(name)


def parse_weekdays(text: str) -> frozenset[int]:
    """``"1,3,5"`` as stored -> ``{1, 3, 5}``."""
    return frozenset(int(part) for part in text.split(",") if part.strip())


def format_weekdays(days: Iterable[int]) -> str:
    """``{5, 1, 3}`` -> ``"1,3,5"`` as stored: ascending, no repeats."""
    return ",".join(str(day) for day in sorted(set(days)))


def occurrence_id(schedule_id: uuid.UUID, day: date) -> uuid.UUID:
    """The id of ``schedule_id``'s session on the local date ``day``."""
    return uuid.uuid5(SCHEDULE_NAMESPACE, f"{schedule_id}/{day.isoformat()}")


def local_start(day: date, at: time, tz: ZoneInfo) -> datetime:
    """``at`` on ``day`` in ``tz`` as aware UTC: a time in a spring-forward gap moves forward by the gap, an
    ambiguous one takes its first instance."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)


def dated(series: Series, day: date, tz: ZoneInfo) -> Occurrence:
    """The series' session on ``day`` (which should be one of its dates)."""
    starts_at = local_start(day, series.start_time, tz)
    return Occurrence(
        id=occurrence_id(series.id, day),
        group_id=series.group_id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=series.duration_minutes),
        schedule_id=series.id,
        cancelled=day in series.cancelled,
    )


def one_off(extra: OneOff) -> Occurrence:
    return Occurrence(extra.id, extra.group_id, extra.starts_at, extra.ends_at, None, False)


def add_days(day: date, days: int) -> date:
    """``day`` plus ``days``, held at ``date.min``/``date.max`` instead of overflowing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The date ``moment`` falls on in ``tz``, held at ``date.min``/``date.max`` when it lies past either end."""
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return date.max if moment.year > 1 else date.min


def _days(first: date, last: date) -> Iterator[date]:
    """Each date from ``first`` to ``last`` inclusive that lies within ``FIRST_DAY`` .. ``LAST_DAY``."""
    day = max(first, FIRST_DAY)
    last = min(last, LAST_DAY)
    while day <= last:
        yield day
        day += timedelta(days=1)


def expand(series: Series, tz: ZoneInfo, start: datetime, end: datetime) -> list[Occurrence]:
    """The series' sessions that overlap ``[start, end)`` (cancelled ones included, flagged), by start time."""
    # A session that began on the local day before ``start`` may still be running (up to 12 hours long).
    first = max(add_days(local_date(start, tz), -1), series.starts_on)
    last = add_days(local_date(end, tz), 1)
    if series.ends_on is not None:
        last = min(last, series.ends_on)
    found = []
    for day in _days(first, last):
        if not series.falls_on(day):
            continue
        occurrence = dated(series, day, tz)
        if occurrence.starts_at < end and occurrence.ends_at > start:
            found.append(occurrence)
    return found


def next_held(series: Series, tz: ZoneInfo, after: datetime) -> Occurrence | None:
    """The series' first session that is not cancelled and has not ended by ``after`` (it may be running)."""
    first = max(add_days(local_date(after, tz), -1), series.starts_on)
    # Each week holds at least one of the series' dates, so past this many days every date left was cancelled.
    last = add_days(first, 7 * (len(series.cancelled) + 2))
    if series.ends_on is not None:
        last = min(last, series.ends_on)
    for day in _days(first, last):
        if not series.falls_on(day) or day in series.cancelled:
            continue
        occurrence = dated(series, day, tz)
        if occurrence.ends_at > after:
            return occurrence
    return None


def occurrences(
    series: Iterable[Series], one_offs: Iterable[OneOff], tz: ZoneInfo, start: datetime, end: datetime
) -> list[Occurrence]:
    """Every dated session of a group overlapping ``[start, end)``, by start time (then id, for a stable order)."""
    found = [o for s in series for o in expand(s, tz, start, end)]
    found += [one_off(e) for e in one_offs if e.starts_at < end and e.ends_at > start]
    return sorted(found, key=lambda o: (o.starts_at, str(o.id)))


NEVER = datetime.max.replace(tzinfo=UTC)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _earlier(moment: datetime, by: timedelta) -> datetime:
    """``moment - by``, held at the earliest representable instant instead of overflowing."""
    try:
        return moment - by
    except OverflowError:
        return _EARLIEST


def _later(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, held at ``NEVER`` instead of overflowing."""
    try:
        return moment + by
    except OverflowError:
        return NEVER


def for_opening(
    series: Iterable[Series], one_offs: Iterable[OneOff], tz: ZoneInfo, at: datetime, early: timedelta
) -> Occurrence | None:
    """The session a facilitator opening the room at ``at`` holds: the earliest one not cancelled with
    ``starts_at - early <= at < ends_at``; None when the opening is outside every session."""
    for occurrence in occurrences(series, one_offs, tz, at, _later(at, early + timedelta(microseconds=1))):
        if not occurrence.cancelled and _earlier(occurrence.starts_at, early) <= at < occurrence.ends_at:
            return occurrence
    return None


def next_opening(
    series: Iterable[Series], one_offs: Iterable[OneOff], tz: ZoneInfo, at: datetime, opens_before: timedelta
) -> datetime | None:
    """When participants may come in: None when a session not cancelled is within ``[starts_at - opens_before,
    ends_at)`` of ``at``; otherwise when the room next opens to them, ``NEVER`` when nothing is ahead.

    (A group with nothing scheduled at all is open whenever: the caller decides that, not this.)"""
    upcoming = [o for o in (next_held(s, tz, at) for s in series) if o is not None]
    upcoming += [one_off(e) for e in one_offs if e.ends_at > at]
    opening = NEVER
    for occurrence in upcoming:
        opens_at = _earlier(occurrence.starts_at, opens_before)
        if opens_at <= at:
            return None
        opening = min(opening, opens_at)
    return opening


@dataclass(frozen=True)
class Held:
    """A session row: a meeting that was (or is being) held."""

    id: uuid.UUID
    group_id: uuid.UUID
    started_at: datetime
    ended_at: datetime | None
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    signed_off: bool


@dataclass(frozen=True)
class Listed:
    """One line of a group's session list: a dated session, a held one, or a dated session that was held."""

    id: uuid.UUID
    group_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime | None
    status: str  # "scheduled" | "open" | "ended" | "cancelled"
    scheduled: bool
    schedule_id: uuid.UUID | None
    started_at: datetime | None
    ended_at: datetime | None
    signed_off: bool


def listing(dated_sessions: Iterable[Occurrence], held: Iterable[Held], start: datetime, end: datetime) -> list[Listed]:
    """Dated sessions and held ones overlapping ``[start, end)``, by start time. A held session takes its dated
    session's place (whatever became of the schedule since: it was held); one held outside the schedule is listed
    from when it started (its scheduled times when it kept any)."""
    by_id = {h.id: h for h in held}
    found = []
    for occurrence in dated_sessions:
        row = by_id.pop(occurrence.id, None)
        if row is None:
            found.append(
                Listed(
                    id=occurrence.id,
                    group_id=occurrence.group_id,
                    starts_at=occurrence.starts_at,
                    ends_at=occurrence.ends_at,
                    status="cancelled" if occurrence.cancelled else "scheduled",
                    scheduled=True,
                    schedule_id=occurrence.schedule_id,
                    started_at=None,
                    ended_at=None,
                    signed_off=False,
                )
            )
        else:
            # At the times it kept when it was held: the series or the group's zone may have changed since.
            kept_start, kept_end = row.scheduled_start or occurrence.starts_at, row.scheduled_end or occurrence.ends_at
            found.append(_held(row, kept_start, kept_end, True, occurrence.schedule_id))
    for row in by_id.values():
        starts_at = row.scheduled_start or row.started_at
        ends_at = row.scheduled_end if row.scheduled_start is not None else row.ended_at
        if starts_at < end and (ends_at is None or ends_at > start):
            found.append(_held(row, starts_at, ends_at, row.scheduled_start is not None, None))
    return sorted(found, key=lambda s: (s.starts_at, str(s.id)))


def _held(
    row: Held, starts_at: datetime, ends_at: datetime | None, scheduled: bool, schedule_id: uuid.UUID | None
) -> Listed:
    return Listed(
        id=row.id,
        group_id=row.group_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status="open" if row.ended_at is None else "ended",
        scheduled=scheduled,
        schedule_id=schedule_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        signed_off=row.signed_off,
    )
