"""A participant signs in with a real browser, sees their groups, and signs out; the sign-in page shows the
password on request, says whom to ask for a forgotten one, and shows the program's help line (``HAVEN_HELP_TEXT``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import serve
from tests.e2e.screens import check_screen
from tests.support.processes import Node, http

HELP_TEXT = "Crisis line, any time: 0800 123 456\nProgram office, weekdays 9 to 5: 020 7946 0000"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One server for the module, with a help line configured."""
    yield from serve(tmp_path_factory.mktemp("signin"), HAVEN_HELP_TEXT=HELP_TEXT)


def prepare(site: Node) -> None:
    _, admin = http("POST", site.base + "/api/auth/login", {"email": "admin@example.org", "password": "admin-password"})
    token = admin["token"]
    _, user = http(
        "POST",
        site.base + "/api/users",
        {"email": "robin@example.org", "display_name": "Robin", "role": "participant", "password": "robin-password"},
        token,
    )
    _, group = http("POST", site.base + "/api/groups", {"name": "Wednesday circle", "capacity": 10}, token)
    status, _ = http(
        "POST", site.base + f"/api/groups/{group['id']}/members", {"user_id": user["id"], "role": "participant"}, token
    )
    assert status == 201


async def test_sign_in_see_my_groups_and_sign_out(browser: Browser, site: Node) -> None:
    prepare(site)
    page = await browser.new_page()
    await page.goto(site.base + "/")
    await expect(page.locator("h1")).to_have_text("Haven")

    # The help line, with its line breaks, before anyone signs in.
    help_box = page.get_by_role("region", name="Need help now?")
    await expect(help_box).to_be_visible()
    await expect(help_box.locator(".help-text")).to_have_text(HELP_TEXT)
    assert await help_box.locator(".help-text").evaluate("el => el.innerText") == HELP_TEXT

    # Forgot the password: an administrator of the program sets a new one.
    forgot = page.locator("#forgot-password")
    await expect(forgot.get_by_text("An administrator of your program")).to_be_hidden()
    await forgot.get_by_text("Forgot your password?").click()
    await expect(forgot.get_by_text("An administrator of your program")).to_be_visible()
    await check_screen(page, "sign-in")

    await page.fill("#email", "robin@example.org")
    await page.fill("#password", "not-the-password")
    # The password shown while typing it, and hidden again.
    reveal = page.get_by_role("button", name="Show password")
    await expect(reveal).to_have_attribute("aria-pressed", "false")
    await reveal.click()
    await expect(reveal).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#password")).to_have_attribute("type", "text")
    await reveal.click()
    await expect(page.locator("#password")).to_have_attribute("type", "password")
    await reveal.click()
    await page.click("#signin")
    await expect(page.locator("#signin-error")).to_have_text("Email or password is incorrect.")
    await expect(page.locator("#password")).to_have_attribute("type", "password")  # never sent as plain text

    await page.fill("#password", "robin-password")
    await page.click("#signin")
    await expect(page.locator("#me-name")).to_have_text("Robin")
    groups = page.locator("#groups li.group")
    await expect(groups).to_have_count(1)
    await expect(groups.first).to_contain_text("Wednesday circle")
    await expect(groups.first).to_contain_text("Participant")
    await expect(page.locator(".help-text")).to_have_text(HELP_TEXT)  # on the home page too

    # The token lives for the tab only: a reload keeps the session, sign-out ends it.
    await page.reload()
    await expect(page.locator("#me-name")).to_have_text("Robin")
    await page.click("#signout")
    await expect(page.locator("#signin")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('haven.token')") is None
    await page.close()


async def test_a_new_participant_sees_a_calm_empty_list(browser: Browser, site: Node) -> None:
    _, admin = http("POST", site.base + "/api/auth/login", {"email": "admin@example.org", "password": "admin-password"})
    http(
        "POST",
        site.base + "/api/users",
        {"email": "new@example.org", "display_name": "Nova", "role": "participant", "password": "nova-password"},
        admin["token"],
    )
    page = await browser.new_page()
    await page.goto(site.base + "/#/groups")
    await expect(page.locator("#signin")).to_be_visible()  # not signed in yet
    await page.fill("#email", "new@example.org")
    await page.fill("#password", "nova-password")
    await page.click("#signin")
    await expect(page.locator("#groups-empty")).to_be_visible()
    # Administrators enrol people, not facilitators.
    await expect(page.locator("#groups-empty")).to_contain_text("When an administrator of your program enrols you")
    await page.close()
