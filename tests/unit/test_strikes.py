"""Strikes against a connection decay, so an honest client's rare slips never add up to a disconnect."""

from __future__ import annotations

from signaling.rate_limit import Strikes


def test_a_burst_past_the_limit_uses_up_the_allowance() -> None:
    strikes = Strikes(limit=20, forgive_seconds=10.0)
    assert not any(strikes.add(0.0) for _ in range(20))
    assert strikes.add(0.0)


def test_one_strike_is_forgiven_every_period() -> None:
    strikes = Strikes(limit=20, forgive_seconds=10.0)
    for _ in range(20):
        strikes.add(0.0)
    # 30 s later three are forgiven: three more fit, the fourth does not.
    assert not any(strikes.add(30.0) for _ in range(3))
    assert strikes.add(30.0)


def test_slips_rarer_than_the_forgiving_never_disconnect() -> None:
    strikes = Strikes(limit=20, forgive_seconds=10.0)
    assert not any(strikes.add(float(second)) for second in range(0, 3600, 11))
