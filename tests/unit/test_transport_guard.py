"""Which Socket.IO event packets reach the namespace: lists headed by a name that Socket.IO does not keep."""

from __future__ import annotations

import pytest

from signaling.transport import RESERVED_EVENTS, event_problem


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_reserved_names_are_refused(name: str) -> None:
    assert event_problem([name]) is not None
    assert event_problem([name, {"token": "x"}]) is not None


@pytest.mark.parametrize("data", [[], {}, "room:join", None, [5, {}], [None], [["room:join"]]])
def test_events_that_are_not_a_named_list_are_refused(data: object) -> None:
    assert event_problem(data) is not None


def test_ordinary_events_pass() -> None:
    assert event_problem(["room:join", {"room_id": "x"}]) is None
    assert event_problem(["no:such-event"]) is None


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_payloads_nested_past_the_limit_are_refused() -> None:
    # The payload sits inside the event's list, one level down.
    assert event_problem(["chat:send", nested(31)]) is None
    assert event_problem(["chat:send", nested(40)]) is not None
    assert event_problem(["chat:send", [[[[]]]] * 3]) is None
