"""A facilitator and a participant meet in a group room with real Chromium: lobby, admission, mesh video both
ways, a raised hand, a facilitator's mute, and the end of the session."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, Page, expect

from tests.e2e.people import WAIT_MS, end_session, facilitator_and_participant, person_action, sign_in_and_enter
from tests.support.processes import Node

MEDIA_WAIT_S = 15.0

# Sums the decoded inbound video frames over the page's RTCPeerConnections (window.havenPeers).
FRAMES_DECODED = """
async () => {
  const peers = window.havenPeers;
  if (!peers) return 0;
  let total = 0;
  for (const pc of peers.values()) {
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") total += r.framesDecoded || 0;
    });
  }
  return total;
}
"""


def prepare(site: Node) -> dict[str, str]:
    # Self-unmute is forbidden, so the participant's attempt after the facilitator's mute is refused.
    return facilitator_and_participant(site, name="Thursday evening circle", self_unmute_allowed=False)


async def frames_decoded_over(page: Page, minimum: int) -> int:
    deadline = time.monotonic() + MEDIA_WAIT_S
    frames = 0
    while time.monotonic() < deadline:
        frames = await page.evaluate(FRAMES_DECODED)
        if frames > minimum:
            return frames
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {frames} video frames decoded in {MEDIA_WAIT_S} s")


async def test_facilitated_group_room(browser: Browser, site: Node) -> None:
    ids = prepare(site)
    group, robin = ids["group"], ids["participant"]
    fran_context, robin_context = await browser.new_context(), await browser.new_context()
    fran, robin_page = await fran_context.new_page(), await robin_context.new_page()
    for page in (fran, robin_page):
        page.set_default_timeout(WAIT_MS)

    # The facilitator opens the room and is alone in it.
    await sign_in_and_enter(fran, site, "fran@example.org", "fran-password", group)
    await expect(fran.locator("#roster li.participant")).to_have_count(1, timeout=WAIT_MS)
    await expect(fran.locator("#roster")).to_contain_text("Fran")
    await expect(fran.locator("#lobby-empty")).to_be_visible()
    await expect(fran.locator("#local-video")).to_be_visible()

    # The participant waits in the lobby until the facilitator admits them.
    await sign_in_and_enter(robin_page, site, "robin@example.org", "robin-password", group)
    await expect(robin_page.locator("#waiting")).to_contain_text(
        "Waiting for a facilitator to let you in", timeout=WAIT_MS
    )
    await expect(robin_page.locator("#roster")).to_be_hidden()
    waiting = fran.locator(f'#lobby li[data-user-id="{robin}"]')
    await expect(waiting).to_contain_text("Robin", timeout=WAIT_MS)
    await waiting.locator("button.admit").click()
    await expect(fran.locator("#lobby li")).to_have_count(0, timeout=WAIT_MS)

    for page in (fran, robin_page):
        await expect(page.locator("#roster li.participant")).to_have_count(2, timeout=WAIT_MS)
    await expect(robin_page.locator("#waiting")).to_be_hidden()
    await expect(robin_page.locator(f'#roster li[data-user-id="{ids["facilitator"]}"]')).to_contain_text("Fran")
    await expect(fran.locator(f'#roster li[data-user-id="{robin}"]')).to_contain_text("Participant")

    # Media flows both ways over the mesh connection.
    fran_frames, robin_frames = await asyncio.gather(frames_decoded_over(fran, 10), frames_decoded_over(robin_page, 10))
    print(f"framesDecoded: facilitator {fran_frames}, participant {robin_frames}")
    await expect(fran.locator(f'#videos video.remote-video[data-user-id="{robin}"]')).to_have_count(1)
    await expect(robin_page.locator(f'#videos video.remote-video[data-user-id="{ids["facilitator"]}"]')).to_have_count(
        1
    )

    # A raised hand reaches the facilitator's queue.
    await robin_page.click("#raise-hand")
    await expect(robin_page.locator("#raise-hand")).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    await expect(fran.locator("#hand-queue li")).to_have_count(1, timeout=WAIT_MS)
    await expect(fran.locator("#hand-queue")).to_contain_text("Robin")

    # The facilitator mutes the participant's microphone; the participant cannot lift it in this group.
    await expect(robin_page.locator("#toggle-audio")).to_have_attribute("aria-pressed", "true")
    await person_action(fran, robin, "mute-audio")
    await expect(robin_page.locator("#room-notice")).to_contain_text(
        "A facilitator muted your microphone", timeout=WAIT_MS
    )
    await expect(robin_page.locator("#toggle-audio")).to_have_attribute("aria-pressed", "false")
    await expect(fran.locator(f'#roster li[data-user-id="{robin}"]')).to_contain_text("Mic off", timeout=WAIT_MS)
    await robin_page.click("#toggle-audio")
    await expect(robin_page.locator("#room-error")).to_contain_text("facilitator")
    await expect(robin_page.locator("#toggle-audio")).to_have_attribute("aria-pressed", "false")
    assert await robin_page.evaluate("window.havenPeers.size") == 1

    # The facilitator ends the session for everyone.
    await end_session(fran)
    await expect(robin_page.locator("#room-over")).to_contain_text("This session has ended", timeout=WAIT_MS)
    await expect(robin_page.locator("#back-to-groups")).to_be_visible()
    await expect(fran.locator("#room-over")).to_contain_text("This session has ended", timeout=WAIT_MS)
    assert await robin_page.evaluate("window.havenPeers.size") == 0

    await fran_context.close()
    await robin_context.close()
