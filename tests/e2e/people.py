"""The people of an end-to-end test: a facilitator and a participant of one group, and how they enter its room."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

WAIT_MS = 10_000


def facilitator_and_participant(site: Node, **group: Any) -> dict[str, str]:
    """Fran (facilitator) and Robin (participant), both enrolled in a new group; returns their ids and the group's.

    ``group`` adds settings to the group (capacity 6 by default). Passwords are ``fran-password``, ``robin-password``.
    """
    _, admin = http("POST", site.base + "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    token = admin["token"]
    ids: dict[str, str] = {}
    for key, email, name in (
        ("facilitator", "fran@example.org", "Fran"),
        ("participant", "robin@example.org", "Robin"),
    ):
        status, user = http(
            "POST",
            site.base + "/api/users",
            {"email": email, "display_name": name, "role": key, "password": f"{name.lower()}-password"},
            token,
        )
        assert status == 201, user
        ids[key] = user["id"]
    status, created = http("POST", site.base + "/api/groups", {"capacity": 6, **group}, token)
    assert status == 201, created
    ids["group"] = created["id"]
    for key in ("facilitator", "participant"):
        status, body = http(
            "POST", site.base + f"/api/groups/{created['id']}/members", {"user_id": ids[key], "role": key}, token
        )
        assert status == 201, body
    return ids


async def sign_in_and_enter(
    page: Page, site: Node, email: str, password: str, group_id: str, *, camera: bool = True, microphone: bool = True
) -> None:
    """Signs in, opens the group's room and joins it from the pre-join (camera and microphone as chosen there)."""
    await page.goto(site.base + "/")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#signin")
    await page.click(f'#groups li.group[data-group-id="{group_id}"] .enter-room')
    await expect(page).to_have_url(f"{site.base}/#/room/{group_id}", timeout=WAIT_MS)
    await pass_prejoin(page, camera=camera, microphone=microphone)


async def pass_prejoin(page: Page, *, camera: bool = True, microphone: bool = True) -> None:
    """Joins from the room's pre-join once the camera and microphone are open, turning either off when asked."""
    join = page.locator("#prejoin-join")
    await expect(join).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#prejoin-camera-on")).to_be_enabled(timeout=WAIT_MS)
    for selector, wanted in (("#prejoin-camera-on", camera), ("#prejoin-mic-on", microphone)):
        box = page.locator(selector)
        if await box.is_checked() != wanted:
            await box.set_checked(wanted)
    await join.click()
    await expect(page.locator("#prejoin")).to_be_hidden(timeout=WAIT_MS)


def mentor_and_mentee(site: Node) -> dict[str, str]:
    """Morgan (mentor) and Alex (participant) with an active pairing; returns their ids and the pairing's.

    Passwords are ``morgan-password`` and ``alex-password``.
    """
    status, admin = http("POST", site.base + "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert status == 200, admin
    token = admin["token"]
    ids: dict[str, str] = {}
    for key, role, email, name in (
        ("mentor", "mentor", "morgan@example.org", "Morgan"),
        ("mentee", "participant", "alex@example.org", "Alex"),
    ):
        status, user = http(
            "POST",
            site.base + "/api/users",
            {"email": email, "display_name": name, "role": role, "password": f"{name.lower()}-password"},
            token,
        )
        assert status == 201, user
        ids[key] = user["id"]
    status, pairing = http(
        "POST", site.base + "/api/pairings", {"mentor_id": ids["mentor"], "mentee_id": ids["mentee"]}, token
    )
    assert status == 201, pairing
    ids["pairing"] = pairing["id"]
    return ids


async def sign_in(page: Page, site: Node, email: str, password: str) -> None:
    await page.goto(site.base + "/")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#signin")
    await expect(page.locator("#me-name")).to_be_visible(timeout=WAIT_MS)


def token_of(site: Node, email: str, password: str) -> str:
    status, body = http("POST", site.base + "/api/auth/login", {"email": email, "password": password})
    assert status == 200, body
    return str(body["token"])


async def new_page(browser: Browser, width: int | None = None, height: int | None = None) -> Page:
    """A page in a context of its own (its own sign-in), at the given viewport when one is named."""
    viewport = None if width is None or height is None else {"width": width, "height": height}
    context = await browser.new_context(viewport=viewport) if viewport else await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


async def person_action(page: Page, user_id: str, action: str) -> None:
    """A facilitator's act on one member from their menu in the people list (``action``: the item's class,
    e.g. ``mute-audio``, ``send-to-lobby``)."""
    item = page.locator(f'#roster li[data-user-id="{user_id}"]')
    await item.locator("button.person-menu").click()
    await item.locator(f'[role="menuitem"].{action}').click()


async def end_session(page: Page) -> None:
    """A facilitator ends the session, confirming in the page."""
    await page.click("#end-room")
    await page.click("#end-confirm-yes")


def add_participant(site: Node, group_id: str, email: str, name: str) -> str:
    """Another participant of the group (password ``<name lowercased>-password``); returns their id."""
    _, admin = http("POST", site.base + "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    status, user = http(
        "POST",
        site.base + "/api/users",
        {"email": email, "display_name": name, "role": "participant", "password": f"{name.lower()}-password"},
        admin["token"],
    )
    assert status == 201, user
    status, body = http(
        "POST",
        site.base + f"/api/groups/{group_id}/members",
        {"user_id": user["id"], "role": "participant"},
        admin["token"],
    )
    assert status == 201, body
    return str(user["id"])
