"""Direct messages in real Chromium: a mentor and a mentee, the mentee on two devices. The mentor writes; the unread
count rises on both of the mentee's devices (the nav's badge and the tab's title); the mentee reads it on one and it
clears on the other; typing shows both ways; the reply reaches the mentor; the mentor deletes a message of their own
through the in-page confirmation ("Keep it" leaves it; "Delete" leaves a tombstone on both sides, no browser dialog);
older history loads on scrolling up; once the pairing ends the conversation leaves the list. A participant on a phone finds their group's facilitator in
Messages, writes first, and the message box is in view without scrolling the page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Locator, Page, expect

from tests.e2e.people import facilitator_and_participant, mentor_and_mentee, new_page, sign_in, token_of
from tests.e2e.screens import check_screen
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http
from tests.support.realtime import Peer

SEEDED = 55  # more than the first page (50), so the oldest come on scrolling up
HELLO = "Hello Alex, how did the week go?"
REPLY = "Better than last week, thank you."
LAST = "See you next week."


@pytest.fixture(scope="module")
def site(module_site: Node) -> Node:
    return module_site


async def send(peer: Peer, conversation: str, body: str, client_id: str) -> int:
    """One message, sent again (same client id) while the server's per-person rate limit refuses it."""
    for _ in range(50):
        ack: dict[str, Any] = await peer.call(
            "chat:send", {"conversation": conversation, "body": body, "client_id": client_id}
        )
        if ack.get("ok"):
            return int(ack["message"]["seq"])
        assert ack["error"]["code"] == "rate_limited", ack
        await asyncio.sleep(0.25)
    raise AssertionError("the message was never taken")


async def seed_history(site: Node, ids: dict[str, str]) -> None:
    """SEEDED messages between the two, by their own Socket.IO connections, all read by the mentee afterwards."""
    morgan, alex = Peer("morgan"), Peer("alex")
    await morgan.connect(site.base, token_of(site, "morgan@example.org", "morgan-password"))
    await alex.connect(site.base, token_of(site, "alex@example.org", "alex-password"))
    try:

        async def write(peer: Peer, other: str, name: str, count: int) -> list[int]:
            return [await send(peer, f"dm:{other}", f"{name} seed {n}", f"{name}-seed-{n}") for n in range(count)]

        half = SEEDED // 2
        seqs = await asyncio.gather(
            write(morgan, ids["mentee"], "morgan", SEEDED - half), write(alex, ids["mentor"], "alex", half)
        )
        last = max(max(s) for s in seqs)
        assert last == SEEDED
        ack = await alex.call("chat:read", {"conversation": f"dm:{ids['mentor']}", "seq": last})
        assert ack["ok"], ack
    finally:
        await morgan.close()
        await alex.close()


def messages_link(page: Page) -> Locator:
    return page.locator('#nav a[href="#/messages"]')


async def test_messages_between_mentor_and_mentee(browser: Browser, site: Node) -> None:
    ids = mentor_and_mentee(site)
    await seed_history(site, ids)
    morgan, alex, tablet = await new_page(browser), await new_page(browser), await new_page(browser)
    errors: list[str] = []
    dialogs: list[str] = []

    async def no_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    for page in (morgan, alex, tablet):
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", no_dialog)

    # The mentee, on two devices, has read everything so far.
    for page in (alex, tablet):
        await sign_in(page, site, "alex@example.org", "alex-password")
        await expect(page.locator("#home-unread")).to_have_text("No unread messages.")
        await expect(messages_link(page)).to_have_text("Messages")

    # The mentor opens the conversation: the latest 50, the older ones on scrolling up, the place kept.
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")
    await morgan.get_by_role("link", name="Messages").click()
    alex_item = morgan.locator(f'#conversations li.conversation[data-user-id="{ids["mentee"]}"]')
    await expect(alex_item).to_contain_text("Alex")
    await expect(alex_item).to_contain_text("Your mentee")
    await check_screen(morgan, "messages list")
    await alex_item.get_by_role("link").click()
    await expect(morgan).to_have_url(f"{site.base}/#/messages/{ids['mentee']}")
    thread = morgan.locator("#thread-messages li.dm-message")
    await expect(thread).to_have_count(50)
    await expect(morgan.locator(f'#thread-messages li[data-seq="{SEEDED}"]')).to_be_in_viewport()
    reading = morgan.locator('#thread-messages li[data-seq="6"]')
    await morgan.locator("#thread-scroll").evaluate("el => { el.scrollTop = 0; }")
    await expect(thread).to_have_count(SEEDED)
    await expect(morgan.locator("#thread-earlier")).to_be_hidden()
    # The message that was at the top is still in view: the older ones went above it.
    await expect(reading).to_be_in_viewport()
    await expect(morgan.locator('#thread-messages li[data-seq="1"]')).not_to_be_in_viewport()

    # Writing: typing is shown to the mentee's open conversation; the message raises the count on both devices.
    await morgan.fill("#thread-input", HELLO)
    await morgan.press("#thread-input", "Enter")
    await expect(morgan.locator("#thread-messages li.dm-message.mine").last).to_contain_text(HELLO)
    await expect(morgan.locator("#thread-input")).to_have_value("")
    for page in (alex, tablet):
        await expect(messages_link(page)).to_have_attribute("aria-label", "Messages, 1 unread")
        await expect(messages_link(page).locator(".nav-badge")).to_have_text("1")
        await expect(page).to_have_title(re.compile(r"^\(1\) "))
        await expect(page.locator("#home-unread")).to_have_text("You have 1 unread message.")

    # Read on one device: the count clears on the other as well.
    await messages_link(alex).click()
    morgan_item = alex.locator(f'#conversations li.conversation[data-user-id="{ids["mentor"]}"]')
    await expect(morgan_item.get_by_role("link")).to_have_attribute(
        "aria-label", "Morgan, your mentor, 1 unread message"
    )
    await morgan_item.get_by_role("link").click()
    await expect(alex.locator("#thread-messages li.dm-message").last).to_contain_text(HELLO)
    for page in (alex, tablet):
        await expect(messages_link(page).locator(".nav-badge")).to_have_count(0)
        await expect(messages_link(page)).not_to_have_attribute("aria-label", re.compile("unread"))
        await expect(page).not_to_have_title(re.compile(r"^\(\d+\) "))
    await expect(tablet.locator("#home-unread")).to_have_text("No unread messages.")
    await check_screen(alex, "messages thread")

    # Typing, both ways; the reply reaches the mentor's open conversation (and is announced there).
    await morgan.fill("#thread-input", "One more thing")
    await expect(alex.locator("#thread-typing")).to_have_text("Morgan is typing…")
    await morgan.fill("#thread-input", "")
    await alex.fill("#thread-input", REPLY)
    await expect(morgan.locator("#thread-typing")).to_have_text("Alex is typing…")
    await alex.click("#thread-send")
    await expect(morgan.locator("#thread-messages li.dm-message.theirs").last).to_contain_text(REPLY)
    await expect(morgan.locator("#thread-announcer")).to_have_text(f"Alex: {REPLY}")
    await expect(morgan.locator("#thread-typing")).to_have_text("")
    # The mentor has it on screen: nothing waits for them.
    await expect(messages_link(morgan).locator(".nav-badge")).to_have_count(0)

    # The mentor deletes their own message, asked first in the page (never a browser dialog). "Keep it" leaves it.
    seq = await morgan.locator("#thread-messages li.dm-message.mine", has_text=HELLO).get_attribute("data-seq")
    mine = morgan.locator(f'#thread-messages li[data-seq="{seq}"]')
    theirs = alex.locator(f'#thread-messages li[data-seq="{seq}"]')
    step = mine.locator(".confirm-step")
    await mine.locator("button.dm-delete").click()
    await expect(step).to_be_visible()
    await expect(step).to_contain_text("Alex will see")
    await expect(step.get_by_role("button", name="Keep it")).to_be_focused()
    await step.get_by_role("button", name="Keep it").click()
    await expect(step).to_be_hidden()
    await expect(mine.locator("button.dm-delete")).to_be_focused()
    for message in (mine, theirs):
        await expect(message).to_contain_text(HELLO)
    # Delete, confirmed: a tombstone on both sides (the mentee's page learns of it by chat:deleted).
    await mine.locator("button.dm-delete").click()
    await step.get_by_role("button", name="Delete", exact=True).click()
    for message in (mine, theirs):
        await expect(message).to_have_class(re.compile(r"\bdeleted\b"))
        await expect(message.locator(".dm-tombstone")).to_have_text("Message deleted")
        await expect(message).not_to_contain_text(HELLO)
    await expect(mine.locator("button.dm-delete")).to_have_count(0)
    assert dialogs == [], dialogs

    # A last message waits, unread, on both of the mentee's devices; then the pairing ends.
    await messages_link(alex).click()
    await morgan.fill("#thread-input", LAST)
    await morgan.press("#thread-input", "Enter")
    for page in (alex, tablet):
        await expect(messages_link(page).locator(".nav-badge")).to_have_text("1")
    admin = token_of(site, ADMIN_EMAIL, ADMIN_PASSWORD)
    status, ended = http("DELETE", site.base + f"/api/pairings/{ids['pairing']}", None, admin)
    assert status == 200, ended
    # The conversation leaves the list (it can no longer be read) and nothing waits there any more.
    await messages_link(tablet).click()
    await expect(tablet.locator("#conversations-empty")).to_be_visible()
    await expect(tablet.locator(f'#conversations li[data-user-id="{ids["mentor"]}"]')).to_have_count(0)
    await expect(messages_link(tablet).locator(".nav-badge")).to_have_count(0)
    # Opened all the same (an old link), the conversation says why it is closed, in the server's words.
    await alex.goto(f"{site.base}/#/messages/{ids['mentor']}")
    await expect(alex.locator("#thread-closed")).to_contain_text("You can message your paired mentor or mentee")
    await expect(alex.locator("#thread-form")).to_be_hidden()
    await expect(alex.locator(f'#conversations li[data-user-id="{ids["mentor"]}"]')).to_have_count(0)
    await expect(messages_link(alex).locator(".nav-badge")).to_have_count(0)

    assert not errors, errors
    assert not dialogs, dialogs
    for page in (morgan, alex, tablet):
        await page.context.close()


async def test_participant_writes_first_to_their_facilitator_on_a_phone(browser: Browser, site: Node) -> None:
    ids = facilitator_and_participant(site, name="Tuesday group")
    robin = await new_page(browser, 360, 740)
    errors: list[str] = []
    robin.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(robin, site, "robin@example.org", "robin-password")
    await messages_link(robin).click()
    fran_item = robin.locator(f'#conversations li.conversation[data-user-id="{ids["facilitator"]}"]')
    await expect(fran_item.get_by_role("link")).to_have_attribute("aria-label", "Fran, facilitator of your group")
    await fran_item.get_by_role("link").click()
    await expect(robin.locator("#thread-empty")).to_have_text("No messages yet. You can write to Fran below.")

    # On the phone the message box is in view without scrolling the page; the messages scroll inside the thread.
    await expect(robin.locator("#thread-input")).to_be_in_viewport(ratio=1)
    await expect(robin.locator("#thread-send")).to_be_in_viewport(ratio=1)
    assert await robin.evaluate("() => window.scrollY") == 0
    await check_screen(robin, "messages thread phone")

    await robin.fill("#thread-input", "Hello Fran, may I ask about Tuesday?")
    await robin.press("#thread-input", "Enter")
    await expect(robin.locator("#thread-messages li.dm-message.mine")).to_contain_text("may I ask about Tuesday")
    # The facilitator has it waiting, from a member of their group (once stored: the page shows it while sending).
    fran_token = token_of(site, "fran@example.org", "fran-password")
    entry: dict = {}
    for _ in range(50):
        status, body = http("GET", site.base + "/api/conversations", None, fran_token)
        assert status == 200, body
        entry = next(c for c in body["conversations"] if c["conversation"] == f"dm:{ids['participant']}")
        if entry["unread"]:
            break
        await asyncio.sleep(0.2)
    assert (entry["unread"], entry["relationship"]) == (1, "group_member"), entry

    assert not errors, errors
    await robin.context.close()
