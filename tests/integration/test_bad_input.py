"""Bad input gets the right status and a stable code, and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from server.db.models import AuditEntry, Group, GroupMembership, Pairing, User
from tests.support.api import Api

GOOD_USER = {"email": "new@example.org", "display_name": "New", "role": "participant", "password": "new-password"}


async def snapshot(api: Api) -> tuple[int, ...]:
    async with api.db() as session:
        counts = []
        for model in (User, Group, GroupMembership, Pairing):
            counts.append(int((await session.execute(select(func.count()).select_from(model))).scalar_one()))
        return tuple(counts)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**GOOD_USER, "role": "superuser"}, "role"),
        ({**GOOD_USER, "email": "not-an-email"}, "email"),
        ({**GOOD_USER, "email": 42}, "email"),
        ({**GOOD_USER, "display_name": ""}, "display_name"),
        ({**GOOD_USER, "display_name": "   "}, "display_name"),
        ({**GOOD_USER, "display_name": "a\u0000b"}, "display_name"),
        ({**GOOD_USER, "display_name": "x" * 81}, "display_name"),
        ({**GOOD_USER, "password": "short"}, "password"),
        ({**GOOD_USER, "password": ["not", "a", "string"]}, "password"),
        ({**GOOD_USER, "is_admin": True}, "is_admin"),
        ({k: v for k, v in GOOD_USER.items() if k != "email"}, "email"),
    ],
)
async def test_invalid_user_bodies_name_the_field(api: Api, admin: str, payload: dict, field: str) -> None:
    before = await snapshot(api)
    status, body = await api.call("POST", "/api/users", admin, payload)
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert field in body["error"]["message"]
    assert body["error"]["details"][0]["field"] == field
    assert "new-password" not in repr(body)
    assert await snapshot(api) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "Group", "capacity": "12"},
        {"name": "Group", "capacity": True},
        {"name": "Group", "capacity": 12.5},
        {"name": "Group", "capacity": 1},
        {"name": "Group", "capacity": 201},
        {"name": "", "capacity": 12},
        {"name": "Group", "capacity": 12, "owner": "me"},
        ["name", "capacity"],
        "group",
        None,
    ],
)
async def test_invalid_group_bodies(api: Api, admin: str, payload: object) -> None:
    before = await snapshot(api)
    raw = json.dumps(payload).encode()
    status, body = await api.call("POST", "/api/groups", admin, data=raw, headers={"Content-Type": "application/json"})
    assert status == 400
    assert body["error"]["code"] == "invalid_request"
    assert await snapshot(api) == before


async def test_malformed_json_is_refused(api: Api, admin: str) -> None:
    for raw in (b"{", b"{'name': 1}", b"", b"\xff\xfe", b'{"name": "a", "capacity": 3,}'):
        status, body = await api.call(
            "POST", "/api/groups", admin, data=raw, headers={"Content-Type": "application/json"}
        )
        assert status == 400, raw
        assert body["error"]["code"] == "invalid_request"
        assert body["error"]["message"] == "The body is not valid JSON."


async def test_a_body_that_is_not_json_is_refused(api: Api, admin: str) -> None:
    status, body = await api.call(
        "POST",
        "/api/groups",
        admin,
        data=b"name=x&capacity=3",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"


async def test_oversized_bodies_are_refused_before_parsing(api: Api, admin: str) -> None:
    before = await snapshot(api)
    huge = b'{"name": "' + b"x" * 70_000 + b'", "capacity": 5}'
    status, body = await api.call("POST", "/api/groups", admin, data=huge, headers={"Content-Type": "application/json"})
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    big_login = {"email": "a@example.org", "password": "p" * 70_000}
    status, body = await api.call("POST", "/api/auth/login", json=big_login)
    assert status == 413
    assert await snapshot(api) == before


async def test_unknown_and_malformed_ids_are_not_found(api: Api, admin: str) -> None:
    for path in (
        "/api/users/6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11",
        "/api/users/not-a-uuid",
        "/api/groups/6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11",
        "/api/groups/12345",
        "/api/groups/6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11/members",
        "/api/nothing-here",
    ):
        status, body = await api.call("GET", path, admin)
        assert status == 404, path
        assert body["error"]["code"] == "not_found"
    status, body = await api.call("DELETE", "/api/pairings/6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11", admin)
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_unknown_pairing_people_are_not_found(api: Api, admin: str) -> None:
    mentor_id, _ = await api.user(admin, "mm@example.org", "mentor")
    status, body = await api.call(
        "POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11"}
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": "nope"})
    assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_wrong_method_and_bad_query_values(api: Api, admin: str) -> None:
    status, body = await api.call("PUT", "/api/users", admin, {})
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    for query in ("limit=0", "limit=abc", "limit=100000", "offset=-1"):
        status, body = await api.call("GET", f"/api/users?{query}", admin)
        assert (status, body["error"]["code"]) == (400, "invalid_request"), query
    status, body = await api.call("GET", "/api/groups?all=maybe", admin)
    assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_empty_patch_is_refused(api: Api, admin: str) -> None:
    user_id, _ = await api.user(admin, "pp@example.org", "participant")
    status, body = await api.call("PATCH", f"/api/users/{user_id}", admin, {})
    assert (status, body["error"]["code"]) == (400, "invalid_request")


async def test_refused_requests_leave_no_audit_of_changes(api: Api, admin: str) -> None:
    await api.call("POST", "/api/groups", admin, {"name": "x", "capacity": "many"})
    await api.call("POST", "/api/users", admin, {"email": "bad"})
    async with api.db() as session:
        rows = await session.execute(select(AuditEntry.action))
        assert [a for (a,) in rows.all() if a not in {"auth.login", "user.create"}] == []
