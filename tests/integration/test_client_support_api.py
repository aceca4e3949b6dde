"""What the browser client reads to help people: the program's help line, who one may message, and the settings
and headers that let a facilitator share a worksheet on screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import ConfigError, load_settings
from tests.conftest import make_settings
from tests.support.api import Api

HELP = "Crisis line: 988 (call or text, any hour).\nProgram office: 555-0100, weekdays 9-5."


async def test_the_help_line_is_shown_to_anyone_signed_in_or_not(aiohttp_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", HAVEN_HELP_TEXT=f"  {HELP}\r\n")
    client: TestClient = await aiohttp_client(create_app(settings))
    status, body = await Api(client).call("GET", "/api/help")
    assert (status, body) == (200, {"help_text": HELP})


async def test_without_a_help_line_there_is_nothing_to_show(api: Api) -> None:
    assert await api.call("GET", "/api/help") == (200, {"help_text": None})


@pytest.mark.parametrize(
    ("value", "problem"),
    [("x" * 2001, "at most 2000"), ("call \x1b[31m now", "plain text"), ("a\u200bb", "plain text")],
)
def test_a_help_line_that_is_too_long_or_not_plain_text_stops_the_server(
    tmp_path: Path, value: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings({"HAVEN_DATA_DIR": str(tmp_path), "HAVEN_HELP_TEXT": value})


async def test_the_browser_may_share_a_screen_only_from_havens_own_origin(client: TestClient) -> None:
    response = await client.get("/api/help")
    assert "display-capture=(self)" in response.headers["Permissions-Policy"]
    assert "camera=(self)" in response.headers["Permissions-Policy"]


async def test_participants_screen_sharing_is_a_group_setting_off_by_default(api: Api, admin: str) -> None:
    group_id = await api.group(admin)
    status, group = await api.call("GET", f"/api/groups/{group_id}", admin)
    assert group["screen_share_allowed"] is False
    status, group = await api.call("PATCH", f"/api/groups/{group_id}", admin, {"screen_share_allowed": True})
    assert (status, group["screen_share_allowed"]) == (200, True)
    status, created = await api.call(
        "POST", "/api/groups", admin, {"name": "Worksheets", "capacity": 8, "screen_share_allowed": True}
    )
    assert (status, created["screen_share_allowed"]) == (201, True)
    status, refused = await api.call("PATCH", f"/api/groups/{group_id}", admin, {"screen_share_allowed": "yes"})
    assert (status, refused["error"]["code"]) == (400, "invalid_request")
    assert refused["error"]["details"][0]["field"] == "screen_share_allowed"


async def test_conversations_list_everyone_one_may_message_and_what_they_are(api: Api, admin: str) -> None:
    fran, fran_token = await api.user(admin, "fran@example.org", "facilitator", "Fran")
    robin, robin_token = await api.user(admin, "robin@example.org", "participant", "Robin")
    sam, sam_token = await api.user(admin, "sam@example.org", "participant", "Sam")
    morgan, morgan_token = await api.user(admin, "morgan@example.org", "mentor", "Morgan")
    group_id = await api.group(admin)
    await api.enrol(admin, group_id, fran, "facilitator")
    await api.enrol(admin, group_id, robin, "participant")
    await api.enrol(admin, group_id, sam, "participant")
    status, pairing = await api.call("POST", "/api/pairings", admin, {"mentor_id": morgan, "mentee_id": robin})
    assert status == 201

    def direct(listing: dict) -> dict[str, tuple[str, str]]:
        return {
            c["conversation"]: (c["title"], c["relationship"]) for c in listing["conversations"] if c["kind"] == "dm"
        }

    _, robins = await api.call("GET", "/api/conversations", robin_token)
    # Robin's mentor and facilitator; never another participant of the group (membership is confidential).
    assert direct(robins) == {
        f"dm:{fran}": ("Fran", "facilitator"),
        f"dm:{morgan}": ("Morgan", "mentor"),
    }
    assert all(c["unread"] == 0 and c["last_seq"] == 0 for c in robins["conversations"] if c["kind"] == "dm")
    _, frans = await api.call("GET", "/api/conversations", fran_token)
    assert direct(frans) == {
        f"dm:{robin}": ("Robin", "group_member"),
        f"dm:{sam}": ("Sam", "group_member"),
    }
    _, morgans = await api.call("GET", "/api/conversations", morgan_token)
    assert direct(morgans) == {f"dm:{robin}": ("Robin", "mentee")}

    # A pairing ended: Morgan and Robin may no longer read or write their conversation, so it is no longer listed.
    await api.call("DELETE", f"/api/pairings/{pairing['id']}", admin)
    _, morgans = await api.call("GET", "/api/conversations", morgan_token)
    assert direct(morgans) == {}
    _, sams = await api.call("GET", "/api/conversations", sam_token)
    assert direct(sams) == {f"dm:{fran}": ("Fran", "facilitator")}
