"""Attendance reports as clients read them: the JSON view and the same figures as CSV rows.

The CSV holds one row per (session, member) with the JSON's figures, in the same units; a cell that a spreadsheet
would run as a formula (a name starting with ``=``, ``+``, ``-`` or ``@``) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from server.attendance import MemberAttendance, Stretch, minutes
from server.attendance_store import Correction, SessionAttendance

CSV_COLUMNS = (
    "session_id",
    "session_started_at",
    "session_ended_at",
    "scheduled_start",
    "scheduled_end",
    "signed_off_at",
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
    "stretches",
    "ended",
    "admitted_by",
    "corrected_status",
    "corrected_minutes_present",
    "corrections",
)
# How a stretch that is still going on is named in the CSV's "ended" column (JSON: null).
STILL_IN = "in_room"


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _person(user_id: str | None, names: dict[str, str]) -> dict[str, Any] | None:
    return None if user_id is None else {"user_id": user_id, "display_name": names.get(user_id, "")}


def _stretch(stretch: Stretch, names: dict[str, str]) -> dict[str, Any]:
    return {
        "joined_at": _time(stretch.joined_at),
        "left_at": _time(stretch.left_at),
        "ended": stretch.ended,
        "admitted_by": _person(stretch.admitted_by, names),
        "minutes_waiting": minutes(stretch.seconds_waiting),
    }


def _correction(correction: Correction, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": correction.id,
        "status": correction.status,
        "minutes_present": correction.minutes_present,
        "note": correction.note,
        "by": _person(correction.corrected_by, names),
        "at": _time(correction.corrected_at),
    }


def corrected(corrections: Iterable[Correction]) -> dict[str, Any] | None:
    """The figures as corrected (each field by its latest correction naming it); None when never corrected."""
    result: dict[str, Any] | None = None
    for correction in corrections:
        result = result or {"status": None, "minutes_present": None}
        if correction.status is not None:
            result["status"] = correction.status
        if correction.minutes_present is not None:
            result["minutes_present"] = correction.minutes_present
    return result


def member_view(member: MemberAttendance, corrections: list[Correction], names: dict[str, str]) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "display_name": names.get(member.user_id, ""),
        "role": member.role,
        "status": member.status,
        "minutes_present": member.minutes_present,
        "minutes_camera_on": member.minutes_camera_on,
        "minutes_waiting": member.minutes_waiting,
        "first_joined": _time(member.first_joined),
        "last_left": _time(member.last_left),
        "late": member.late,
        "minutes_late": member.minutes_late,
        "left_early": member.left_early,
        "ended": [s.ended for s in member.stretches],
        "stretches": [_stretch(s, names) for s in member.stretches],
        "corrections": [_correction(c, names) for c in corrections],
        "corrected": corrected(corrections),
    }


def session_view(report: SessionAttendance) -> dict[str, Any]:
    session = report.session
    names = report.names
    return {
        "id": str(session.id),
        "group_id": str(session.group_id),
        "group_name": report.group_name,
        "status": "open" if session.ended_at is None else "ended",
        "scheduled": session.scheduled_start is not None,
        "started_at": _time(session.started_at),
        "ended_at": _time(session.ended_at),
        "scheduled_start": _time(session.scheduled_start),
        "scheduled_end": _time(session.scheduled_end),
        "opened_by": _person(None if session.opened_by is None else str(session.opened_by), names),
        "ended_by": _person(None if session.ended_by is None else str(session.ended_by), names),
    }


def report_view(report: SessionAttendance) -> dict[str, Any]:
    session = report.session
    signed_off = None
    if session.signed_off_at is not None:
        by = None if session.signed_off_by is None else str(session.signed_off_by)
        signed_off = {
            "by": _person(by, report.names),
            "at": _time(session.signed_off_at),
            "note": session.sign_off_note,
        }
    by_member: dict[str, list[Correction]] = {}
    for correction in report.corrections:
        by_member.setdefault(correction.user_id, []).append(correction)
    members = [member_view(m, by_member.get(m.user_id, []), report.names) for m in report.members]
    return {"session": session_view(report), "signed_off": signed_off, "members": members}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def csv_rows(view: dict[str, Any]) -> Iterable[list[str]]:
    """A report view's rows, one per member, in ``CSV_COLUMNS`` order."""
    session, signed = view["session"], view["signed_off"]
    for m in view["members"]:
        fixed = m["corrected"] or {}
        row = [
            session["id"],
            session["started_at"],
            session["ended_at"],
            session["scheduled_start"],
            session["scheduled_end"],
            None if signed is None else signed["at"],
            m["user_id"],
            m["display_name"],
            m["role"],
            m["status"],
            m["minutes_present"],
            m["minutes_camera_on"],
            m["minutes_waiting"],
            m["first_joined"],
            m["last_left"],
            m["late"],
            m["minutes_late"],
            m["left_early"],
            len(m["stretches"]),
            ";".join(STILL_IN if e is None else e for e in m["ended"]),
            ";".join(s["admitted_by"]["user_id"] if s["admitted_by"] else "" for s in m["stretches"]),
            fixed.get("status"),
            fixed.get("minutes_present"),
            len(m["corrections"]),
        ]
        yield [_cell(value) for value in row]


def to_csv(views: Iterable[dict[str, Any]]) -> str:
    """The reports as one CSV text: a header row, then a row per (session, member)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for view in views:
        writer.writerows(csv_rows(view))
    return out.getvalue()
