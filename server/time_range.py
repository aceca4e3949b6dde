"""Times and time ranges in query strings: ISO 8601 with an offset, or a date (midnight UTC).

A time without an offset is refused rather than guessed: a report for "Monday 18:00" means different hours in
different places, and a program reports on its own group's time zone, not the server's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from server.errors import invalid

# The longest range a listing or report covers in one request (about a quarter).
MAX_RANGE = timedelta(days=92)
# Times a query may name: anything outside is a mistake, and date arithmetic near the ends would overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(raw: str, name: str) -> datetime:
    """``raw`` as an aware UTC datetime; a clear ``invalid_request`` naming ``name`` otherwise."""
    text = raw.strip()
    try:
        if len(text) == 10:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise invalid(f"'{name}' must be an ISO 8601 time with an offset, or a date (YYYY-MM-DD).") from None
    if value.tzinfo is None:
        raise invalid(f"'{name}' must carry a UTC offset (for example 2026-03-02T18:00:00-05:00).")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise invalid(f"'{name}' must be between {EARLIEST.year} and {LATEST.year}.")
    return moment


def query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    return None if raw is None else parse_time(raw, name)


def query_range(request: web.Request, default_start: datetime, default_length: timedelta) -> tuple[datetime, datetime]:
    """``from`` and ``to`` of the query: ``to`` after ``from``, at most ``MAX_RANGE`` apart. A missing ``from`` is
    ``default_start``; a missing ``to`` is ``default_length`` after ``from``."""
    start = query_time(request, "from") or default_start
    end = query_time(request, "to") or start + default_length
    if end <= start:
        raise invalid("'to' must be later than 'from'.")
    if end - start > MAX_RANGE:
        raise invalid(f"A range covers at most {MAX_RANGE.days} days.")
    return start, end
