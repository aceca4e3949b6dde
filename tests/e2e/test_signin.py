"""A participant signs in with a real browser, sees their groups, and signs out."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.support.processes import Node, http


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

    await page.fill("#email", "robin@example.org")
    await page.fill("#password", "not-the-password")
    await page.click("#signin")
    await expect(page.locator("#signin-error")).to_have_text("Email or password is incorrect.")

    await page.fill("#password", "robin-password")
    await page.click("#signin")
    await expect(page.locator("#me-name")).to_have_text("Robin")
    groups = page.locator("#groups li.group")
    await expect(groups).to_have_count(1)
    await expect(groups.first).to_contain_text("Wednesday circle")
    await expect(groups.first).to_contain_text("Participant")

    # The token lives for the tab only: a reload keeps the session, sign-out ends it.
    await page.reload()
    await expect(page.locator("#me-name")).to_have_text("Robin")
    await page.click("#signout")
    await expect(page.locator("#signin")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('haven.token')") is None


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
