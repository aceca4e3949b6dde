"""The sign-in throttle: blocks after repeated failures, forgets with time, stays bounded."""

from __future__ import annotations

from server.login_throttle import LoginThrottle


def test_blocks_after_the_limit_and_forgets_after_the_window() -> None:
    throttle = LoginThrottle(max_failures=3, window_seconds=60)
    keys = ["account:a", "address:1"]
    for second in range(3):
        assert not throttle.blocked(keys, second)
        throttle.failed(keys, second)
    assert throttle.blocked(keys, 3)
    assert throttle.blocked(["address:1"], 3)  # the same address trying another account
    assert not throttle.blocked(["account:b", "address:2"], 3)
    assert not throttle.blocked(keys, 61)


def test_success_clears_the_account_but_not_the_address() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=60)
    throttle.failed(["account:a", "address:1"], 0)
    throttle.failed(["account:a", "address:1"], 1)
    throttle.succeeded("account:a")
    assert not throttle.blocked(["account:a"], 2)
    assert throttle.blocked(["address:1"], 2)


def test_memory_stays_bounded() -> None:
    throttle = LoginThrottle(max_failures=2, window_seconds=60, max_keys=100)
    for n in range(1000):
        throttle.failed([f"address:{n}"], 0)
    assert len(throttle._failures) == 100
