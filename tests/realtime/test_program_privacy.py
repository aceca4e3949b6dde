"""A member's words to their facilitators (agreement text, check-in and support notes) never reach the logs or the
audit log, even at debug level."""

from __future__ import annotations

from sqlalchemy import select

from server.db.models import AuditEntry
from tests.realtime.conftest import Cohort
from tests.support.logs import Collect

AGREEMENT = "We keep what is said here in this room (agreement-7f3a)"
CHECKIN_NOTE = "couldn't sleep, cravings all night (checkin-91bd)"
SUPPORT_NOTE = "please call me after, it is bad today (support-c02e)"


async def test_notes_and_agreements_stay_out_of_logs_and_audit(cohort: Cohort, debug_log: Collect) -> None:
    group = f"/api/groups/{cohort.group_id}"
    status, body = await cohort.api.call("PUT", f"{group}/agreement", cohort.facilitator.token, {"text": AGREEMENT})
    assert status == 200, body
    participant = cohort.participants[0]
    _, refused = await cohort.enter(participant)
    assert refused["error"]["code"] == "agreement_required"
    accepted = await cohort.api.call(
        "POST", f"{group}/agreement/accept", participant.token, {"version": body["version"]}
    )
    assert accepted[0] == 200
    fac, _ = await cohort.enter(cohort.facilitator)
    peer, ack = await cohort.enter(participant)
    assert ack["status"] == "waiting"
    room = {"room_id": cohort.group_id}
    assert (await peer.call("lobby:checkin", {**room, "rating": 1, "note": CHECKIN_NOTE}))["ok"]
    assert (await fac.next("lobby:checkin"))["note"] == CHECKIN_NOTE
    requested = await peer.call("support:request", {**room, "note": SUPPORT_NOTE})
    assert requested["ok"], requested
    assert (await fac.next("support:requested"))["note"] == SUPPORT_NOTE
    assert (await fac.call("support:acknowledge", {**room, "id": requested["id"]}))["ok"]
    status, read = await cohort.api.call("GET", f"{group}/checkins", cohort.facilitator.token)
    assert status == 200
    assert [c["note"] for c in read["checkins"]] == [CHECKIN_NOTE]

    written = "\n".join(debug_log.lines)
    assert '"route": "/api/groups/{id}/checkins"' in written  # the server's lines are the ones collected
    async with cohort.api.db() as session:
        audited = repr([(a.action, a.detail) for a in (await session.execute(select(AuditEntry))).scalars()])
    assert "checkin.create" in audited
    assert "support.request" in audited
    for secret in ("agreement-7f3a", "checkin-91bd", "support-c02e", "cravings", "call me after"):
        assert secret not in written
        assert secret not in audited
