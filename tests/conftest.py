"""Shared fixtures: databases of both kinds, the running application, and signed-in users."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Settings, load_settings
from tests.support import databases, services
from tests.support.api import Api
from tests.support.logs import debug_log  # noqa: F401 - a fixture for every test that reads the server's log

T = TypeVar("T")
TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    with services.postgres_url() as url:
        yield url


def run_apart(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own, even from inside a running test loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    url = run_apart(databases.migrated_template(postgres_server_url))
    yield url
    run_apart(databases.drop_database(url))


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with services.redis_url() as url:
        yield url


@contextlib.asynccontextmanager
async def fresh_database(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgresql``), made for this test alone."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}"
        return
    template = request.getfixturevalue("postgres_template")
    server_url = request.getfixturevalue("postgres_server_url")
    url = await databases.create_database(server_url, template=databases.database_name(template))
    try:
        yield url
    finally:
        await databases.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of each kind, made for this test alone."""
    async with fresh_database(request, request.param, tmp_path) as url:
        yield url


# Settings that go with one test's database wherever the test builds its settings (the shared ``settings`` fixture,
# a test module's own, or a test calling ``make_settings``): the realtime tests keep the PostgreSQL variant's live
# state in Redis this way (tests/realtime/conftest.py). Keyed by the database's URL, which no other test shares.
_WITH_DATABASE: dict[str, dict[str, str]] = {}


@contextlib.contextmanager
def settings_with_database(database_url: str, **env: str) -> Iterator[None]:
    """While open, ``make_settings`` for ``database_url`` includes ``env`` (a test's explicit settings still win)."""
    _WITH_DATABASE[database_url] = env
    try:
        yield
    finally:
        del _WITH_DATABASE[database_url]


def make_settings(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    env = {
        "HAVEN_DATA_DIR": str(tmp_path / "data"),
        "HAVEN_DATABASE_URL": database_url,
        "HAVEN_JWT_SECRET": TEST_SECRET,
        "HAVEN_WEB_DIR": str(tmp_path / "web"),
        "HAVEN_LOG_LEVEL": "warning",
        **_WITH_DATABASE.get(database_url, {}),
        **extra,
    }
    return load_settings(env)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Haven</title><h1>Haven</h1>")
    (web / "app.js").write_text("console.log('haven');\n")
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def client(aiohttp_client, settings: Settings) -> TestClient:  # type: ignore[no-untyped-def]
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
async def admin(api: Api) -> str:
    """A signed-in administrator's token, the account created as ``haven user create`` would."""
    await api.create_user_directly("admin@example.org", "Program Admin", "admin", "admin-password")
    return await api.login("admin@example.org", "admin-password")
