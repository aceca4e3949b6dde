"""The REST API: sign-in, the signed-in user's own views, and administration."""

from __future__ import annotations

from aiohttp import web

from server.api import (
    agreements,
    attendance,
    audit_log,
    calls,
    checkins,
    contacts,
    conversations,
    groups,
    help,
    login,
    me,
    pairings,
    refresh,
    schedules,
    users,
)


def add_routes(app: web.Application) -> None:
    for module in (
        help,
        login,
        refresh,
        me,
        users,
        groups,
        pairings,
        audit_log,
        conversations,
        contacts,
        calls,
        schedules,
        agreements,
        checkins,
        attendance,
    ):
        app.router.add_routes(module.routes)
