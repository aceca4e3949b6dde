"""The program in real Chromium: a participant accepts the group's agreement and checks in while waiting; the
facilitator sees the low rating flagged beside the admit queue, answers a call for support, ends the session, signs
its attendance off with a note and downloads the CSV, which parses with ``csv`` and matches the JSON report. A room
that is not open yet says when it opens, and the home page shows the next session."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.people import (
    end_session,
    facilitator_and_participant,
    new_page,
    pass_prejoin,
    sign_in,
    sign_in_and_enter,
    token_of,
)
from tests.support.processes import ADMIN_EMAIL, ADMIN_PASSWORD, Node, http

AGREEMENT = "We keep what is said here in this room.\n\nWe listen without fixing."
NOTE = "Rough week, slept badly."
SIGN_OFF_NOTE = "Quiet group; all accounted for."


# Keeps every track getUserMedia hands out in window.havenTracks.
TRACK_RECORDER = """
(() => {
  window.havenTracks = [];
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const open = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await open(constraints);
    window.havenTracks.push(...stream.getTracks());
    return stream;
  };
})();
"""


@pytest.fixture(scope="module")
def site(module_site: Node) -> Node:
    return module_site


@pytest.fixture(scope="module")
def people(site: Node) -> dict[str, str]:
    return facilitator_and_participant(site, name="Tuesday program group")


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


async def test_agreement_checkin_support_sign_off_and_csv(browser: Browser, site: Node, people: dict[str, str]) -> None:
    group, robin_id = people["group"], people["participant"]
    fran_token = token_of(site, "fran@example.org", "fran-password")
    status, body = http("PUT", site.base + f"/api/groups/{group}/agreement", {"text": AGREEMENT}, fran_token)
    assert status == 200, body

    fran, robin = await new_page(browser), await new_page(browser)

    # The facilitator is not asked to accept the agreement.
    await sign_in_and_enter(fran, site, "fran@example.org", "fran-password", group)
    await expect(fran.locator("#lobby-empty")).to_be_visible()

    # The participant meets the agreement, accepts it, and waits in the lobby.
    await sign_in_and_enter(robin, site, "robin@example.org", "robin-password", group)
    await expect(robin.locator("#agreement")).to_be_visible()
    await expect(robin.locator("#agreement-text")).to_contain_text("We listen without fixing.")
    await expect(robin.locator("#waiting")).to_be_hidden()
    await robin.click("#accept-agreement")
    await expect(robin.locator("#waiting")).to_contain_text("Waiting for a facilitator to let you in")
    await expect(robin.locator("#agreement")).to_be_hidden()
    robin_token = token_of(site, "robin@example.org", "robin-password")
    status, agreement = http("GET", site.base + f"/api/groups/{group}/agreement", None, robin_token)
    assert status == 200, agreement
    assert agreement["accepted"] is True, agreement

    # A check-in from the lobby: a low rating and a note.
    await robin.check('#waiting input[name="checkin-rating"][value="2"]')
    await robin.fill("#checkin-note", NOTE)
    await robin.click("#checkin-send")
    await expect(robin.locator("#checkin-status")).to_contain_text("Thank you")

    # The facilitator sees it flagged beside the admit queue, then admits.
    waiting = fran.locator(f'#lobby li[data-user-id="{robin_id}"]')
    await expect(waiting.locator(".checkin-summary.flagged")).to_contain_text("Low rating")
    await expect(waiting).to_contain_text(NOTE)
    await expect(waiting).to_contain_text("2 of 5")
    await expect(fran.locator(f'#room-checkins li[data-user-id="{robin_id}"]')).to_contain_text("Low rating")
    await waiting.locator("button.admit").click()
    await expect(robin.locator("#roster li.participant")).to_have_count(2)

    # "I need support" reaches the facilitator with a badge; acknowledging it tells the participant.
    await robin.click("#need-support")
    await robin.click("#send-support")
    await expect(robin.locator("#support-status")).to_contain_text("The facilitators have been told")
    await expect(fran.locator("#support-badge")).to_have_text("1 open")
    await fran.locator(f'#support-requests li[data-user-id="{robin_id}"] button.acknowledge').click()
    await expect(robin.locator("#support-status")).to_contain_text("A facilitator has seen your request")
    await expect(fran.locator("#support-badge")).to_be_hidden()

    # The facilitator ends the session and opens the group's session page.
    await end_session(fran)
    await expect(fran.locator("#room-over")).to_contain_text("This session has ended")
    await fran.click("#back-to-groups")
    await fran.click(f'#groups li.group[data-group-id="{group}"] .sessions-link')
    held = fran.locator("#week-sessions li.session-item.status-ended")
    await expect(held).to_have_count(1)
    session_id = await held.get_attribute("data-session-id")
    assert session_id
    await expect(fran.locator("#group-checkins li.checkin.flagged")).to_contain_text("Robin")
    await held.get_by_role("link", name="Attendance").click()
    table = fran.locator("#attendance-table")
    await expect(table.locator(f'tr[data-user-id="{robin_id}"]')).to_contain_text("Present")

    # Sign-off with a note; the form goes, the sign-off shows.
    await fran.fill("#sign-off-note", SIGN_OFF_NOTE)
    await fran.click("#sign-off")
    await expect(fran.locator("#signed-off")).to_contain_text("Signed off by Fran")
    await expect(fran.locator("#signed-off")).to_contain_text(SIGN_OFF_NOTE)
    await expect(fran.locator("#sign-off-form")).to_be_hidden()

    # The CSV download parses with csv and says what the JSON report says.
    async with fran.expect_download() as downloading:
        await fran.click("#download-csv")
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    rows = csv_rows(await download.path())
    status, report = http("GET", site.base + f"/api/sessions/{session_id}/attendance", None, fran_token)
    assert status == 200, report
    assert report["signed_off"]["note"] == SIGN_OFF_NOTE
    by_user = {row["user_id"]: row for row in rows}
    assert set(by_user) == {m["user_id"] for m in report["members"]}
    for member in report["members"]:
        row = by_user[member["user_id"]]
        assert row["session_id"] == session_id
        assert row["signed_off_at"] == report["signed_off"]["at"]
        for key in ("display_name", "role", "status", "first_joined", "last_left"):
            assert row[key] == (member[key] or ""), (key, row[key], member[key])
        for key in ("minutes_present", "minutes_camera_on", "minutes_waiting"):
            assert int(row[key]) == member[key], (key, row[key], member[key])
    assert by_user[robin_id]["status"] == "present"

    await fran.context.close()
    await robin.context.close()


async def test_room_not_open_and_next_session(browser: Browser, site: Node, people: dict[str, str]) -> None:
    admin = token_of(site, ADMIN_EMAIL, ADMIN_PASSWORD)
    status, created = http("POST", site.base + "/api/groups", {"name": "Evening program group", "capacity": 6}, admin)
    assert status == 201, created
    group = created["id"]
    for key in ("facilitator", "participant"):
        status, body = http(
            "POST", site.base + f"/api/groups/{group}/members", {"user_id": people[key], "role": key}, admin
        )
        assert status == 201, body
    starts = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    status, body = http(
        "POST",
        site.base + f"/api/groups/{group}/extra-sessions",
        {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()},
        token_of(site, "fran@example.org", "fran-password"),
    )
    assert status == 201, body

    robin = await new_page(browser)
    # Every camera and microphone track the page opens, to see that none stays live once the room says it is closed.
    await robin.add_init_script(TRACK_RECORDER)
    await sign_in(robin, site, "robin@example.org", "robin-password")
    upcoming = robin.locator(f'#upcoming li.upcoming-item[data-group-id="{group}"]')
    await expect(upcoming).to_contain_text("Next session:")
    await expect(upcoming).to_contain_text("Evening program group")
    await upcoming.get_by_role("link", name="Enter room").click()
    await pass_prejoin(robin)
    await expect(robin.locator("#room-over")).to_contain_text("is not open yet. It opens")
    await expect(robin.locator("#room-over")).to_contain_text("(your time)")
    await expect(robin.locator("#retry-join")).to_be_visible()
    await expect(robin.locator("#room-over-title")).to_be_focused()
    # The camera and microphone are off while the page only says when the room opens.
    live = "() => window.havenTracks.filter((t) => t.readyState === 'live').length"
    assert await robin.evaluate("() => window.havenTracks.length") > 0
    await robin.wait_for_function(f"({live})() === 0")
    # Trying again goes back through the pre-join, which opens them again.
    await robin.click("#retry-join")
    await expect(robin.locator("#prejoin-join")).to_be_visible()
    await expect(robin.locator("#prejoin-title")).to_be_focused()
    await pass_prejoin(robin)
    await expect(robin.locator("#room-over")).to_contain_text("is not open yet. It opens")
    await robin.wait_for_function(f"({live})() === 0")
    await robin.context.close()
