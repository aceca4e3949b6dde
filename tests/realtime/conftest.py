"""Fixtures for real-time tests: a group with a facilitator and participants, and connected clients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database, settings_with_database
from tests.support.api import Api
from tests.support.realtime import Peer


@pytest.fixture(params=[pytest.param("sqlite", id="sqlite-memory"), pytest.param("postgresql", id="postgresql-redis")])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The shared database fixture, paired with a live-state store: with SQLite the application keeps rooms, calls
    and presence in memory; with PostgreSQL in Redis (a key prefix of this test's own). So every realtime test runs
    once on each store, and the test id says which."""
    async with fresh_database(request, request.param, tmp_path) as url:
        if request.param == "sqlite":
            yield url
            return
        redis_url = request.getfixturevalue("redis_server_url")
        prefix = f"haven-test-{secrets.token_hex(6)}:"
        with settings_with_database(url, HAVEN_REDIS_URL=redis_url, HAVEN_REDIS_PREFIX=prefix):
            yield url


@dataclass
class Person:
    user_id: str
    token: str
    name: str


@dataclass
class Cohort:
    """A group and its people, created through the admin API."""

    api: Api
    admin: str
    group_id: str
    facilitator: Person
    co_facilitator: Person
    participants: list[Person]
    outsider: Person
    url: str
    peers: list[Peer] = field(default_factory=list)

    async def connect(self, person: Person, url: str | None = None) -> Peer:
        peer = Peer(person.name)
        await peer.connect(url or self.url, person.token)
        self.peers.append(peer)
        return peer

    async def enter(self, person: Person, url: str | None = None) -> tuple[Peer, Any]:
        peer = await self.connect(person, url)
        return peer, await peer.call("room:join", {"room_id": self.group_id})


MakeCohort = Callable[..., Coroutine[Any, Any, Cohort]]


async def make_cohort(api: Api, admin: str, url: str, participants: int = 3, tag: str = "", **group: Any) -> Cohort:
    """Create a group with two facilitators and ``participants`` participants; clients connect to ``url``."""

    async def person(email: str, role: str, name: str) -> Person:
        user_id, token = await api.user(admin, email, role, name)
        return Person(user_id, token, name)

    status, body = await api.call("POST", "/api/groups", admin, {"name": "Evening group", "capacity": 6, **group})
    assert status == 201, body
    group_id = body["id"]
    facilitator = await person(f"{tag}fac@example.org", "facilitator", "Fran")
    co_facilitator = await person(f"{tag}cofac@example.org", "facilitator", "Cory")
    await api.enrol(admin, group_id, facilitator.user_id, "facilitator")
    await api.enrol(admin, group_id, co_facilitator.user_id, "facilitator")
    people = []
    for n in range(participants):
        someone = await person(f"{tag}p{n}@example.org", "participant", f"P{n}")
        await api.enrol(admin, group_id, someone.user_id, "participant")
        people.append(someone)
    outsider = await person(f"{tag}out@example.org", "participant", "Out")
    return Cohort(api, admin, group_id, facilitator, co_facilitator, people, outsider, url)


@pytest.fixture
async def cohort(api: Api, admin: str) -> AsyncIterator[Cohort]:
    made = await make_cohort(api, admin, str(api.client.make_url("/")))
    yield made
    for peer in made.peers:
        await peer.close()
