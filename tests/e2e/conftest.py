"""End-to-end fixtures: Debian's Chromium driven by Playwright, against a real ``haven serve`` process."""

from __future__ import annotations

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
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Node]:
    """A node on the embedded default serving the built web client, with its first admin created."""
    assert (WEB_DIST / "index.html").is_file(), "build the web client first (./scripts/test does)"
    env = clean_env(HAVEN_WEB_DIR=str(WEB_DIST))
    create_admin(tmp_path, env)
    node = start_node(tmp_path, env)
    yield node
    node.terminate()
