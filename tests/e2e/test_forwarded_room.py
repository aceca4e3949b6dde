"""Three people meet in a group room through Haven's forwarder, with real Chromium: everyone's video plays at
everyone else's, a speaking indicator lights up, and a facilitator's mute shows on the muted person's tile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import serve
from tests.e2e.people import WAIT_MS, facilitator_and_participant, person_action, sign_in_and_enter
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

MEDIA_WAIT_S = 20.0

# What each remote tile plays, and the decoded video frames per incoming stream (window.havenPeers holds the
# page's peer connections: in a forwarded room, the one to the forwarder).
MEDIA_STATE = """
async () => {
  const tiles = [...document.querySelectorAll("#videos figure.tile:not(.tile-local)")].map((figure) => {
    const video = figure.querySelector("video");
    return { user: figure.dataset.userId, width: video ? video.videoWidth : 0,
             time: video ? video.currentTime : 0, speaking: figure.dataset.speaking, audio: figure.dataset.audio };
  });
  const decoded = [];
  for (const pc of (window.havenPeers || new Map()).values()) {
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") decoded.push(r.framesDecoded || 0);
    });
  }
  const videos = document.querySelector("#videos");
  return { tiles, decoded, peers: window.havenPeers ? window.havenPeers.size : 0,
           mode: videos ? videos.dataset.mediaMode : null, forwarder: videos ? videos.dataset.forwarder : null,
           note: document.querySelector("#media-link-note")?.textContent || "" };
}
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Node]:
    """As the shared fixture, with every group room through the forwarder (HAVEN_MESH_LIMIT=0)."""
    yield from serve(tmp_path, HAVEN_MESH_LIMIT="0")


def three_people(site: Node) -> dict[str, str]:
    """Fran (facilitator), Robin and Sam (participants) in a group without a lobby."""
    ids = facilitator_and_participant(site, name="Forwarded circle", lobby_enabled=False)
    _, admin = http("POST", site.base + "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    status, sam = http(
        "POST",
        site.base + "/api/users",
        {"email": "sam@example.org", "display_name": "Sam", "role": "participant", "password": "sam-password"},
        admin["token"],
    )
    assert status == 201, sam
    status, body = http(
        "POST",
        site.base + f"/api/groups/{ids['group']}/members",
        {"user_id": sam["id"], "role": "participant"},
        admin["token"],
    )
    assert status == 201, body
    ids["sam"] = sam["id"]
    return ids


async def videos_playing(page: Page, others: set[str]) -> dict[str, Any]:
    """Waits until the page plays the video of each of ``others`` and its playback and decoding move on."""
    deadline = time.monotonic() + MEDIA_WAIT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = await page.evaluate(MEDIA_STATE)
        showing = {t["user"] for t in state["tiles"] if t["width"] > 0}
        if showing == others and len([n for n in state["decoded"] if n > 0]) >= len(others):
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError(f"remote video did not play in {MEDIA_WAIT_S} s: {state}")
    await asyncio.sleep(1.0)
    later = await page.evaluate(MEDIA_STATE)
    before = {t["user"]: t["time"] for t in state["tiles"]}
    for tile in later["tiles"]:
        assert tile["time"] > before[tile["user"]], f"{tile['user']}'s video stands still: {state} then {later}"
    assert sum(later["decoded"]) > sum(state["decoded"]), f"no frames decoded in a second: {state} then {later}"
    return later


async def test_forwarded_room(browser: Browser, site: Node) -> None:
    ids = three_people(site)
    group, fran_id, robin_id, sam_id = ids["group"], ids["facilitator"], ids["participant"], ids["sam"]
    contexts = [await browser.new_context() for _ in range(3)]
    fran, robin, sam = [await context.new_page() for context in contexts]
    problems: list[str] = []
    for page in (fran, robin, sam):
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda error: problems.append(str(error)))

    # The facilitator opens the room; the participants come straight in (no lobby).
    await sign_in_and_enter(fran, site, "fran@example.org", "fran-password", group)
    await expect(fran.locator("#roster li.participant")).to_have_count(1)
    await asyncio.gather(
        sign_in_and_enter(robin, site, "robin@example.org", "robin-password", group),
        sign_in_and_enter(sam, site, "sam@example.org", "sam-password", group),
    )
    for page in (fran, robin, sam):
        await expect(page.locator("#roster li.participant")).to_have_count(3)
        await expect(page.locator("#videos")).to_have_attribute("data-media-mode", "sfu")

    # Everyone sees the two others' video, through one connection each to the forwarder.
    everyone = {fran_id, robin_id, sam_id}
    started = time.monotonic()
    states = await asyncio.gather(
        videos_playing(fran, everyone - {fran_id}),
        videos_playing(robin, everyone - {robin_id}),
        videos_playing(sam, everyone - {sam_id}),
    )
    print(
        f"video playing everywhere after {time.monotonic() - started:.1f} s; frames decoded per stream:",
        [s["decoded"] for s in states],
    )
    for state in states:
        assert state["peers"] == 1, state
        assert state["forwarder"] == "connected", state

    # The fake microphones send a tone: someone is shown speaking.
    await expect(fran.locator('#videos figure.tile[data-speaking="true"]').first).to_be_attached(timeout=15_000)

    # The facilitator mutes Robin's microphone: the others see it on Robin's tile, apart from a self-mute.
    await person_action(fran, robin_id, "mute-audio")
    await expect(robin.locator("#room-notice")).to_contain_text("A facilitator muted your microphone")
    for page in (fran, sam):
        tile = page.locator(f'#videos figure.tile:not(.tile-local)[data-user-id="{robin_id}"]')
        await expect(tile).to_have_attribute("data-audio", "held")
        await expect(tile).to_contain_text("Mic muted by a facilitator")
    await expect(sam.locator(f'#videos figure.tile:not(.tile-local)[data-user-id="{fran_id}"]')).to_have_attribute(
        "data-audio", "on"
    )

    assert problems == []
    for context in contexts:
        await context.close()
