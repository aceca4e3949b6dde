"""The program console in real Chromium: the first administrator signs in and lands on it; adds a facilitator, a
participant and a mentor (a taken email is refused with the server's own sentence); creates a group, appoints the
facilitator and enrols the participant; pairs the mentor with the participant; and finds the group's creation in the
audit log filtered by ``group.*``. Every act goes through the in-page confirmation. Then the people set up see it: the
participant has the group on their home page, the mentor has the mentee among their contacts. Each console section
passes the screen check at 1280x800, and the people section at 360x740 too, in light and dark schemes."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.people import facilitator_and_participant, mentor_and_mentee, new_page, sign_in, token_of
from tests.e2e.screens import check_screen
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

GROUP = "Thursday circle"
PEOPLE = (
    ("fran.console@example.org", "Fran Console", "facilitator"),
    ("robin.console@example.org", "Robin Console", "participant"),
    ("morgan.console@example.org", "Morgan Console", "mentor"),
)


@pytest.fixture(scope="module")
def site(module_site: Node) -> Node:
    return module_site


async def add_person(page: Page, email: str, name: str, role: str) -> None:
    await page.fill("#new-user-email", email)
    await page.fill("#new-user-name", name)
    await page.select_option("#new-user-role", role)
    await page.fill("#new-user-password", f"{role}-password")
    await page.click("#new-user-create")
    await expect(page.locator("#new-user-confirm-question")).to_contain_text(f"Add {name} ({email.lower()})")
    await page.click("#new-user-confirm-yes")


async def go(page: Page, section: str, heading: str) -> None:
    await page.click(f'#admin-nav a[href="#/admin/{section}"]')
    await expect(page.locator("#admin-title")).to_have_text(heading)
    await expect(page.locator("#admin-title")).to_be_focused()


async def test_admin_sets_up_a_group_and_a_pairing(browser: Browser, site: Node) -> None:
    admin = await new_page(browser, 1280, 800)
    await sign_in(admin, site, ADMIN_EMAIL, ADMIN_PASSWORD)
    await expect(admin).to_have_url(site.base + "/#/admin")
    await expect(admin.locator("#overview-people")).to_contain_text("Administrator: 1")
    await check_screen(admin, "admin-overview")

    # People: three accounts, each asked first; the list shows them.
    await go(admin, "users", "People")
    for email, name, role in PEOPLE:
        await add_person(admin, email, name, role)
        await expect(admin.locator("#admin-announce")).to_have_text(f"{name} was added as a {role}.")
    rows = admin.locator("#users-table tbody tr")
    await expect(rows).to_have_count(4)
    # A taken email: the server's sentence, in the form's alert.
    await add_person(admin, "FRAN.console@example.org", "Another Fran", "facilitator")
    await expect(admin.locator("#new-user-error")).to_have_text("A user with this email already exists.")
    await expect(rows).to_have_count(4)
    # The filter narrows the page's list; managing a person shows the role change's consequence.
    await admin.fill("#users-filter-text", "robin")
    await expect(rows).to_have_count(1)
    await admin.click('button[aria-label="Manage Robin Console"]')
    await expect(admin.locator("#user-manage-title")).to_be_focused()
    await admin.select_option("#user-role", "mentor")
    await admin.click("#user-role-save")
    await expect(admin.locator("#user-role-confirm-question")).to_contain_text("they rejoin as a mentor")
    await admin.click("#user-role-confirm-back")  # stepped back: nothing changes
    await check_screen(admin, "admin-users")
    await admin.click("#user-manage-close")

    # Groups: a new group, then its facilitator (appointed) and its participant.
    await go(admin, "groups", "Groups")
    await admin.fill("#new-group-name", GROUP)
    await admin.fill("#new-group-capacity", "10")
    await admin.check("#new-group-screen")
    await admin.click("#new-group-create")
    await expect(admin.locator("#new-group-confirm-question")).to_contain_text(f"Create the group {GROUP}")
    await admin.click("#new-group-confirm-yes")
    await expect(admin.locator("#group-detail-title")).to_have_text(GROUP)
    await expect(admin.locator("#group-detail-title")).to_be_focused()
    await expect(admin.locator("#groups-table tbody tr")).to_contain_text([GROUP])
    await expect(admin.locator("#members-none")).to_be_visible()
    await admin.check("#enrol-place-facilitator")
    await expect(admin.locator("#enrol-person option")).to_have_count(1)  # only facilitator accounts
    await admin.select_option("#enrol-person", label="Fran Console (facilitator, fran.console@example.org)")
    await admin.click("#enrol-add")
    await expect(admin.locator("#enrol-confirm-question")).to_contain_text("Appoint Fran Console as a facilitator")
    await admin.click("#enrol-confirm-yes")
    await expect(admin.locator("#admin-announce")).to_have_text(f"Fran Console is now a facilitator of {GROUP}.")
    await admin.check("#enrol-place-participant")
    await admin.select_option("#enrol-person", label="Robin Console (participant, robin.console@example.org)")
    await admin.click("#enrol-add")
    await admin.click("#enrol-confirm-yes")
    members = admin.locator("#members-table tbody tr")
    await expect(members).to_have_count(2)
    await expect(members.nth(0)).to_contain_text("Fran Console")
    await expect(members.nth(0)).to_contain_text("Facilitator")
    await expect(members.nth(1)).to_contain_text("Robin Console")
    # A settings change sends only what changed; the sessions page is one link away.
    await admin.fill("#group-settings-capacity", "12")
    await admin.click("#group-settings-save")
    await expect(admin.locator("#group-settings-confirm-question")).to_have_text(
        f"Change {GROUP}: capacity from 10 to 12? A room in progress takes the new settings at once."
    )
    await admin.click("#group-settings-confirm-yes")
    await expect(admin.locator('#groups-table tr:has-text("Thursday circle") td').first).to_have_text("12")
    group_id = await admin.locator('#groups-table tr:has-text("Thursday circle")').get_attribute("data-group-id")
    await expect(admin.locator("#group-sessions-link")).to_have_attribute("href", f"#/group/{group_id}/sessions")
    await admin.locator("#members-table").scroll_into_view_if_needed()
    await check_screen(admin, "admin-groups")

    # Pairings: the mentor with the participant.
    await go(admin, "pairings", "Mentor pairings")
    await expect(admin.locator("#pairings-none")).to_be_visible()
    await admin.select_option("#pairing-mentor", label="Morgan Console (morgan.console@example.org)")
    await admin.select_option("#pairing-mentee", label="Robin Console (robin.console@example.org)")
    await admin.click("#new-pairing-create")
    await expect(admin.locator("#new-pairing-confirm-question")).to_contain_text(
        "Pair Morgan Console as mentor with Robin Console"
    )
    await admin.click("#new-pairing-confirm-yes")
    pairing = admin.locator("#pairings-table tbody tr")
    await expect(pairing).to_have_count(1)
    await expect(pairing).to_contain_text("Morgan Console")
    await expect(pairing).to_contain_text("Robin Console")
    await check_screen(admin, "admin-pairings")

    # The audit log, filtered to groups: the creation is there, by name.
    await go(admin, "audit", "Audit log")
    await admin.fill("#audit-action", "group.*")
    await admin.click("#audit-apply")
    created = admin.locator('#audit-table tr[data-action="group.create"]')
    await expect(created).to_have_count(1)
    await expect(created).to_contain_text(GROUP)
    await expect(created).to_contain_text("Admin")
    await expect(admin.locator("#audit-table tbody tr:not([data-action^='group.'])")).to_have_count(0)
    await check_screen(admin, "admin-audit")

    # On a phone: the people section still reads, its table scrolls sideways in its own region.
    await admin.set_viewport_size({"width": 360, "height": 740})
    await go(admin, "users", "People")
    await expect(admin.locator("#users-table tbody tr")).to_have_count(4)
    assert await admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await check_screen(admin, "admin-users-narrow")
    await admin.emulate_media(color_scheme="dark")  # the dark scheme holds its contrast too
    await admin.click('button[aria-label="Manage Fran Console"]')
    await check_screen(admin, "admin-users-narrow-dark")

    # The people set up see it: the participant the group, the mentor the mentee.
    robin = await new_page(browser, 1280, 800)
    await sign_in(robin, site, "robin.console@example.org", "participant-password")
    await expect(robin.locator("#view")).to_contain_text(GROUP)
    morgan = await new_page(browser, 1280, 800)
    await sign_in(morgan, site, "morgan.console@example.org", "mentor-password")
    await morgan.goto(site.base + "/#/contacts")
    await expect(morgan.locator("li.contact")).to_contain_text(["Robin Console"])
    for page in (admin, robin, morgan):
        await page.context.close()


async def test_admin_resets_disables_removes_archives_and_ends(browser: Browser, site: Node) -> None:
    """The acts that take something back, each asked first: a new password shown once (and good for signing in), an
    account disabled and enabled, a member removed, a group archived and restored, a pairing ended; and the audit
    log's older entries."""
    group = facilitator_and_participant(site, name="Friday group")
    pair = mentor_and_mentee(site)
    admin = await new_page(browser, 1280, 800)
    await sign_in(admin, site, ADMIN_EMAIL, ADMIN_PASSWORD)

    await go(admin, "users", "People")
    await admin.click('button[aria-label="Manage Robin"]')
    await admin.click("#user-password-suggest")
    await expect(admin.locator("#user-password")).to_have_attribute("type", "text")  # shown while it is chosen
    await admin.click("#user-password-save")
    await expect(admin.locator("#user-password-confirm-question")).to_contain_text("signed out everywhere")
    await admin.click("#user-password-confirm-yes")
    await expect(admin.locator("#user-password-shown")).to_be_focused()
    password = await admin.locator("#user-password-value").inner_text()
    assert http("POST", site.base + "/api/auth/login", {"email": "robin@example.org", "password": password})[0] == 200
    await admin.click("#user-password-hide")
    await expect(admin.locator("#user-password-shown")).to_have_count(0)
    await admin.click("#user-disable")
    await admin.click("#user-disable-confirm-yes")
    robin_row = admin.locator(f'#users-table tr[data-user-id="{group["participant"]}"]')
    await expect(robin_row).to_contain_text("Disabled")
    assert http("POST", site.base + "/api/auth/login", {"email": "robin@example.org", "password": password})[0] == 401
    await expect(admin.locator("#user-disable")).to_have_text("Enable account")
    await admin.click("#user-disable")
    await admin.click("#user-disable-confirm-yes")
    await expect(admin.locator("#admin-announce")).to_have_text("Robin's account is enabled again.")

    await go(admin, "groups", "Groups")
    await admin.click('button[aria-label="Manage Friday group"]')
    await admin.click('button[aria-label="Remove Robin"]')
    await expect(admin.locator("#member-remove-confirm-question")).to_contain_text("Remove Robin from Friday group?")
    await admin.click("#member-remove-confirm-yes")
    await expect(admin.locator("#members-table tbody tr")).to_have_count(1)
    await admin.click("#group-archive")
    await admin.click("#group-archive-confirm-yes")
    await expect(admin.locator("#archived-table tbody tr")).to_contain_text(["Friday group"])
    await expect(admin.locator("#group-archive")).to_have_text("Restore group")
    await admin.click("#group-archive")
    await admin.click("#group-archive-confirm-yes")
    await expect(admin.locator("#groups-table")).to_contain_text("Friday group")
    await expect(admin.locator("#archived-table")).to_have_count(0)

    await go(admin, "pairings", "Mentor pairings")
    await admin.click(f'#pairings-table tr[data-pairing-id="{pair["pairing"]}"] .end-pairing')
    await expect(admin.locator("#pairing-end-confirm-question")).to_contain_text("End the pairing of Morgan with Alex?")
    await admin.click("#pairing-end-confirm-yes")
    await expect(admin.locator(f'#pairings-table tr[data-pairing-id="{pair["pairing"]}"]')).to_have_count(0)
    await admin.check("#pairings-show-ended")
    await expect(admin.locator(f'#pairings-table tr[data-pairing-id="{pair["pairing"]}"]')).to_contain_text("Ended")

    # More entries than one page: "Load older entries" follows the cursor.
    token = token_of(site, ADMIN_EMAIL, ADMIN_PASSWORD)
    for _ in range(50):
        assert http("GET", site.base + f"/api/groups/{group['group']}/members", None, token)[0] == 200
    await go(admin, "audit", "Audit log")
    rows = admin.locator("#audit-table tbody tr")
    await expect(rows).to_have_count(50)
    await admin.click("#audit-older")
    await expect(rows).not_to_have_count(50)
    await expect(admin.locator("#audit-count")).to_contain_text("entries shown")
    await admin.context.close()
