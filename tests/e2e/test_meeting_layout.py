"""The group room as a meeting, in real Chromium: a participant joins from the pre-join with the camera off and the
others see no picture from them until they turn it on; the facilitator hears of each arrival (live region) and
admits from the lobby at the top of the panel; the control bar stays in the window at 360x740 and 1280x800; a
participant joins and raises a hand by keyboard alone; a facilitator's mute reads "Muted by the facilitator"; a
facilitator's shared screen is pinned large for the others; a participant's share ends when the group stops allowing
it, and the room then has their camera off again, as it was before the share."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.people import (
    add_participant,
    facilitator_and_participant,
    new_page,
    pass_prejoin,
    person_action,
    sign_in,
    sign_in_and_enter,
    token_of,
)
from tests.e2e.screens import check_screen
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

MAX_TABS = 40
CAMERA_OFF = re.compile(r"\bcamera-off\b")

# The live camera tracks this page holds: in its own tile's stream and on its connections' senders. A camera that is
# off is let go (its light goes out), so none is live then.
LIVE_CAMERAS = """
() => {
  const live = (t) => t && t.kind === "video" && t.readyState === "live";
  const own = document.querySelector("#local-video")?.srcObject?.getVideoTracks().filter(live).length || 0;
  let sent = 0;
  for (const pc of (window.havenPeers || new Map()).values()) {
    sent += pc.getSenders().filter((s) => live(s.track)).length;
  }
  return { own, sent, peers: window.havenPeers ? window.havenPeers.size : 0 };
}
"""


@pytest.fixture(scope="module")
def site(module_site: Node) -> Node:
    return module_site


async def in_viewport(page: Page, selector: str) -> None:
    """The element is wholly inside the window as it stands, without scrolling."""
    box = await page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert size is not None
    assert box["x"] >= 0, (selector, box)
    assert box["y"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= size["width"] + 0.5, (selector, box, size)
    assert box["y"] + box["height"] <= size["height"] + 0.5, (selector, box, size)


async def live_cameras(page: Page, *, own: int, sent: int) -> None:
    """Waits until the page holds this many live camera tracks on its own tile and on its senders."""
    await page.wait_for_function(
        f"([own, sent]) => {{ const c = ({LIVE_CAMERAS})(); return c.own === own && c.sent === sent; }}",
        arg=[own, sent],
    )


async def controls_in_reach(page: Page) -> None:
    for selector in ("#control-bar", "#toggle-audio", "#toggle-video", "#raise-hand", "#open-chat", "#leave-room"):
        await expect(page.locator(selector)).to_be_visible()
        await in_viewport(page, selector)


async def tab_to(page: Page, element_id: str) -> None:
    """Presses Tab until the element with this id has focus."""
    for _ in range(MAX_TABS):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement?.id") == element_id:
            return
    raise AssertionError(f"#{element_id} not reached in {MAX_TABS} Tab presses")


async def test_meeting_layout(browser: Browser, site: Node) -> None:
    ids = facilitator_and_participant(site, name="Wednesday meeting")
    group, robin_id = ids["group"], ids["participant"]
    sam_id = add_participant(site, group, "sam@example.org", "Sam")
    fran = await new_page(browser, 1280, 800)
    robin = await new_page(browser, 360, 740)
    sam = await new_page(browser, 1280, 800)
    problems: list[str] = []
    for page in (fran, robin, sam):
        page.on("pageerror", lambda error: problems.append(str(error)))

    # The facilitator opens the room: the lobby heads the people panel, the control bar is in the window.
    await sign_in_and_enter(fran, site, "fran@example.org", "fran-password", group)
    await expect(fran.locator("#lobby-empty")).to_be_visible()
    await controls_in_reach(fran)

    # A participant on a phone: the pre-join, then in with the camera off; they wait.
    await sign_in(robin, site, "robin@example.org", "robin-password")
    await robin.goto(f"{site.base}/#/room/{group}")
    await expect(robin.locator("#prejoin-camera-on")).to_be_enabled()
    await expect(robin.locator("#prejoin-meter")).to_have_attribute("role", "meter")
    await check_screen(robin, "room pre-join (phone)")
    await pass_prejoin(robin, camera=False)
    await expect(robin.locator("#waiting")).to_contain_text("Waiting for a facilitator")
    await expect(robin.locator("#waiting")).to_be_focused()
    await expect(robin.locator("#room-announce")).to_have_text(
        "You are in the waiting room. A facilitator will let you in."
    )

    # The facilitator hears of the arrival and sees it counted, at the top of the panel and on the People tab.
    await expect(fran.locator("#room-announce")).to_have_text("Robin is waiting to join.")
    await expect(fran.locator("#lobby-count")).to_have_text("1")
    await expect(fran.locator("#tab-people .tab-count")).to_contain_text("1")
    first = await fran.evaluate("() => document.querySelector('#panel-people > :not([hidden])')?.id")
    assert first == "lobby-section", first
    await in_viewport(fran, f'#lobby li[data-user-id="{robin_id}"] button.admit')

    # Another participant, by keyboard alone from the pre-join: microphone off, join.
    await sign_in(sam, site, "sam@example.org", "sam-password")
    await sam.goto(f"{site.base}/#/room/{group}")
    await expect(sam.locator("#prejoin-mic-on")).to_be_enabled()
    await tab_to(sam, "prejoin-mic-on")
    await sam.keyboard.press("Space")
    await expect(sam.locator("#prejoin-mic-on")).not_to_be_checked()
    await tab_to(sam, "prejoin-join")
    await sam.keyboard.press("Enter")
    await expect(sam.locator("#waiting")).to_be_visible()
    await expect(fran.locator("#room-announce")).to_have_text("Sam is waiting to join.")
    await expect(fran.locator("#lobby-count")).to_have_text("2")
    await check_screen(fran, "room facilitator with lobby")

    # Both are let in at once.
    await fran.click("#admit-all")
    await expect(fran.locator("#lobby li")).to_have_count(0)
    for page in (fran, robin, sam):
        await expect(page.locator("#roster li.participant")).to_have_count(3)

    # No picture from the participant whose camera is off, for anyone, until they turn it on.
    for page in (fran, sam):
        tile = page.locator(f'#videos figure.tile:not(.tile-local)[data-user-id="{robin_id}"]')
        await expect(tile).to_have_class(CAMERA_OFF)
        await expect(tile).to_contain_text("Camera off")
        await expect(page.locator(f'#roster li[data-user-id="{robin_id}"] [data-kind="video"]')).to_have_text(
            "Camera off"
        )
    await expect(robin.locator("#toggle-video")).to_have_attribute("aria-pressed", "false")
    await expect(robin.locator("#toggle-video")).to_contain_text("Camera off")
    # The name stays "Camera" whatever the state; aria-pressed says whether it is on.
    await expect(robin.get_by_role("button", name="Camera", exact=True)).to_have_attribute("aria-pressed", "false")
    await controls_in_reach(robin)
    await check_screen(robin, "room participant (phone)")
    # The camera chosen off at the pre-join is not held at all (no light), neither shown nor sent.
    cameras = await robin.evaluate(LIVE_CAMERAS)
    assert cameras["peers"] == 2, cameras
    assert (cameras["own"], cameras["sent"]) == (0, 0), cameras
    await robin.click("#toggle-video")
    for page in (fran, sam):
        tile = page.locator(f'#videos figure.tile:not(.tile-local)[data-user-id="{robin_id}"]')
        await expect(tile).to_have_attribute("data-video", "on")
        await expect(tile).not_to_have_class(CAMERA_OFF)
    # Opened again: on the own tile and on both connections.
    await live_cameras(robin, own=1, sent=2)

    # Sam, still by keyboard: muted as chosen, and the hand goes up.
    await expect(sam.locator("#toggle-audio")).to_have_attribute("aria-pressed", "false")
    await expect(sam.locator("#toggle-audio")).to_contain_text("Muted")
    await tab_to(sam, "raise-hand")
    await sam.keyboard.press("Space")
    await expect(sam.locator("#raise-hand")).to_have_attribute("aria-pressed", "true")
    await expect(fran.locator("#hand-queue li")).to_contain_text("Sam")
    await expect(fran.locator("#room-announce")).to_contain_text("Sam raised their hand.")
    await controls_in_reach(sam)

    # The facilitator mutes Robin: unmistakable on Robin's bar, in words.
    await fran.click("#tab-people")
    await person_action(fran, robin_id, "mute-audio")
    await expect(robin.locator("#toggle-audio")).to_contain_text("Muted")
    await expect(robin.locator("#muted-banner")).to_have_text("Muted by the facilitator")
    microphone = robin.get_by_role("button", name="Microphone", exact=True)
    await expect(microphone).to_have_attribute("aria-pressed", "false")
    await expect(microphone).to_have_accessible_description("Muted by the facilitator")
    await in_viewport(robin, "#muted-banner")
    await check_screen(fran, "room facilitator")
    await expect(fran.locator(f'#roster li[data-user-id="{sam_id}"]')).to_contain_text("Hand raised")

    # The facilitator shares a screen: pinned large for the others, named; participants here may not share.
    await expect(sam.locator("#share-screen")).to_be_hidden()
    fran_id = ids["facilitator"]
    await fran.click("#share-screen")
    await expect(fran.locator("#share-screen")).to_contain_text("Stop sharing")
    await expect(robin.locator("#screen-label")).to_have_text("Fran is sharing their screen.")
    pinned = sam.locator(f'#videos figure.tile.is-main[data-user-id="{fran_id}"]')
    await expect(pinned).to_have_class(re.compile(r"\bis-screen\b"))
    await expect(sam.locator("#videos")).to_have_attribute("data-layout", "speaker")
    await fran.click("#share-screen")
    await expect(robin.locator("#screen-label")).to_be_hidden()
    await expect(sam.locator("#videos")).to_have_attribute("data-layout", "grid")

    # On the phone, Devices sits in the folded "More"; a click in its popover folds "More" away, so closing the
    # popover puts focus on "More" rather than on a hidden button.
    await robin.click("#room-more")
    await robin.click("#room-devices")
    await expect(robin.locator("#devices-popover")).to_be_visible()
    await robin.click("#devices-title")
    await expect(robin.locator("#room-devices")).to_be_hidden()
    await robin.click("#close-devices")
    await expect(robin.locator("#room-more")).to_be_focused()

    # The group lets participants share; Robin, camera off, shares from the phone's "More". When the group stops
    # allowing it, the share ends and the room hears that Robin's camera is off again.
    admin = token_of(site, ADMIN_EMAIL, ADMIN_PASSWORD)
    status, body = http("PATCH", f"{site.base}/api/groups/{group}", {"screen_share_allowed": True}, admin)
    assert status == 200, body
    await robin.click("#toggle-video")
    robin_video = fran.locator(f'#roster li[data-user-id="{robin_id}"] [data-kind="video"]')
    await expect(robin_video).to_have_text("Camera off")
    # Turned off with the Camera button: let go a moment later (black frames first), the senders kept.
    await live_cameras(robin, own=0, sent=0)
    await robin.click("#room-more")
    await robin.click("#share-screen")
    await expect(fran.locator(f'#roster li[data-user-id="{robin_id}"]')).to_contain_text("Sharing screen")
    await expect(robin_video).to_have_text("Camera on")
    status, body = http("PATCH", f"{site.base}/api/groups/{group}", {"screen_share_allowed": False}, admin)
    assert status == 200, body
    await expect(fran.locator(f'#roster li[data-user-id="{robin_id}"]')).not_to_contain_text("Sharing screen")
    await expect(robin_video).to_have_text("Camera off")
    await expect(robin.locator("#toggle-video")).to_have_attribute("aria-pressed", "false")

    assert problems == []
    for page in (fran, robin, sam):
        await page.context.close()
