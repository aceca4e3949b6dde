"""A group's agreement over REST: versions set by facilitators and administrators, accepted by members."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.db.models import AuditEntry, Consent, GroupAgreement
from tests.support.api import Api


async def setup(api: Api, admin: str) -> tuple[str, str, str, str]:
    """A group with a facilitator and a participant, and someone outside it: (group, fac, participant, outsider)."""
    group = await api.group(admin)
    fac_id, fac = await api.user(admin, "fac@example.org", "facilitator", "Fran")
    pip_id, pip = await api.user(admin, "pip@example.org", "participant", "Pip")
    _, out = await api.user(admin, "out@example.org", "participant", "Out")
    await api.enrol(admin, group, fac_id, "facilitator")
    await api.enrol(admin, group, pip_id, "participant")
    return group, fac, pip, out


async def versions(api: Api) -> list[int]:
    async with api.db() as session:
        return list((await session.execute(select(GroupAgreement.version).order_by(GroupAgreement.version))).scalars())


async def test_versions_are_set_by_facilitators_and_admins_and_read_by_members(api: Api, admin: str) -> None:
    group, fac, pip, out = await setup(api, admin)
    path = f"/api/groups/{group}/agreement"
    status, body = await api.call("GET", path, pip)
    assert status == 200
    assert body["version"] is None
    assert body["text"] is None
    assert body["accepted"] is True

    status, body = await api.call("PUT", path, fac, {"text": "Confidential.\nBe kind."})
    assert status == 200
    assert body["version"] == 1
    status, body = await api.call("PUT", path, admin, {"text": "Confidential. Phones away."})
    assert status == 200
    assert body["version"] == 2

    status, body = await api.call("GET", path, pip)
    assert status == 200
    assert (body["version"], body["text"], body["accepted"], body["required"]) == (
        2,
        "Confidential. Phones away.",
        False,
        True,
    )
    status, body = await api.call("GET", path, fac)
    assert status == 200
    assert body["required"] is False

    status, body = await api.call("PUT", path, pip, {"text": "My own rules."})
    assert status == 403
    assert body["error"]["code"] == "not_authorized"
    for token in (out,):
        assert (await api.call("GET", path, token))[0] == 404
        assert (await api.call("PUT", path, token, {"text": "x"}))[0] == 404
    assert (await api.call("GET", f"/api/groups/{uuid.uuid4()}/agreement", admin))[0] == 404
    assert await versions(api) == [1, 2]

    async with api.db() as session:
        details = list(
            (await session.execute(select(AuditEntry.detail).where(AuditEntry.action == "agreement.update"))).scalars()
        )
    assert details == [{"version": 1}, {"version": 2}]


async def test_bad_agreement_text_is_refused_and_nothing_changes(api: Api, admin: str) -> None:
    group, fac, _, _ = await setup(api, admin)
    path = f"/api/groups/{group}/agreement"
    for body in ({"text": ""}, {"text": "   \n "}, {"text": "x" * 20_001}, {}, {"text": 5}, {"text": "ok", "v": 1}):
        status, answer = await api.call("PUT", path, fac, body)
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), body
    status, _ = await api.call("PUT", path, fac, {"text": "y" * 20_000})
    assert status == 200
    assert await versions(api) == [1]


async def test_accepting_the_current_version_only(api: Api, admin: str) -> None:
    group, fac, pip, out = await setup(api, admin)
    path = f"/api/groups/{group}/agreement"
    accept = f"{path}/accept"
    status, body = await api.call("POST", accept, pip, {"version": 1})
    assert status == 409
    assert body["error"]["code"] == "conflict"
    await api.call("PUT", path, fac, {"text": "One."})
    await api.call("PUT", path, fac, {"text": "Two."})

    for stale in (1, 3):
        status, body = await api.call("POST", accept, pip, {"version": stale})
        assert status == 409
        assert body["error"]["code"] == "conflict"
    for bad in ({"version": "2"}, {"version": 0}, {"version": True}, {}):
        status, body = await api.call("POST", accept, pip, bad)
        assert status == 400, (bad, body)
    assert (await api.call("POST", accept, out, {"version": 2}))[0] == 404

    status, body = await api.call("POST", accept, pip, {"version": 2})
    assert status == 200
    assert body["accepted"] is True
    assert body["version"] == 2
    first = body["accepted_at"]
    status, body = await api.call("POST", accept, pip, {"version": 2})
    assert status == 200
    assert body["accepted_at"] == first
    status, body = await api.call("GET", path, pip)
    assert body["accepted"] is True
    assert body["required"] is False

    async with api.db() as session:
        consents = list((await session.execute(select(Consent.agreement_version))).scalars())
        accepted = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "agreement.accept")
        )
    assert consents == ["2"]
    assert accepted == 1

    await api.call("PUT", path, fac, {"text": "Three."})
    status, body = await api.call("GET", path, pip)
    assert (body["version"], body["accepted"], body["required"]) == (3, False, True)
