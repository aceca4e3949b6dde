"""End-to-end fixtures: Debian's Chromium driven by Playwright, against a real ``haven serve`` process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.processes import Node, clean_env, create_admin, start_node

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
# HAVEN_TEST_WEB_DIR names another build of the client (``HAVEN_WEB_OUT=<dir> npm run build``); dist/ by default.
WEB_DIST = Path(os.environ.get("HAVEN_TEST_WEB_DIR") or ROOT / "web" / "dist")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        await browser.close()


def serve(cwd: Path, **settings: str) -> Iterator[Node]:
    """A node in ``cwd`` serving the built client with its first admin created; ``settings`` add HAVEN_* variables."""
    assert (WEB_DIST / "index.html").is_file(), "build the web client first (./scripts/test does)"
    env = clean_env(HAVEN_WEB_DIR=str(WEB_DIST), **settings)
    create_admin(cwd, env)
    node = start_node(cwd, env)
    yield node
    node.terminate()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Node]:
    """A node on the embedded default serving the built web client, with its first admin created."""
    yield from serve(tmp_path)


@pytest.fixture(scope="module")
def module_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The same, shared by a module's tests (each uses people and a group of its own)."""
    yield from serve(tmp_path_factory.mktemp("site"))
