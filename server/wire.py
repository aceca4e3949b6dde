"""Validated wire models for REST bodies: bounded lengths, strict types, no unknown fields."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from server.db.models import MAX_CAPACITY, MIN_CAPACITY, MemberRole, UserRole
from server.schedule import time_zones

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("is not an email address")
    return value


def _plain_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control or invisible format characters")
    return value


def _time_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError("is not an IANA time zone name (for example America/New_York)")
    return value


def _weekdays(value: list[int]) -> list[int]:
    if any(not 1 <= day <= 7 for day in value):
        raise ValueError("must be ISO weekdays, 1 (Monday) to 7 (Sunday)")
    return sorted(set(value))


# Schedule dates and one-off times lie within these years: far enough for any program, and far from the calendar's
# ends, where a session's UTC time would not be representable.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)
_FIRST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
_PAST_LAST_INSTANT = datetime(2101, 1, 1, tzinfo=UTC)


def _schedule_date(value: date) -> date:
    if not FIRST_DATE <= value <= LAST_DATE:
        raise ValueError(f"must be from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}")
    return value


def _session_time(value: datetime) -> datetime:
    # Compared as instants, never converted: converting 9999-12-31T20:00-05:00 to UTC would overflow.
    if not _FIRST_INSTANT <= value < _PAST_LAST_INSTANT:
        raise ValueError("must lie in the years 2000 to 2100 (UTC)")
    return value


def _local_time(value: time) -> time:
    # The group's time zone says where the time is; a time carrying its own offset would contradict it.
    if value.tzinfo is not None:
        raise ValueError("must be a local time without an offset (the group's time zone applies)")
    if value.second or value.microsecond:
        raise ValueError("must be a whole minute (HH:MM)")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
DisplayName = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_plain_text)]
GroupName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_plain_text)]
# NIST SP 800-63B: at least 8 characters; the upper bound keeps hashing cost bounded.
NewPassword = Annotated[str, Field(min_length=8, max_length=256)]
Capacity = Annotated[int, Field(ge=MIN_CAPACITY, le=MAX_CAPACITY)]
TimeZoneName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_time_zone)]
# Up to 14 entries as sent (repeats are folded, so twice every day is still a week), at most 7 once folded.
Weekdays = Annotated[list[int], Field(min_length=1, max_length=14), AfterValidator(_weekdays)]
LocalTime = Annotated[time, AfterValidator(_local_time)]
# A session lasts 5 minutes to 12 hours (the schedules table checks the same).
DurationMinutes = Annotated[int, Field(ge=5, le=720)]
ScheduleDate = Annotated[date, AfterValidator(_schedule_date)]
SessionTime = Annotated[AwareDatetime, AfterValidator(_session_time)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LoginBody(Body):
    email: Annotated[str, Field(min_length=1, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class UserCreate(Body):
    email: Email
    display_name: DisplayName
    role: UserRole
    password: NewPassword


class UserUpdate(Body):
    display_name: DisplayName | None = None
    role: UserRole | None = None
    password: NewPassword | None = None
    disabled: bool | None = None


class GroupCreate(Body):
    name: GroupName
    capacity: Capacity
    lobby_enabled: bool = True
    self_unmute_allowed: bool = True
    screen_share_allowed: bool = False
    timezone: TimeZoneName = "UTC"


class GroupUpdate(Body):
    name: GroupName | None = None
    capacity: Capacity | None = None
    lobby_enabled: bool | None = None
    self_unmute_allowed: bool | None = None
    screen_share_allowed: bool | None = None
    archived: bool | None = None
    timezone: TimeZoneName | None = None


class MemberAdd(Body):
    user_id: uuid.UUID
    role: MemberRole


class PairingCreate(Body):
    mentor_id: uuid.UUID
    mentee_id: uuid.UUID


class ScheduleCreate(Body):
    """A weekly series: ``weekdays`` (ISO, 1 = Monday) at ``start_time`` (HH:MM in the group's time zone) for
    ``duration_minutes``, from ``starts_on`` to ``ends_on`` inclusive (open-ended when null)."""

    weekdays: Weekdays
    start_time: LocalTime
    duration_minutes: DurationMinutes
    starts_on: ScheduleDate
    ends_on: ScheduleDate | None = None


class ScheduleUpdate(Body):
    weekdays: Weekdays | None = None
    start_time: LocalTime | None = None
    duration_minutes: DurationMinutes | None = None
    starts_on: ScheduleDate | None = None
    ends_on: ScheduleDate | None = None


class CancellationCreate(Body):
    date: ScheduleDate


class ExtraSessionCreate(Body):
    """A one-off session: instants with an offset, from 2000 to 2100."""

    starts_at: SessionTime
    ends_at: SessionTime
