"""Whether a series or a one-off would overlap another dated session of its group.

Pure: no database, no clock. Only the earliest of two overlapping sessions could ever be held (a room holds one
session at a time), so a group's schedule keeps its dated sessions apart. Cancelled dates count: a cancellation can
be restored, and restoring it must not make two sessions overlap. Sessions are half-open intervals, so one that
ends at 19:00 and one that starts at 19:00 do not overlap.

Two series of a group share its zone, so they are compared in local time: a session on local date ``d`` at
``start_time`` for ``duration_minutes`` is the interval of local minutes ``[d * 1440 + start, ... + duration)``.
Sessions last under a day, so one can only meet a session on the same date or the date before or after (23:00 for
120 minutes on a Monday meets 00:30 on the Tuesday). A one-off is fixed in UTC; it is compared with a series' actual
dates around it (``schedule.expand``), and with another one-off by time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server import schedule
from server.schedule import FIRST_DAY, LAST_DAY, OneOff, Series, add_days, local_start

_DAY_MINUTES = 24 * 60
# A one-off can only overlap a series date within a day of it (sessions last under a day, a UTC offset is under a
# day): the one-offs worth reading for a series are those between its first date - 2 days and its last + 2 days.
SERIES_REACH = timedelta(days=2)


@dataclass(frozen=True)
class Clash:
    """The first overlap found: with the series ``schedule_id`` or the one-off ``extra_session_id`` (one is set),
    beginning at ``at`` (aware UTC: the later of the two sessions' starts)."""

    at: datetime
    schedule_id: uuid.UUID | None = None
    extra_session_id: uuid.UUID | None = None


def _last(series: Series) -> date:
    return date.max if series.ends_on is None else series.ends_on


def series_meets_series(candidate: Series, other: Series, tz: ZoneInfo) -> datetime | None:
    """When ``candidate``'s sessions first overlap ``other``'s (aware UTC), or None when they never do. Both are
    series of one group, in its zone ``tz``."""
    first: tuple[date, int] | None = None  # (candidate's date, local minutes after its midnight the overlap begins)
    start_a = candidate.start_time.hour * 60 + candidate.start_time.minute
    start_b = other.start_time.hour * 60 + other.start_time.minute
    for weekday in candidate.weekdays:
        for shift in (-1, 0, 1):  # ``other``'s session on the candidate's date plus ``shift`` days
            if (weekday - 1 + shift) % 7 + 1 not in other.weekdays:
                continue
            begin_b = shift * _DAY_MINUTES + start_b
            begins = max(start_a, begin_b)
            if begins >= min(start_a + candidate.duration_minutes, begin_b + other.duration_minutes):
                continue
            # The candidate's date d must be one of its own, and d + shift one of the other's.
            # (Dates outside FIRST_DAY .. LAST_DAY are never expanded, so they never overlap either.)
            low = max(candidate.starts_on, add_days(other.starts_on, -shift), FIRST_DAY)
            high = min(_last(candidate), add_days(_last(other), -shift), LAST_DAY)
            day = add_days(low, (weekday - low.isoweekday()) % 7)
            if day > high:
                continue
            if first is None or (day, begins) < first:
                first = (day, begins)
    if first is None:
        return None
    day, minutes = first
    return local_start(add_days(day, minutes // _DAY_MINUTES), _clock(minutes % _DAY_MINUTES), tz)


def _clock(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _meets_one_off(series: Series, extra: OneOff, tz: ZoneInfo) -> datetime | None:
    """When ``series`` first overlaps the one-off ``extra`` (cancelled dates too), or None."""
    for occurrence in schedule.expand(series, tz, extra.starts_at, extra.ends_at):
        return max(occurrence.starts_at, extra.starts_at)
    return None


def _one_offs_meet(a: OneOff, b: OneOff) -> datetime | None:
    if a.starts_at < b.ends_at and b.starts_at < a.ends_at:
        return max(a.starts_at, b.starts_at)
    return None


def _earliest(clashes: Iterable[Clash]) -> Clash | None:
    return min(clashes, key=lambda c: (c.at, str(c.schedule_id or c.extra_session_id)), default=None)


def series_clash(candidate: Series, series: Iterable[Series], one_offs: Iterable[OneOff], tz: ZoneInfo) -> Clash | None:
    """The first overlap of the series ``candidate`` (new, or as a change would leave it) with the group's other
    series and its one-offs; a series in ``series`` with the candidate's id is the candidate itself, not another."""
    found = []
    for other in series:
        if other.id == candidate.id:
            continue
        at = series_meets_series(candidate, other, tz)
        if at is not None:
            found.append(Clash(at, schedule_id=other.id))
    for extra in one_offs:
        at = _meets_one_off(candidate, extra, tz)
        if at is not None:
            found.append(Clash(at, extra_session_id=extra.id))
    return _earliest(found)


def one_off_clash(
    candidate: OneOff, series: Iterable[Series], one_offs: Iterable[OneOff], tz: ZoneInfo
) -> Clash | None:
    """The first overlap of the one-off ``candidate`` with the group's series (in its zone ``tz``) and its other
    one-offs."""
    found = []
    for other in series:
        at = _meets_one_off(other, candidate, tz)
        if at is not None:
            found.append(Clash(at, schedule_id=other.id))
    for extra in one_offs:
        if extra.id == candidate.id:
            continue
        at = _one_offs_meet(candidate, extra)
        if at is not None:
            found.append(Clash(at, extra_session_id=extra.id))
    return _earliest(found)
