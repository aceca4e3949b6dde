"""What Haven logs while serving holds no email, password, token, name or concrete id, even at debug level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from server.logs import JsonFormatter, configure_logging
from tests.support.api import Api


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging("DEBUG")
    collect = Collect()
    root.addHandler(collect)
    yield collect
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


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
