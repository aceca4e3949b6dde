"""Administration through REST: users, groups, members, pairings, each change audited."""

from __future__ import annotations

from sqlalchemy import func, select

from server.db.models import AuditEntry, GroupMembership, Pairing, User
from tests.support.api import Api


async def count(api: Api, model: type) -> int:
    async with api.db() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def actions(api: Api) -> list[tuple[str, str]]:
    async with api.db() as session:
        rows = await session.execute(select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.id))
        return [(a, o) for a, o in rows.all() if a != "auth.login"]


async def test_admin_creates_a_user_who_can_then_sign_in(api: Api, admin: str) -> None:
    status, body = await api.call(
        "POST",
        "/api/users",
        admin,
        {"email": "Jo@Example.org", "display_name": "  Jo  ", "role": "participant", "password": "jo-password"},
    )
    assert status == 201
    assert body["email"] == "jo@example.org"
    assert body["display_name"] == "Jo"
    assert body["role"] == "participant"
    assert "password" not in repr(body)
    assert await api.login("jo@example.org", "jo-password")
    status, shown = await api.call("GET", f"/api/users/{body['id']}", admin)
    assert status == 200
    assert shown["id"] == body["id"]
    status, listing = await api.call("GET", "/api/users", admin)
    assert [u["email"] for u in listing["users"]] == ["admin@example.org", "jo@example.org"]
    assert all(u["created_at"].endswith("+00:00") for u in listing["users"])  # read back as UTC on SQLite too


async def test_duplicate_email_is_a_conflict_whatever_its_case(api: Api, admin: str) -> None:
    await api.user(admin, "dup@example.org", "participant")
    before = await count(api, User)
    status, body = await api.call(
        "POST",
        "/api/users",
        admin,
        {"email": "DUP@example.org", "display_name": "Other", "role": "mentor", "password": "other-password"},
    )
    assert status == 409
    assert body["error"]["code"] == "conflict"
    assert await count(api, User) == before


async def test_a_participant_cannot_use_admin_endpoints_and_is_audited(api: Api, admin: str) -> None:
    user_id, token = await api.user(admin, "p@example.org", "participant")
    group_id = await api.group(admin)
    users_before, audit_before = await count(api, User), await actions(api)
    attempts = [
        (
            "POST",
            "/api/users",
            {"email": "x@example.org", "display_name": "X", "role": "admin", "password": "x-password"},
        ),
        ("GET", "/api/users", None),
        ("PATCH", f"/api/users/{user_id}", {"role": "admin"}),
        ("POST", "/api/groups", {"name": "Mine", "capacity": 5}),
        ("POST", f"/api/groups/{group_id}/members", {"user_id": user_id, "role": "facilitator"}),
        ("POST", "/api/pairings", {"mentor_id": user_id, "mentee_id": user_id}),
        ("GET", "/api/audit", None),
    ]
    for method, path, payload in attempts:
        status, body = await api.call(method, path, token, payload)
        assert status == 403, (method, path)
        assert body["error"]["code"] == "not_authorized"
    assert await count(api, User) == users_before
    assert await count(api, GroupMembership) == 0
    status, me = await api.call("GET", "/api/me", token)
    assert me["role"] == "participant"
    assert await actions(api) == audit_before + [("admin.access", "denied")] * len(attempts)


async def test_groups_members_and_my_groups(api: Api, admin: str) -> None:
    facilitator_id, facilitator = await api.user(admin, "fac@example.org", "facilitator", "Fran")
    participant_id, participant = await api.user(admin, "part@example.org", "participant", "Pip")
    _, outsider = await api.user(admin, "out@example.org", "participant")
    group_id = await api.group(admin, "Monday group", 8)
    await api.group(admin, "Other group", 8)
    await api.enrol(admin, group_id, facilitator_id, "facilitator")
    await api.enrol(admin, group_id, participant_id, "participant")

    status, mine = await api.call("GET", "/api/groups", participant)
    assert status == 200
    assert [(g["id"], g["name"], g["capacity"], g["my_role"]) for g in mine["groups"]] == [
        (group_id, "Monday group", 8, "participant")
    ]
    status, mine = await api.call("GET", "/api/groups", facilitator)
    assert [g["my_role"] for g in mine["groups"]] == ["facilitator"]
    assert (await api.call("GET", "/api/groups", outsider))[1] == {"groups": []}

    status, members = await api.call("GET", f"/api/groups/{group_id}/members", facilitator)
    assert status == 200
    assert [(m["user_id"], m["role"]) for m in members["members"]] == [
        (facilitator_id, "facilitator"),
        (participant_id, "participant"),
    ]
    # Membership is sensitive: a participant cannot list the roster, an outsider cannot even see the group.
    assert (await api.call("GET", f"/api/groups/{group_id}/members", participant))[0] == 403
    assert (await api.call("GET", f"/api/groups/{group_id}/members", outsider))[0] == 404
    # Staff reading the roster is on the access record; refused reads are not reads.
    status, log = await api.call("GET", "/api/audit?action=group.roster.read", admin)
    assert [(e["actor_id"], e["target_id"], e["detail"]) for e in log["entries"]] == [
        (facilitator_id, group_id, {"count": 2})
    ]
    assert (await api.call("GET", f"/api/groups/{group_id}", outsider))[0] == 404
    assert (await api.call("GET", f"/api/groups/{group_id}", participant))[1]["my_role"] == "participant"

    status, every = await api.call("GET", "/api/groups?all=true", admin)
    assert sorted(g["name"] for g in every["groups"]) == ["Monday group", "Other group"]
    assert (await api.call("GET", "/api/groups?all=true", participant))[0] == 403

    status, _ = await api.call("DELETE", f"/api/groups/{group_id}/members/{participant_id}", admin)
    assert status == 204
    assert (await api.call("GET", "/api/groups", participant))[1] == {"groups": []}
    assert ("group.member.remove", "success") in await actions(api)


async def test_membership_rules(api: Api, admin: str) -> None:
    participant_id, _ = await api.user(admin, "m1@example.org", "participant")
    facilitator_id, _ = await api.user(admin, "m2@example.org", "facilitator")
    group_id = await api.group(admin)
    cases = [
        ({"user_id": participant_id, "role": "facilitator"}, 400, "invalid_request"),
        ({"user_id": facilitator_id, "role": "participant"}, 400, "invalid_request"),
        ({"user_id": "6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11", "role": "participant"}, 404, "not_found"),
    ]
    for payload, status_expected, code in cases:
        status, body = await api.call("POST", f"/api/groups/{group_id}/members", admin, payload)
        assert (status, body["error"]["code"]) == (status_expected, code), payload
    await api.enrol(admin, group_id, participant_id, "participant")
    status, body = await api.call(
        "POST", f"/api/groups/{group_id}/members", admin, {"user_id": participant_id, "role": "participant"}
    )
    assert (status, body["error"]["code"]) == (409, "conflict")
    status, body = await api.call(
        "POST",
        "/api/groups/6f1f6c57-2f7b-4a8e-9a55-0c6a2f3f6d11/members",
        admin,
        {"user_id": participant_id, "role": "participant"},
    )
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert await count(api, GroupMembership) == 1


async def test_group_settings_can_be_changed(api: Api, admin: str) -> None:
    group_id = await api.group(admin, "Evening", 10)
    status, body = await api.call(
        "PATCH", f"/api/groups/{group_id}", admin, {"capacity": 6, "lobby_enabled": False, "self_unmute_allowed": False}
    )
    assert status == 200
    assert (body["capacity"], body["lobby_enabled"], body["self_unmute_allowed"]) == (6, False, False)
    status, body = await api.call("PATCH", f"/api/groups/{group_id}", admin, {"capacity": 500})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert (await api.call("GET", f"/api/groups/{group_id}", admin))[1]["capacity"] == 6


async def test_pairings_one_active_per_pair(api: Api, admin: str) -> None:
    mentor_id, _ = await api.user(admin, "mentor@example.org", "mentor")
    mentee_id, _ = await api.user(admin, "mentee@example.org", "participant")
    pair = {"mentor_id": mentor_id, "mentee_id": mentee_id}
    status, pairing = await api.call("POST", "/api/pairings", admin, pair)
    assert status == 201
    assert (pairing["mentor_id"], pairing["mentee_id"], pairing["active"]) == (mentor_id, mentee_id, True)
    status, body = await api.call("POST", "/api/pairings", admin, pair)
    assert (status, body["error"]["code"]) == (409, "conflict")

    status, body = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentee_id, "mentee_id": mentor_id})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    status, body = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentor_id})
    assert (status, body["error"]["code"]) == (400, "invalid_request")

    status, ended = await api.call("DELETE", f"/api/pairings/{pairing['id']}", admin)
    assert status == 200
    assert ended["active"] is False
    assert (await api.call("DELETE", f"/api/pairings/{pairing['id']}", admin))[0] == 409
    status, again = await api.call("POST", "/api/pairings", admin, pair)
    assert status == 201
    assert await count(api, Pairing) == 2
    status, listing = await api.call("GET", "/api/pairings", admin)
    assert [p["id"] for p in listing["pairings"]] == [again["id"]]


async def test_every_admin_change_is_audited(api: Api, admin: str) -> None:
    mentor_id, _ = await api.user(admin, "a1@example.org", "mentor")
    mentee_id, _ = await api.user(admin, "a2@example.org", "participant")
    group_id = await api.group(admin)
    await api.enrol(admin, group_id, mentee_id, "participant")
    await api.call("PATCH", f"/api/groups/{group_id}", admin, {"name": "Renamed"})
    await api.call("PATCH", f"/api/users/{mentee_id}", admin, {"display_name": "New name", "password": "new-password"})
    status, pairing = await api.call("POST", "/api/pairings", admin, {"mentor_id": mentor_id, "mentee_id": mentee_id})
    await api.call("DELETE", f"/api/pairings/{pairing['id']}", admin)
    assert await actions(api) == [
        ("user.create", "success"),  # the admin, as the CLI would
        ("user.create", "success"),
        ("user.create", "success"),
        ("group.create", "success"),
        ("group.member.add", "success"),
        ("group.update", "success"),
        ("user.update", "success"),
        ("pairing.create", "success"),
        ("pairing.end", "success"),
    ]
    status, log = await api.call("GET", "/api/audit?limit=3", admin)
    assert status == 200
    assert [e["action"] for e in log["entries"]] == ["pairing.end", "pairing.create", "user.update"]
    assert log["entries"][2]["detail"] == {"fields": ["display_name", "password"]}
    assert "new-password" not in repr(log)


async def test_an_admin_cannot_lock_themselves_out(api: Api, admin: str) -> None:
    status, me = await api.call("GET", "/api/me", admin)
    for change in ({"disabled": True}, {"role": "participant"}):
        status, body = await api.call("PATCH", f"/api/users/{me['id']}", admin, change)
        assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert (await api.call("GET", "/api/me", admin))[1]["role"] == "admin"
