"""A session's attendance, computed from what the room recorded: stays, lobby waits, camera marks, the schedule.

Pure: no database, no clock (``now`` is passed in for a session still running). The rules a program reports on:

- Minutes present are the union of a member's stays: two devices, or two records of one stay that overlap (a
  change of node), are counted once. A reconnect within the grace period is one stay and one stretch.
- A stay still open is counted up to the session's end (its end was not recorded: a node died) or, while the
  session runs, up to ``now``. A stay that ended because the connection was lost ends when it was lost (its last
  mark of being disconnected), not when the grace period ran out.
- Camera minutes count only while present and connected with the camera on.
- Late: arrived (in the lobby, or in the room when they did not wait) more than ``LATE_AFTER`` after the
  scheduled start. Left early: last left more than
  ``LATE_AFTER`` before the scheduled end while the session went on after that (leaving because it ended is not
  early). Neither applies to an unscheduled session.
- Minutes are whole: seconds summed over the union, rounded to the nearest minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

LATE_AFTER = timedelta(minutes=5)
PRESENT = "present"
ABSENT = "absent"

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class SessionTimes:
    started_at: datetime
    ended_at: datetime | None
    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class Stay:
    """One attendance row: a stay in the room, from entry to departure (``left_at`` None: not recorded yet)."""

    user_id: str
    role: str
    joined_at: datetime
    left_at: datetime | None = None
    leave_reason: str | None = None
    admitted_by: str | None = None
    waited_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """A member's camera and connection as of ``at``."""

    user_id: str
    at: datetime
    video: bool
    connected: bool


@dataclass(frozen=True, slots=True)
class Enrolled:
    user_id: str
    role: str


@dataclass(frozen=True, slots=True)
class Stretch:
    """A continuous time in the room (overlapping stays merged); ``ended`` None while still in."""

    joined_at: datetime
    left_at: datetime | None
    ended: str | None
    admitted_by: str | None
    seconds_waiting: float


@dataclass(frozen=True, slots=True)
class MemberAttendance:
    user_id: str
    role: str
    status: str
    seconds_present: float
    seconds_camera_on: float
    seconds_waiting: float
    first_joined: datetime | None
    last_left: datetime | None
    late: bool | None
    minutes_late: int | None
    left_early: bool | None
    stretches: tuple[Stretch, ...]

    @property
    def minutes_present(self) -> int:
        return minutes(self.seconds_present)

    @property
    def minutes_camera_on(self) -> int:
        return minutes(self.seconds_camera_on)

    @property
    def minutes_waiting(self) -> int:
        return minutes(self.seconds_waiting)


def minutes(seconds: float) -> int:
    """Whole minutes, rounded to the nearest (half a minute rounds up)."""
    return int(seconds / 60 + 0.5)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """The intervals merged where they overlap or touch, in order; empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersection(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Where two ordered, disjoint interval lists overlap."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def seconds(intervals: Iterable[Interval]) -> float:
    return sum((end - start).total_seconds() for start, end in intervals)


def _bound(session: SessionTimes, now: datetime) -> datetime:
    """Where anything still open is counted to: the session's end, or now while it runs."""
    return session.ended_at if session.ended_at is not None else now


def _lost_at(stay: Stay, marks: Sequence[Mark], end: datetime) -> datetime:
    """When a stay that ended as ``connection_lost`` really lost its connection: its last drop not followed by a
    return within the stay (the time before the grace period ran out was not spent in the room)."""
    lost: datetime | None = None
    for mark in marks:
        if stay.joined_at <= mark.at <= end:
            lost = None if mark.connected else (lost or mark.at)
    return end if lost is None else max(lost, stay.joined_at)


def _stay_interval(stay: Stay, marks: Sequence[Mark], session: SessionTimes, now: datetime) -> Interval:
    bound = _bound(session, now)
    end = bound if stay.left_at is None else min(stay.left_at, bound)
    if stay.leave_reason == "connection_lost":
        end = _lost_at(stay, marks, end)
    return stay.joined_at, max(end, stay.joined_at)


def _stretches(stays: Sequence[Stay], marks: Sequence[Mark], session: SessionTimes, now: datetime) -> list[Stretch]:
    """Stays merged into stretches where they overlap: the first stay's admission and wait, the last one's end."""
    ordered = sorted(stays, key=lambda s: (s.joined_at, s.left_at is None, s.left_at))
    stretches: list[tuple[Interval, Stay, Stay]] = []
    for stay in ordered:
        interval = _stay_interval(stay, marks, session, now)
        if stretches and interval[0] <= stretches[-1][0][1]:
            (start, end), first, last = stretches[-1]
            if stay.left_at is None or (last.left_at is not None and interval[1] >= end):
                last = stay
            stretches[-1] = ((start, max(end, interval[1])), first, last)
        else:
            stretches.append((interval, stay, stay))
    result = []
    for (start, end), first, last in stretches:
        still_in = last.left_at is None and session.ended_at is None
        ended = None if still_in else last.leave_reason or "ended"
        waited = 0.0 if first.waited_since is None else max(0.0, (first.joined_at - first.waited_since).total_seconds())
        result.append(Stretch(start, None if still_in else end, ended, first.admitted_by, waited))
    return result


def _camera_on(marks: Sequence[Mark], bound: datetime) -> list[Interval]:
    """When the camera was on and connected, from the marks in order (each holds until the next)."""
    on: list[Interval] = []
    for index, mark in enumerate(marks):
        if mark.video and mark.connected:
            until = marks[index + 1].at if index + 1 < len(marks) else bound
            on.append((mark.at, min(until, bound)))
    return union(on)


def _member(
    user_id: str,
    role: str,
    stays: Sequence[Stay],
    marks: Sequence[Mark],
    session: SessionTimes,
    now: datetime,
) -> MemberAttendance:
    if not stays:
        return MemberAttendance(user_id, role, ABSENT, 0.0, 0.0, 0.0, None, None, None, None, None, ())
    stretches = _stretches(stays, marks, session, now)
    bound = _bound(session, now)
    present = union((s.joined_at, s.left_at or bound) for s in stretches)
    camera = intersection(present, _camera_on(marks, bound))
    waits = union((s.waited_since, s.joined_at) for s in stays if s.waited_since is not None)
    first_joined = stretches[0].joined_at
    last = stretches[-1]
    last_left = last.left_at
    late = minutes_late = left_early = None
    if session.scheduled_start is not None:
        # Arrival is when they came, the lobby included: a member kept waiting for admission is not late for it.
        arrived = min([first_joined, *(s.waited_since for s in stays if s.waited_since is not None)])
        late = arrived - session.scheduled_start > LATE_AFTER
        minutes_late = max(0, minutes((arrived - session.scheduled_start).total_seconds()))
    if session.scheduled_end is not None:
        # Early only if the session went on after they left, and they did not leave because it ended.
        went_on = last_left is not None and (session.ended_at is None or session.ended_at > last_left)
        left_early = (
            last_left is not None
            and last.ended != "ended"
            and went_on
            and session.scheduled_end - last_left > LATE_AFTER
        )
    return MemberAttendance(
        user_id,
        role,
        PRESENT,
        seconds(present),
        seconds(camera),
        seconds(waits),
        first_joined,
        last_left,
        late,
        minutes_late,
        left_early,
        tuple(stretches),
    )


def report(
    session: SessionTimes,
    stays: Iterable[Stay],
    marks: Iterable[Mark],
    enrolled: Iterable[Enrolled],
    now: datetime,
) -> list[MemberAttendance]:
    """Every member's attendance: those who came (enrolled or not any more) and the enrolled who did not (absent).

    Facilitators first, then participants; within each, in order of arrival, the absent last (by user id)."""
    by_user: dict[str, list[Stay]] = {}
    for stay in stays:
        by_user.setdefault(stay.user_id, []).append(stay)
    marks_by_user: dict[str, list[Mark]] = {}
    for mark in sorted(marks, key=lambda m: m.at):
        marks_by_user.setdefault(mark.user_id, []).append(mark)
    roles = {e.user_id: e.role for e in enrolled}
    members = [
        _member(
            user_id, roles.get(user_id, user_stays[-1].role), user_stays, marks_by_user.get(user_id, []), session, now
        )
        for user_id, user_stays in by_user.items()
    ]
    members += [
        _member(user_id, role, (), (), session, now) for user_id, role in roles.items() if user_id not in by_user
    ]

    def order(member: MemberAttendance) -> tuple[bool, bool, datetime, str]:
        return (
            member.role != "facilitator",
            member.first_joined is None,
            member.first_joined or session.started_at,
            member.user_id,
        )

    return sorted(members, key=order)
