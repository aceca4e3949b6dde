"""The program's settings in real Chromium: an administrator changes a group's time zone from the session page; a
facilitator edits a weekly series and publishes a new agreement after confirming it (a repeat of the text in force is
refused in the page); a mentee lets their mentor see their check-ins, which the mentor reads as "Not shared with you"
before and as the history after."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.people import facilitator_and_participant, mentor_and_mentee, new_page, sign_in, token_of
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

AGREEMENT = "We keep what is said here in this room.\n\nWe listen without fixing."


@pytest.fixture(scope="module")
def site(module_site: Node) -> Node:
    return module_site


async def test_time_zone_series_edit_and_agreement(browser: Browser, site: Node) -> None:
    people = facilitator_and_participant(site, name="Settings group")
    group = people["group"]
    fran = token_of(site, "fran@example.org", "fran-password")
    status, series = http(
        "POST",
        site.base + f"/api/groups/{group}/schedules",
        {"weekdays": [2], "start_time": "18:00", "duration_minutes": 90, "starts_on": "2025-03-04"},
        fran,
    )
    assert status == 201, series

    # The administrator reaches the group from "All groups" and changes its zone, after confirming.
    admin = await new_page(browser, 360, 740)
    await sign_in(admin, site, ADMIN_EMAIL, ADMIN_PASSWORD)
    await admin.goto(f"{site.base}/#/groups")  # administrators land on the program console
    await admin.click(f'#all-groups li[data-group-id="{group}"] a')
    await expect(admin.locator("#group-zone")).to_contain_text("UTC")
    await admin.click("#zone-editor summary")
    await admin.select_option("#zone-choice", "America/New_York")
    await admin.click("#zone-save")
    await expect(admin.locator("#zone-confirm-question")).to_contain_text("from UTC to America/New_York")
    await admin.click("#zone-confirm-yes")
    await expect(admin.locator("#group-zone")).to_contain_text("America/New_York")
    await expect(admin.locator("#schedules li.series")).to_contain_text("America/New_York time")
    _, shown = http("GET", site.base + f"/api/groups/{group}", None, fran)
    assert shown["timezone"] == "America/New_York"

    # The facilitator edits the series: only what changed is sent; the list says the new time.
    page = await new_page(browser, 360, 740)
    await sign_in(page, site, "fran@example.org", "fran-password")
    await page.goto(site.base + f"/#/group/{group}/sessions")
    await expect(page.locator("#group-zone")).to_contain_text("America/New_York")
    await expect(page.locator("#zone-form")).to_have_count(0)  # facilitators do not change the zone
    await page.click(f'#schedules li[data-schedule-id="{series["id"]}"] .edit-series')
    await page.fill("#series-edit-start", "19:15")
    await page.fill("#series-edit-duration", "60")
    await page.click("#series-edit-save")
    await expect(page.locator("#schedules li.series")).to_contain_text("Tuesdays at 19:15 for 60 minutes")
    await expect(page.locator("#series-edit-form")).to_have_count(0)
    _, listed = http("GET", site.base + f"/api/groups/{group}/schedules", None, fran)
    assert listed["schedules"][0]["start_time"].startswith("19:15")
    assert listed["schedules"][0]["duration_minutes"] == 60
    # A last date before the first is caught in the page and said beside the form; nothing is sent.
    await page.click(f'#schedules li[data-schedule-id="{series["id"]}"] .edit-series')
    await page.fill("#series-edit-ends-on", "2025-01-01")
    await page.click("#series-edit-save")
    await expect(page.locator("#series-edit-error")).to_contain_text("before the first")
    await page.click("#series-edit-cancel")

    # The agreement: none yet; publish version 1 after the confirmation.
    await expect(page.locator("#agreement-version")).to_contain_text("No agreement yet")
    await page.click("#agreement-editor summary")
    await page.fill("#agreement-new", AGREEMENT)
    await page.click("#agreement-publish")
    await expect(page.locator("#agreement-confirm-question")).to_contain_text("accept it again")
    await page.click("#agreement-confirm-yes")
    await expect(page.locator("#agreement-version")).to_contain_text("Version 1")
    await expect(page.locator("#agreement-current")).to_contain_text("We listen without fixing.")
    await expect(page.locator("#agreement-done")).to_contain_text("Version 1 is published")
    _, agreement = http("GET", site.base + f"/api/groups/{group}/agreement", None, fran)
    assert agreement["version"] == 1
    assert agreement["text"] == AGREEMENT
    # The same text again is refused in the page; nothing is published.
    await page.click("#agreement-publish")
    await expect(page.locator("#agreement-editor-error")).to_contain_text("version 1 already")
    _, agreement = http("GET", site.base + f"/api/groups/{group}/agreement", None, fran)
    assert agreement["version"] == 1


async def test_mentee_shares_checkins_with_mentor(browser: Browser, site: Node) -> None:
    mentor_and_mentee(site)

    morgan = await new_page(browser, 360, 740)
    await sign_in(morgan, site, "morgan@example.org", "morgan-password")
    await morgan.goto(site.base + "/#/contacts")
    show = morgan.locator("#mentee-checkins .show-checkins")
    await show.click()
    await expect(morgan.locator("#mentee-checkins")).to_contain_text("Not shared with you")

    alex = await new_page(browser, 360, 740)
    await sign_in(alex, site, "alex@example.org", "alex-password")
    await alex.goto(site.base + "/#/contacts")
    toggle = alex.get_by_label("Let Morgan see my check-ins")
    await expect(toggle).not_to_be_checked()
    await toggle.check()
    await expect(alex.locator("#sharing-status")).to_have_text("Morgan can now see your check-ins.")

    await show.click()  # hides
    await show.click()  # reads again
    await expect(morgan.locator("#mentee-checkins")).to_contain_text("No check-ins")

    await toggle.uncheck()
    await expect(alex.locator("#sharing-status")).to_have_text("Morgan can no longer see your check-ins.")
    await show.click()
    await show.click()
    await expect(morgan.locator("#mentee-checkins")).to_contain_text("Not shared with you")
