"""Group-room chat with real Chromium: a two-line message both ways, a reply, a facilitator's deletion seen by
both, a blank message refused, catching up after a dropped connection, and the history after a reload."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from playwright.async_api import Browser, Locator, Page, expect

from tests.e2e.people import WAIT_MS, facilitator_and_participant, pass_prejoin
from tests.e2e.people import sign_in_and_enter as enter
from tests.support.processes import Node

FIRST_LINE = "Hello everyone, I made it tonight."
SECOND_LINE = "It has been a long week."
REPLY = "Welcome, Robin. Glad you are here."
WHILE_AWAY = "We will start in a minute."
RETRIED = "Sorry, my connection dropped."
DELETED = re.compile(r"\bdeleted\b")


def prepare(site: Node) -> dict[str, str]:
    # No lobby: the participant enters at once while the facilitator is there.
    return facilitator_and_participant(site, name="Chat circle", lobby_enabled=False)


async def sign_in_and_enter(page: Page, site: Node, email: str, password: str, group_id: str) -> None:
    await enter(page, site, email, password, group_id)
    await show_chat(page)


async def show_chat(page: Page) -> None:
    """The chat tab of the room's side panel (a facilitator's panel opens on the people)."""
    await page.click("#tab-chat")
    await expect(page.locator("#chat")).to_be_visible(timeout=WAIT_MS)


async def wait_for_frame(frames: list[str], matches: Callable[[str], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(matches(f) for f in frames):
        assert time.monotonic() < deadline, "the expected Socket.IO frame was not sent"
        await asyncio.sleep(0.1)


def message(page: Page, seq: int) -> Locator:
    return page.locator(f'#chat-messages li.chat-message[data-seq="{seq}"]')


async def test_room_chat(browser: Browser, site: Node) -> None:
    ids = prepare(site)
    group = ids["group"]
    fran_context, robin_context = await browser.new_context(), await browser.new_context()
    fran, robin = await fran_context.new_page(), await robin_context.new_page()
    for page in (fran, robin):
        page.set_default_timeout(WAIT_MS)
    robin_frames: list[str] = []  # what the participant's page sends over Socket.IO
    robin.on("websocket", lambda ws: ws.on("framesent", lambda data: robin_frames.append(str(data))))
    page_errors: list[str] = []
    for page in (fran, robin):
        page.on("pageerror", lambda error: page_errors.append(str(error)))

    await sign_in_and_enter(fran, site, "fran@example.org", "fran-password", group)
    await expect(fran.locator("#chat-empty")).to_be_visible()
    await sign_in_and_enter(robin, site, "robin@example.org", "robin-password", group)
    for page in (fran, robin):
        await expect(page.locator("#roster li.participant")).to_have_count(2, timeout=WAIT_MS)

    chat_input = robin.locator("#chat-input")
    assert await chat_input.get_attribute("maxlength") == "4000"
    await expect(robin.locator('label[for="chat-input"]')).to_be_visible()
    # The list is not a live region (history, catch-up and one's own messages are not news); new messages from
    # others are said in a status line of their own.
    assert await robin.locator("#chat-messages").get_attribute("aria-live") is None
    await expect(robin.locator("#chat-said")).to_have_attribute("role", "status")

    # The participant types two lines (Shift+Enter is a new line); the facilitator sees them typing.
    await chat_input.click()
    await chat_input.press_sequentially(FIRST_LINE)
    await expect(fran.locator("#chat-typing")).to_have_text("Robin is typing…", timeout=WAIT_MS)
    await chat_input.press("Shift+Enter")
    await chat_input.press_sequentially(SECOND_LINE)
    await chat_input.press("Enter")  # Enter sends

    # Their own copy comes from the ack, with its seq; the facilitator's from chat:message. Both keep the newline.
    mine = message(robin, 1)
    await expect(mine).to_have_count(1, timeout=WAIT_MS)
    await expect(mine).not_to_have_class(re.compile(r"\bpending\b"))
    await expect(chat_input).to_have_value("")
    theirs = message(fran, 1)
    await expect(theirs).to_contain_text("Robin", timeout=WAIT_MS)
    for body in (mine.locator(".chat-body"), theirs.locator(".chat-body")):
        assert await body.inner_text() == f"{FIRST_LINE}\n{SECOND_LINE}"
        assert await body.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"
    await expect(fran.locator("#chat-typing")).to_have_text("", timeout=WAIT_MS)

    # The facilitator replies; the participant sees it.
    await fran.fill("#chat-input", REPLY)
    await fran.click("#chat-send")
    await expect(message(fran, 2)).to_contain_text(REPLY, timeout=WAIT_MS)
    await expect(message(robin, 2)).to_contain_text(REPLY, timeout=WAIT_MS)
    await expect(message(robin, 2)).to_contain_text("Fran")
    await expect(robin.locator("#chat-said")).to_have_text(f"Fran: {REPLY}")
    # The facilitator's line still holds Robin's message: one's own reply is not read out again.
    await expect(fran.locator("#chat-said")).to_contain_text(f"Robin: {FIRST_LINE}")
    await expect(robin.locator("#chat-messages li.chat-message")).to_have_count(2)

    # A participant may delete only their own messages; a facilitator any.
    await expect(message(robin, 1).locator("button.delete-message")).to_have_count(1)
    await expect(message(robin, 2).locator("button.delete-message")).to_have_count(0)
    await expect(message(fran, 2).locator("button.delete-message")).to_have_count(1)

    # The facilitator deletes the participant's message: both pages show the tombstone.
    await message(fran, 1).locator("button.delete-message").click()
    await message(fran, 1).get_by_role("button", name="Delete", exact=True).click()  # asked in the page first
    for page in (fran, robin):
        await expect(message(page, 1)).to_have_class(DELETED, timeout=WAIT_MS)
        await expect(message(page, 1).locator(".chat-body")).to_have_text("Message deleted", timeout=WAIT_MS)
        await expect(message(page, 1)).not_to_contain_text(FIRST_LINE)
        await expect(message(page, 1).locator("button.delete-message")).to_have_count(0)

    # Whitespace only is prevented in the browser (the server would answer invalid_request): nothing is sent.
    await chat_input.fill("   \n   ")
    await robin.click("#chat-send")
    await expect(robin.locator("#room-error")).to_contain_text("Your message is empty", timeout=WAIT_MS)
    await expect(robin.locator("#chat-messages li.chat-message")).to_have_count(2)
    await expect(fran.locator("#chat-messages li.chat-message")).to_have_count(2)
    await chat_input.fill("")

    # The participant's connection drops; a message sent meanwhile arrives by catching up after the rejoin.
    await robin_context.set_offline(True)
    await expect(robin.locator("#room-status")).to_contain_text("Reconnecting", timeout=WAIT_MS)
    # Sending now fails: the error is shown and the text stays in the box for a retry.
    await chat_input.fill(RETRIED)
    await chat_input.press("Enter")
    await expect(robin.locator("#room-error")).to_contain_text("reconnecting", timeout=WAIT_MS)
    await expect(chat_input).to_have_value(RETRIED)
    await expect(robin.locator("#chat-messages li.chat-message")).to_have_count(2)
    await fran.fill("#chat-input", WHILE_AWAY)
    await fran.click("#chat-send")
    await expect(message(fran, 3)).to_contain_text(WHILE_AWAY, timeout=WAIT_MS)
    await robin_context.set_offline(False)
    await expect(message(robin, 3)).to_contain_text(WHILE_AWAY, timeout=15_000)
    await expect(robin.locator("#chat-messages li.chat-message")).to_have_count(3)
    assert any('"chat:history"' in f and '"after_seq":2' in f for f in robin_frames), "no catch-up after seq 2"
    # The retry goes through once.
    await robin.click("#chat-send")
    await expect(message(robin, 4)).to_contain_text(RETRIED, timeout=WAIT_MS)
    await expect(message(fran, 4)).to_contain_text(RETRIED, timeout=WAIT_MS)
    await expect(chat_input).to_have_value("")
    await expect(robin.locator("#room-error")).to_be_hidden()
    assert sum('"chat:send"' in f and RETRIED in f for f in robin_frames) == 1
    # The visible page marks what it has read (throttled to once a second).
    await wait_for_frame(robin_frames, lambda f: '"chat:read"' in f and '"seq":4' in f)

    # After a reload the participant re-enters the room and sees the history, the deleted message as a tombstone.
    await robin.reload()
    await expect(robin).to_have_url(f"{site.base}/#/room/{group}", timeout=WAIT_MS)
    await pass_prejoin(robin)
    await show_chat(robin)
    await expect(robin.locator("#chat-messages li.chat-message")).to_have_count(4, timeout=WAIT_MS)
    await expect(message(robin, 1)).to_have_class(DELETED)
    await expect(message(robin, 1).locator(".chat-body")).to_have_text("Message deleted")
    await expect(message(robin, 2)).to_contain_text(REPLY)
    await expect(message(robin, 3)).to_contain_text(WHILE_AWAY)
    order = await robin.locator("#chat-messages li.chat-message").evaluate_all("els => els.map(e => e.dataset.seq)")
    assert order == ["1", "2", "3", "4"]
    await expect(message(robin, 4).locator("button.delete-message")).to_have_count(1)
    assert page_errors == []

    await fran_context.close()
    await robin_context.close()
