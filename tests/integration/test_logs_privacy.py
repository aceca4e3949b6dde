"""What Haven logs while serving holds no email, password, token, name or concrete id, even at debug level."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.logs import Collect


async def test_serving_logs_no_personal_data(api: Api, admin: str, debug_log: Collect) -> None:
    user_id, token = await api.user(admin, "private.person@example.org", "participant", "Private Person")
    group_id = await api.group(admin, "Thursday recovery group")
    await api.enrol(admin, group_id, user_id, "participant")
    await api.call("POST", "/api/auth/login", json={"email": "private.person@example.org", "password": "wrong-guess"})
    await api.call("GET", f"/api/groups/{group_id}", token)
    written = "\n".join(debug_log.lines)
    assert '"route": "/api/groups/{id}"' in written
    for secret in ("private.person", "Private Person", "wrong-guess", "Thursday recovery", token, user_id, group_id):
        assert secret not in written
