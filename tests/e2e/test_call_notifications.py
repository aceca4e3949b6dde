"""An incoming call reaches a person whose Haven tab is in the background: it rings, raises a system notification
("Morgan is calling") and puts focus on Accept; unanswered, it counts as a missed call in the tab's title until the
person opens the Mentor calls page. Calls ring for a few seconds only on this module's server."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import serve
from tests.e2e.people import WAIT_MS, mentor_and_mentee, new_page, sign_in
from tests.support.processes import Node

RING_SECONDS = 5

# The tab reads as hidden (document.visibilityState, document.hidden) until the test sets window.tabHidden = false,
# and every Notification constructed is recorded in window.notifications ({title, body, closed}).
BACKGROUND_TAB = """
(() => {
  window.tabHidden = true;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: () => (window.tabHidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => window.tabHidden });
  const Real = window.Notification;
  window.notifications = [];
  function Recorded(title, options) {
    const entry = { title, body: options && options.body, closed: false };
    window.notifications.push(entry);
    const real = new Real(title, options);
    const close = real.close.bind(real);
    real.close = () => { entry.closed = true; close(); };
    return real;
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recorded;
})();
"""


@pytest.fixture(scope="module")
def module_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """This module's server: the built client, its first admin, and calls that ring out after RING_SECONDS."""
    yield from serve(tmp_path_factory.mktemp("site"), HAVEN_CALL_RING_SECONDS=str(RING_SECONDS))


async def until(page: Page, condition: str, failure: str, timeout_s: float = WAIT_MS / 1000) -> None:
    """Waits for a condition in the page (evaluated as a function body; the page's CSP forbids string eval)."""
    deadline = time.monotonic() + timeout_s
    while not await page.evaluate(f"() => Boolean({condition})"):
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.1)


async def test_a_call_to_a_background_tab_notifies_and_counts_when_missed(browser: Browser, module_site: Node) -> None:
    site = module_site
    mentor_and_mentee(site)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.grant_permissions(["notifications"], origin=site.base)
    await context.add_init_script(BACKGROUND_TAB)
    alex = await context.new_page()
    alex.set_default_timeout(WAIT_MS)
    morgan = await new_page(browser, 1280, 800)
    await sign_in(alex, site, "alex@example.org", "alex-password")
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")

    # Call alerts are offered (from a button) only while the browser has not been asked; Alex already allowed them.
    permission = await morgan.evaluate("Notification.permission")
    if permission == "default":
        await expect(morgan.locator("#call-alerts-on")).to_be_visible()
    else:
        await expect(morgan.locator("#call-alerts-on")).to_be_hidden()
    await alex.get_by_role("link", name="Mentor calls").click()
    await expect(alex.locator("#call-alerts-on")).to_be_hidden()
    await expect(alex.locator("#call-alerts-note")).to_contain_text("Call alerts are on")
    await alex.get_by_role("link", name="Home").click()

    # The call rings in the background tab: a notification, the ring, and focus on Accept.
    await expect(morgan.get_by_role("button", name="Call Alex")).to_be_enabled()
    await morgan.get_by_role("button", name="Call Alex").click()
    await morgan.locator("#prejoin-join").click()
    await expect(alex.locator("#incoming-call")).to_be_visible()
    await expect(alex.get_by_role("alertdialog")).to_contain_text("Morgan is calling you")
    await until(alex, "window.notifications.length > 0", "no notification was raised")
    notes = await alex.evaluate("window.notifications")
    assert [n["title"] for n in notes] == ["Morgan is calling"], notes
    assert await alex.evaluate("document.activeElement && document.activeElement.id") == "accept-call"
    await expect(alex.locator("#incoming-call")).to_have_attribute("data-ringing", "true")

    # Nobody answers: the call rings out, the notification goes away, and the title counts the missed call.
    await expect(alex.locator("#call-ended-text")).to_have_text(
        "You missed a call from Morgan.", timeout=(RING_SECONDS + 10) * 1000
    )
    await expect(alex.locator("#incoming-call")).to_be_hidden()
    assert await alex.evaluate("window.notifications.every((n) => n.closed)")
    await expect(alex).to_have_title(re.compile(r"^\(1\) "))
    await expect(morgan.locator("#call-ended-text")).to_have_text(
        "Alex didn't answer this time. You could try again later."
    )

    # Back in the tab, the Mentor calls page says what was missed, and the count clears.
    await alex.evaluate("window.tabHidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    await alex.get_by_role("button", name="Close").click()
    await alex.get_by_role("link", name=re.compile("^Mentor calls")).click()
    await expect(alex.locator("#missed-calls")).to_have_text("You missed 1 call since you last looked.")
    await expect(alex).to_have_title("Mentor calls · Haven")
    await expect(alex.locator("#recent-calls .recent-call.is-new")).to_contain_text("Morgan called you")

    await context.close()
    await morgan.context.close()
