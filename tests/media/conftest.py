"""Fixtures for media tests: a private coturn on loopback, a Haven app, a mentor and mentee paired through the admin
API, and call devices (aiortc peers signaling through Haven) that are closed after each test.

These tests run on SQLite only: the media path touches the database only for the call's record (which the
call signaling tests cover on both kinds), and each test here spends seconds of CPU encoding and decoding video,
so running it twice would double the slowest tests of the suite for no new information.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.config import Settings
from tests.conftest import make_settings
from tests.support.api import Api
from tests.support.call_peer import CallPeer
from tests.support.turn import PrivateTurn, turn_server


@dataclass
class Person:
    user_id: str
    token: str
    name: str


@dataclass
class Pairing:
    pairing_id: str
    mentor: Person
    mentee: Person


Connect = Callable[[Person], Awaitable[CallPeer]]


@pytest.fixture(scope="session")
def turn() -> Iterator[PrivateTurn]:
    with turn_server() as server:
        yield server


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}"


@pytest.fixture
def ice_policy() -> str:
    """``HAVEN_ICE_POLICY`` for the app; a test parametrizes it with "relay" to force TURN."""
    return "all"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, ice_policy: str, request: pytest.FixtureRequest) -> Settings:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Haven</title>")
    extra: dict[str, str] = {}
    if ice_policy == "relay":
        turn: PrivateTurn = request.getfixturevalue("turn")
        extra = {"HAVEN_TURN_URLS": turn.url, "HAVEN_TURN_SECRET": turn.secret, "HAVEN_ICE_POLICY": "relay"}
    return make_settings(tmp_path, database_url, **extra)


@pytest.fixture
async def pairing(api: Api, admin: str) -> Pairing:
    mentor = Person(*await api.user(admin, "mentor@example.org", "mentor", "Morgan"), "Morgan")
    mentee = Person(*await api.user(admin, "mentee@example.org", "participant", "Robin"), "Robin")
    status, body = await api.call(
        "POST", "/api/pairings", admin, {"mentor_id": mentor.user_id, "mentee_id": mentee.user_id}
    )
    assert status == 201, body
    return Pairing(body["id"], mentor, mentee)


@pytest.fixture
async def connect(client: TestClient[Any, Any]) -> AsyncIterator[Connect]:
    """Connect a call device for a person to the app; every device is closed (media and socket) afterwards."""
    devices: list[CallPeer] = []
    url = str(client.make_url("/"))

    async def device(person: Person) -> CallPeer:
        peer = CallPeer(person.name)
        devices.append(peer)
        await peer.connect(url, person.token)
        return peer

    yield device
    for peer in devices:
        await peer.close()
