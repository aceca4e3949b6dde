"""Home for each kind of person in real Chromium: a participant sees the session that is live now and the next one
at the top, with the program's help line; every link of each role's navigation leads to a page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import serve
from tests.e2e.people import facilitator_and_participant, mentor_and_mentee, new_page, sign_in, token_of
from tests.e2e.screens import check_screen
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http
from tests.support.realtime import Peer

HELP_TEXT = "Crisis line, any time: 0800 123 456\nProgram office: 020 7946 0000"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One server for the module, with a help line configured."""
    yield from serve(tmp_path_factory.mktemp("home"), HAVEN_HELP_TEXT=HELP_TEXT)


@pytest.fixture(scope="module")
def people(site: Node) -> dict[str, str]:
    """Fran (facilitator) and Robin (participant) of a group; Morgan (mentor) paired with Alex (participant)."""
    return {**facilitator_and_participant(site, name="Thursday circle"), **mentor_and_mentee(site)}


async def visit_every_link(page: Page, site: Node) -> list[str]:
    """Follows each link of the main navigation; each leads to a page with its heading. Returns the links' texts."""
    links = page.locator("#nav a")
    hrefs: list[str] = await links.evaluate_all("els => els.map((a) => a.getAttribute('href'))")
    texts: list[str] = await page.locator("#nav a .nav-text").all_inner_texts()
    for href in hrefs:
        await page.locator(f'#nav a[href="{href}"]').click()
        await expect(page).to_have_url(site.base + "/" + href)
        await expect(page.locator(f'#nav a[href="{href}"]')).to_have_attribute("aria-current", "page")
        await expect(page.locator("#view h2").first).to_be_visible()
        await expect(page.locator("#signin")).to_have_count(0)
    return texts


async def test_participant_sees_live_and_next_session(browser: Browser, site: Node, people: dict[str, str]) -> None:
    group = people["group"]
    fran_token = token_of(site, "fran@example.org", "fran-password")
    starts = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    status, body = http(
        "POST",
        site.base + f"/api/groups/{group}/extra-sessions",
        {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()},
        fran_token,
    )
    assert status == 201, body

    # The facilitator opens the room now: a session is live.
    fran = Peer("fran")
    await fran.connect(site.base, fran_token)
    try:
        ack = await fran.call("room:join", {"room_id": group})
        assert ack["ok"], ack
        robin = await new_page(browser)
        await sign_in(robin, site, "robin@example.org", "robin-password")
        await expect(robin.locator("#groups-title")).to_have_text("Home")
        live = robin.locator(f'#upcoming li.upcoming-item.live[data-group-id="{group}"]')
        await expect(live).to_contain_text("Live now:")
        await expect(live).to_contain_text("Thursday circle")
        await expect(live.get_by_role("link", name="Enter room: Thursday circle")).to_be_visible()
        await expect(robin.locator("#upcoming li.upcoming-item:not(.live)").first).to_contain_text("Next session:")
        await expect(robin.locator("#home-unread")).to_have_text("No unread messages.")
        await expect(robin.get_by_role("region", name="Need help now?")).to_contain_text("0800 123 456")
        await check_screen(robin, "home participant")
    finally:
        await fran.close()

    assert await visit_every_link(robin, site) == ["Home", "Messages"]  # not paired: no calls link
    await robin.context.close()


@pytest.mark.parametrize(
    ("email", "password", "home", "links"),
    [
        ("alex@example.org", "alex-password", "#/groups", ["Home", "Messages", "Mentor calls"]),
        ("morgan@example.org", "morgan-password", "#/contacts", ["Mentees", "Messages"]),
        ("fran@example.org", "fran-password", "#/groups", ["My groups", "Messages"]),
        (ADMIN_EMAIL, ADMIN_PASSWORD, "#/admin", ["Program console"]),
    ],
    ids=["mentee", "mentor", "facilitator", "admin"],
)
async def test_no_link_leads_nowhere(
    browser: Browser, site: Node, people: dict[str, str], email: str, password: str, home: str, links: list[str]
) -> None:
    page = await new_page(browser)
    await sign_in(page, site, email, password)
    await expect(page).to_have_url(site.base + "/" + home)
    await expect(page.locator("#nav a")).to_have_count(len(links))  # a mentee's calls link comes with the contacts
    await expect(page.locator("#view h2").first).to_be_visible()
    if home == "#/contacts":  # a mentor's page is named as their link names it
        await expect(page.locator("#contacts-title")).to_have_text("Mentees")
        await expect(page).to_have_title("Mentees · Haven")
    await check_screen(page, f"home {email.split('@')[0]}")
    # A reload of the bare address lands on the same home, once the person is known again (not on #/groups).
    await page.goto(site.base + "/")
    await expect(page).to_have_url(site.base + "/" + home)
    await expect(page.locator("#view h2").first).to_be_visible()
    assert await visit_every_link(page, site) == links
    await page.context.close()
