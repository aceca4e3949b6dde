"""A mentor calls their mentee with real Chromium: both see each other online, the call rings on every device of the
mentee and stops ringing on the one that did not answer, video flows both ways, an ICE restart from the caller keeps
it flowing, and hanging up ends the call on both sides. Then: a declined call, and a call that survives the mentee's
dropped connection and a reload of their page (each time it resumes on a new connection and the video comes back)."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.people import WAIT_MS, mentor_and_mentee, sign_in
from tests.support.processes import Node

MEDIA_WAIT_S = 20.0

# Decoded inbound video frames on the page's call (window.havenCall.pc, like window.havenPeers in group rooms).
FRAMES_DECODED = """
async () => {
  const pc = window.havenCall && window.havenCall.pc;
  if (!pc) return 0;
  const stats = await pc.getStats();
  let frames = 0;
  stats.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
  });
  return frames;
}
"""

# The ICE username fragments in use on this side and heard from the other; an ICE restart changes both.
ICE_UFRAGS = """
() => {
  const pc = window.havenCall && window.havenCall.pc;
  const ufrag = (d) => { const m = d && /a=ice-ufrag:(\\S+)/.exec(d.sdp); return m ? m[1] : null; };
  return pc ? [ufrag(pc.localDescription), ufrag(pc.remoteDescription)] : null;
}
"""

# The state of the camera track in the local stream, and of the video track the call's connection sends.
LOCAL_VIDEO_STATE = """
() => {
  const stream = document.querySelector("#call-local-video").srcObject;
  const track = stream && stream.getVideoTracks()[0];
  return track ? track.readyState : null;
}
"""
SENT_VIDEO_STATE = """
() => {
  const pc = window.havenCall && window.havenCall.pc;
  const sender = pc && pc.getSenders().find((s) => s.track && s.track.kind === "video");
  return sender ? sender.track.readyState : null;
}
"""


async def until(page: Page, condition: str, failure: str) -> None:
    """Waits for a condition in the page (evaluated as a function body; the page's CSP forbids string eval)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not await page.evaluate(f"() => Boolean({condition})"):
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.1)


async def frames_decoded_over(page: Page, minimum: int) -> int:
    deadline = time.monotonic() + MEDIA_WAIT_S
    frames = 0
    while time.monotonic() < deadline:
        frames = int(await page.evaluate(FRAMES_DECODED))
        if frames > minimum:
            return frames
        await asyncio.sleep(0.5)
    raise AssertionError(f"only {frames} video frames decoded in {MEDIA_WAIT_S} s (wanted more than {minimum})")


async def ufrags_changed_from(page: Page, before: list[str]) -> list[str]:
    deadline = time.monotonic() + MEDIA_WAIT_S
    now = before
    while time.monotonic() < deadline:
        now = await page.evaluate(ICE_UFRAGS)
        if now and all(new and new != old for new, old in zip(now, before, strict=True)):
            return list(now)
        await asyncio.sleep(0.2)
    raise AssertionError(f"the ICE credentials did not change: {before} -> {now}")


async def open_page(browser: Browser) -> tuple[BrowserContext, Page]:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    return context, page


def contact(page: Page, user_id: str) -> Locator:
    return page.locator(f'#contacts li.contact[data-user-id="{user_id}"]')


async def place_call(page: Page, name: str) -> None:
    """Call from the contacts page: the device check comes first, then the call is placed with those devices."""
    await page.get_by_role("button", name=f"Call {name}").click()
    await expect(page.locator("#prejoin-title")).to_have_text(f"Call {name}")
    await page.locator("#prejoin-join").click()


async def answer(page: Page, name: str) -> None:
    """Accept the ringing call, check the devices, and answer with them."""
    await page.get_by_role("button", name=f"Accept the call from {name}").click()
    await expect(page.locator("#prejoin-title")).to_have_text(f"{name} is calling you")
    await page.locator("#prejoin-join").click()


async def test_mentor_calls_mentee(browser: Browser, site: Node) -> None:
    ids = mentor_and_mentee(site)
    mentor_id, mentee_id = ids["mentor"], ids["mentee"]
    (morgan_context, morgan), (alex_context, alex), (tablet_context, tablet) = [
        await open_page(browser) for _ in range(3)
    ]

    # The mentor's home is the calls page; the mentee shows up online once signed in.
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")
    await expect(morgan).to_have_url(f"{site.base}/#/contacts")
    await expect(contact(morgan, mentee_id)).to_contain_text("Alex")
    await expect(contact(morgan, mentee_id)).to_contain_text("Your mentee")
    await expect(contact(morgan, mentee_id).locator(".contact-status")).to_have_text("Offline")
    await expect(morgan.get_by_role("button", name="Call Alex")).to_be_disabled()

    await sign_in(alex, site, "alex@example.org", "alex-password")
    await alex.get_by_role("link", name="Mentor calls").click()
    await expect(contact(alex, mentor_id)).to_contain_text("Your mentor")
    await expect(contact(alex, mentor_id).locator(".contact-status")).to_have_text("Online")
    await expect(contact(morgan, mentee_id).locator(".contact-status")).to_have_text("Online")
    # The mentee's second device, left on their groups page.
    await sign_in(tablet, site, "alex@example.org", "alex-password")

    # The mentor calls; every device of the mentee rings.
    await place_call(morgan, "Alex")
    await expect(morgan.locator("#call-title")).to_have_text("Call with Alex")
    await expect(morgan.locator("#call-status")).to_have_text("Calling Alex…")
    for page in (alex, tablet):
        await expect(page.locator("#incoming-call")).to_contain_text("Morgan is calling you")
        await expect(page.locator("#call-announcer")).to_have_text("Incoming call from Morgan.")

    # Answered on one device (after its device check), the other stops ringing.
    await answer(alex, "Morgan")
    await expect(alex.locator("#incoming-call")).to_be_hidden()
    await expect(tablet.locator("#incoming-call")).to_be_hidden()
    await expect(tablet.locator("#call-ended")).to_contain_text("You answered the call on another device.")
    await expect(tablet.locator("#call")).to_be_hidden()

    # The mentee's idle device shows the mentor in a call.
    await tablet.get_by_role("link", name="Mentor calls").click()
    await expect(contact(tablet, mentor_id).locator(".contact-status")).to_have_text("In a call")
    await expect(tablet.get_by_role("button", name="Call Morgan")).to_be_disabled()

    for page, other in ((morgan, "Alex"), (alex, "Morgan")):
        await expect(page.locator("#call")).to_be_visible()
        await expect(page.locator("#call-status")).to_have_text(f"You are in a call with {other}.", timeout=WAIT_MS)
        await expect(page.locator("#remote-video")).to_be_visible()
        await expect(page.locator("#call-toggle-audio")).to_have_attribute("aria-pressed", "true")
        await expect(page.locator("#call-toggle-video")).to_have_attribute("aria-pressed", "true")

    # Video flows both ways, peer to peer.
    morgan_frames, alex_frames = await asyncio.gather(frames_decoded_over(morgan, 20), frames_decoded_over(alex, 20))
    print(f"framesDecoded: mentor {morgan_frames}, mentee {alex_frames}")

    # An ICE restart from the caller's side renegotiates without ending the call.
    morgan_before, alex_before = await morgan.evaluate(ICE_UFRAGS), await alex.evaluate(ICE_UFRAGS)
    await morgan.evaluate("window.havenCall.restartIce()")
    await ufrags_changed_from(morgan, morgan_before)
    await ufrags_changed_from(alex, alex_before)
    morgan_after, alex_after = await asyncio.gather(
        frames_decoded_over(morgan, morgan_frames + 20), frames_decoded_over(alex, alex_frames + 20)
    )
    print(f"framesDecoded after the ICE restart: mentor {morgan_after}, mentee {alex_after}")
    for page, other in ((morgan, "Alex"), (alex, "Morgan")):
        await expect(page.locator("#call-status")).to_have_text(f"You are in a call with {other}.")
        await expect(page.locator("#call-ended")).to_be_hidden()

    # Turning the camera off is this side's own choice and shows at once; the camera then stops (its light goes
    # off), and turning it on opens it again.
    await alex.get_by_role("button", name="Camera").click()
    await expect(alex.locator("#call-toggle-video")).to_have_attribute("aria-pressed", "false")
    await expect(alex.locator("#call-toggle-video")).to_contain_text("Off")
    await until(alex, f"({LOCAL_VIDEO_STATE})() === 'ended'", "the camera was not stopped")
    await alex.get_by_role("button", name="Camera").click()
    await expect(alex.locator("#call-toggle-video")).to_have_attribute("aria-pressed", "true")
    await until(alex, f"({SENT_VIDEO_STATE})() === 'live'", "the camera did not come back on the connection")

    # The mentor hangs up: both sides see the call ended, and each other online again.
    await morgan.get_by_role("button", name="Hang up").click()
    await expect(morgan.locator("#call-ended-text")).to_have_text("You ended the call.")
    await expect(alex.locator("#call-ended-text")).to_have_text("Morgan ended the call.", timeout=WAIT_MS)
    for page in (morgan, alex):
        await expect(page.locator("#call")).to_be_hidden()
        assert await page.evaluate("window.havenCall.pc") is None
    await expect(contact(morgan, mentee_id).locator(".contact-status")).to_have_text("Online", timeout=WAIT_MS)
    await expect(contact(alex, mentor_id).locator(".contact-status")).to_have_text("Online", timeout=WAIT_MS)
    await expect(contact(tablet, mentor_id).locator(".contact-status")).to_have_text("Online", timeout=WAIT_MS)
    await expect(morgan.get_by_role("button", name="Call Alex")).to_be_enabled()
    await expect(morgan.locator("#recent-calls")).to_contain_text("You called Alex", timeout=WAIT_MS)
    await expect(alex.locator("#recent-calls")).to_contain_text("Morgan called you", timeout=WAIT_MS)

    await morgan.get_by_role("button", name="Close").click()
    await expect(morgan.locator("#call-ended")).to_be_hidden()

    for context in (morgan_context, alex_context, tablet_context):
        await context.close()


async def test_declined_call_then_a_call_that_survives_a_dropped_connection(browser: Browser, site: Node) -> None:
    mentee_id = mentor_and_mentee(site)["mentee"]
    (morgan_context, morgan), (alex_context, alex) = [await open_page(browser) for _ in range(2)]
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")
    await sign_in(alex, site, "alex@example.org", "alex-password")
    await alex.get_by_role("link", name="Mentor calls").click()
    await expect(contact(morgan, mentee_id).locator(".contact-status")).to_have_text("Online")

    # Declined: the mentor is told plainly, and can call again.
    await place_call(morgan, "Alex")
    await alex.get_by_role("button", name="Decline the call from Morgan").click()
    await expect(alex.locator("#call-ended-text")).to_have_text("You declined the call.")
    await expect(morgan.locator("#call-ended-text")).to_have_text(
        "Alex can't take a call right now. You could try again later."
    )
    await expect(morgan.locator("#call")).to_be_hidden()

    await place_call(morgan, "Alex")
    await answer(alex, "Morgan")
    await asyncio.gather(frames_decoded_over(morgan, 10), frames_decoded_over(alex, 10))
    for page in (morgan, alex):
        await page.evaluate("window.callBeforeDrop = window.havenCall.pc")

    # The mentee's connection drops: both sides are told, and the call waits for them.
    await alex_context.set_offline(True)
    await expect(alex.locator("#call-status")).to_have_text("Your connection dropped. Reconnecting…")
    await expect(morgan.locator("#call-status")).to_have_text(
        "Alex's connection dropped. Waiting for them to come back…", timeout=WAIT_MS
    )
    old_pc_frames = await morgan.evaluate(FRAMES_DECODED)

    # Back online: the mentee resumes the call, the mentor offers on a new peer connection, the video returns.
    await alex_context.set_offline(False)
    for page, other in ((morgan, "Alex"), (alex, "Morgan")):
        await expect(page.locator("#call-status")).to_have_text(f"You are in a call with {other}.", timeout=3 * WAIT_MS)
    # Both sides dropped the old peer connection; frames are counted afresh on the new one.
    for page in (morgan, alex):
        assert await page.evaluate("window.havenCall.pc !== null && window.havenCall.pc !== window.callBeforeDrop")
        assert await page.evaluate("window.callBeforeDrop.connectionState") == "closed"
    morgan_frames, alex_frames = await asyncio.gather(frames_decoded_over(morgan, 10), frames_decoded_over(alex, 10))
    print(
        f"framesDecoded after resuming: mentor {morgan_frames} (old connection {old_pc_frames}), mentee {alex_frames}"
    )

    # A reload in the middle of the call resumes it as well.
    await alex.reload()
    for page, other in ((morgan, "Alex"), (alex, "Morgan")):
        await expect(page.locator("#call-status")).to_have_text(f"You are in a call with {other}.", timeout=3 * WAIT_MS)
    await asyncio.gather(frames_decoded_over(morgan, 10), frames_decoded_over(alex, 10))

    # The mentee hangs up this time.
    await alex.get_by_role("button", name="Hang up").click()
    await expect(alex.locator("#call-ended-text")).to_have_text("You ended the call.")
    await expect(morgan.locator("#call-ended-text")).to_have_text("Alex ended the call.", timeout=WAIT_MS)
    await expect(contact(morgan, mentee_id).locator(".contact-status")).to_have_text("Online", timeout=WAIT_MS)

    for context in (morgan_context, alex_context):
        await context.close()
