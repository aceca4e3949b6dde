"""The device check before a call, with Chromium's fake camera and microphone: the selects list the devices, the
level meter moves, the speakers can be tested, "camera off" places the call with the camera's track disabled (and is
remembered for next time); the incoming prompt and the call screen keep their controls in view at 1280x800 and
360x740; and a browser that refuses the camera and microphone gets calm words and can still call."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, Page, expect

from tests.e2e.people import WAIT_MS, mentor_and_mentee, new_page, sign_in
from tests.e2e.screens import check_screen
from tests.support.processes import Node

# The local stream's tracks as the call holds them: [[kind, enabled, readyState], ...].
LOCAL_TRACKS = """
() => {
  const stream = document.querySelector("#call-local-video").srcObject;
  return stream ? stream.getTracks().map((t) => [t.kind, t.enabled, t.readyState]) : null;
}
"""

# The label of the microphone track the call's connection sends, and of the audio tracks in the local stream.
SENT_AUDIO = """
() => {
  const sender = window.havenCall.pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  return sender ? sender.track.label : null;
}
"""
LOCAL_AUDIO = """
() => document.querySelector("#call-local-video").srcObject.getAudioTracks().map((t) => t.label)
"""

# The highest level the meter shows from now on (it moves with the fake microphone's beeps) in window.meterMax.
WATCH_METER = """
() => {
  const meter = document.querySelector("#prejoin-meter");
  window.meterMax = 0;
  new MutationObserver(() => {
    window.meterMax = Math.max(window.meterMax, Number(meter.getAttribute("aria-valuenow")));
  }).observe(meter, { attributes: true, attributeFilter: ["aria-valuenow"] });
}
"""

# Whether each control's box lies wholly inside the window, without scrolling.
CONTROLS_IN_VIEW = """
() => ["#call-toggle-audio", "#call-toggle-video", "#hangup"].map((selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
})
"""

# getUserMedia refused, as when the person blocked camera and microphone for the site; or, once window.holdMedia is
# set, never answered, as while the browser's permission prompt stays open.
REFUSE_MEDIA = """
navigator.mediaDevices.getUserMedia = () => window.holdMedia
  ? new Promise(() => {})
  : Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""


async def until(page: Page, condition: str, failure: str) -> None:
    """Waits for a condition in the page (evaluated as a function body; the page's CSP forbids string eval)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not await page.evaluate(f"() => Boolean({condition})"):
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.1)


async def controls_in_view(page: Page) -> None:
    assert await page.evaluate(CONTROLS_IN_VIEW) == [True, True, True]
    assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth"), "scrolls sideways"


async def test_device_check_before_a_call(browser: Browser, module_site: Node) -> None:
    site = module_site
    mentor_and_mentee(site)
    # The mentee on a phone, in the dark colour scheme (the contrast holds in both).
    phone = await browser.new_context(viewport={"width": 360, "height": 740}, color_scheme="dark")
    alex = await phone.new_page()
    alex.set_default_timeout(WAIT_MS)
    morgan = await new_page(browser, 1280, 800)
    await sign_in(alex, site, "alex@example.org", "alex-password")
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")
    await expect(morgan.get_by_role("button", name="Call Alex")).to_be_enabled()

    # The device check: both fake devices listed, the preview playing, the meter moving with the fake microphone.
    await morgan.get_by_role("button", name="Call Alex").click()
    await expect(morgan.locator("#prejoin-title")).to_be_focused()
    await expect(morgan.locator("#prejoin-camera option")).not_to_have_count(0)
    await expect(morgan.locator("#prejoin-microphone option")).not_to_have_count(0)
    cameras = await morgan.locator("#prejoin-camera option").all_inner_texts()
    microphones = await morgan.locator("#prejoin-microphone option").all_inner_texts()
    print(f"cameras {cameras}, microphones {microphones}")
    assert any("fake" in label.lower() for label in cameras + microphones), (cameras, microphones)
    await expect(morgan.locator("#prejoin-camera-on")).to_be_checked()
    await expect(morgan.locator("#prejoin-mic-on")).to_be_checked()
    await expect(morgan.locator("#prejoin-problem")).to_be_hidden()
    await morgan.evaluate(WATCH_METER)
    await until(morgan, "window.meterMax > 0", "the level meter stayed at zero")
    assert await morgan.evaluate("document.querySelector('#prejoin-preview').videoWidth > 0")
    await morgan.locator("#prejoin-speaker-test").click()
    await expect(morgan.locator("#prejoin-speaker-note")).to_contain_text("three notes")
    await check_screen(morgan, "prejoin")

    # Camera off: the call is placed with the camera's track there but disabled, and says so.
    await morgan.locator("#prejoin-camera-on").uncheck()
    await expect(morgan.locator("#prejoin-summary")).to_have_text(
        "You will join with your camera off and your microphone on."
    )
    await morgan.locator("#prejoin-join").click()
    await expect(morgan.locator("#call-status")).to_have_text("Calling Alex…")
    tracks = await morgan.evaluate(LOCAL_TRACKS)
    assert sorted(tracks) == [["audio", True, "live"], ["video", False, "live"]], tracks
    await expect(morgan.locator("#call-toggle-video")).to_have_attribute("aria-pressed", "false")

    # The incoming prompt on a phone: Accept has focus; the device check, then the call, controls in view.
    await expect(alex.locator("#incoming-call")).to_contain_text("Morgan is calling you")
    await expect(alex.locator("#accept-call")).to_be_focused()
    await check_screen(alex, "incoming-call")
    await alex.locator("#accept-call").click()
    await expect(alex.locator("#prejoin-cancel")).to_have_text("Decline")
    assert await alex.evaluate("document.querySelectorAll('main:not([hidden])').length") == 1
    await check_screen(alex, "prejoin-answer-phone-dark")
    await alex.locator("#prejoin-join").click()
    for page in (alex, morgan):
        await expect(page.locator("#call-status")).to_contain_text("You are in a call with", timeout=2 * WAIT_MS)
        await controls_in_view(page)
        assert await page.evaluate("document.querySelectorAll('main:not([hidden])').length") == 1
    await check_screen(alex, "in-call-phone-dark")
    await check_screen(morgan, "in-call")

    # Muted is unmistakable: pressed state, the word, and the mark on one's own picture.
    await alex.get_by_role("button", name="Microphone").click()
    await expect(alex.locator("#call-toggle-audio")).to_have_attribute("aria-pressed", "false")
    await expect(alex.locator("#call-toggle-audio")).to_contain_text("Off")
    await expect(alex.locator(".call-local-muted")).to_have_text("Microphone off")

    # Another camera mid-call, from the device menu, replaces the track on the connection's sender.
    await morgan.get_by_role("button", name="Devices").click()
    await expect(morgan.locator("#call-device-camera")).to_be_focused()
    before = await morgan.evaluate(SENT_AUDIO)
    await morgan.locator("#call-device-microphone").focus()
    await morgan.locator("#call-device-microphone").select_option(label="Fake Audio Input 1")
    await until(morgan, f"({SENT_AUDIO})() !== {before!r}", "the microphone on the connection did not change")
    await expect(morgan.locator("#call-device-microphone")).to_be_focused()  # not dropped while it switched
    assert await morgan.evaluate(SENT_AUDIO) == "Fake Audio Input 1"
    assert await morgan.evaluate(LOCAL_AUDIO) == ["Fake Audio Input 1"]
    await morgan.get_by_role("button", name="Hang up").click()
    await expect(morgan.locator("#call-ended-text")).to_have_text("You ended the call.")

    # The next device check starts from the choice made last time.
    await morgan.get_by_role("button", name="Close").click()
    await morgan.get_by_role("button", name="Call Alex").click()
    await expect(morgan.locator("#prejoin-camera-on")).not_to_be_checked()
    await expect(morgan.locator("#prejoin-preview")).to_be_attached()
    await morgan.locator("#prejoin-cancel").click()
    await expect(morgan.locator("#prejoin")).to_have_count(0)
    await expect(morgan.get_by_role("button", name="Call Alex")).to_be_focused()  # back where it was opened
    await morgan.context.close()

    # Refused: calm words, the switches off, and the call can still be placed (to see and hear).
    refused = await new_page(browser, 1280, 800)
    await refused.add_init_script(REFUSE_MEDIA)
    await sign_in(refused, site, "morgan@example.org", "morgan-password")
    await refused.get_by_role("button", name="Call Alex").click()
    await expect(refused.locator("#prejoin-problem")).to_have_text(
        "Haven is not allowed to use your camera and microphone. You can allow them in the browser's site settings, "
        "or join without them."
    )
    await expect(refused.locator("#prejoin-retry")).to_be_visible()
    await expect(refused.locator("#prejoin-camera-on")).to_be_disabled()
    await expect(refused.locator("#prejoin-summary")).to_have_text("You will join with no camera and no microphone.")
    await check_screen(refused, "prejoin-refused")
    await refused.locator("#prejoin-join").click()
    await expect(refused.locator("#call-status")).to_have_text("Calling Alex…")
    await expect(refused.locator("#call-media-note")).to_contain_text("without a camera or microphone")
    await expect(alex.locator("#incoming-call")).to_be_visible()
    await refused.get_by_role("button", name="Stop calling").click()
    await expect(alex.locator("#incoming-call")).to_be_hidden()

    # The permission prompt left open: Join says what it waits for, then places the call without devices.
    await refused.get_by_role("button", name="Close").click()
    await refused.evaluate("window.holdMedia = true")
    await refused.get_by_role("button", name="Call Alex").click()
    await refused.locator("#prejoin-join").click()
    await expect(refused.locator("#prejoin-wait")).to_have_text(
        "Waiting for your browser's permission to use the camera and microphone…"
    )
    await expect(refused.locator("#call-status")).to_have_text("Calling Alex…")
    await expect(refused.locator("#call-media-note")).to_contain_text("without a camera or microphone")
    await refused.get_by_role("button", name="Stop calling").click()
    await expect(alex.locator("#incoming-call")).to_be_hidden()
    await refused.context.close()
    await alex.context.close()
