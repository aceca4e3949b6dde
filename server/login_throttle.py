"""Slows down password guessing: too many failed sign-ins for one account or from one address, then 429.

An attempt is counted before its password is checked (a reservation), so a burst of concurrent guesses cannot all
be evaluated before the first of them is counted. A reservation that turns out to be a failure stays as one; one
that does not (a success, or an error on our side) is taken back. Counts live in this process
(``MemoryLoginThrottle``) or in Redis, shared by every node (``server.login_throttle_redis``).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_FAILURES = 10
WINDOW_SECONDS = 900.0
# A reservation not settled within this long belongs to an attempt that never finished (its node stopped): it no
# longer counts. Sign-in gives up long before (database timeouts are seconds).
PENDING_SECONDS = 60.0
# The wait announced when a key is full only because of attempts still being checked: they settle in moments.
PENDING_WAIT_SECONDS = 1


class LoginThrottle(Protocol):
    """Failed sign-ins per key (an account's digest, a client address) in a sliding window.

    ``now`` is wall-clock time in seconds (``time.time()``), the one clock every node shares.
    """

    async def reserve(self, keys: Sequence[str], attempt: str, now: float) -> int:
        """Count ``attempt`` under every key and return 0; or, when a key has reached the limit (failures and
        attempts still being checked), count nothing and return the whole seconds (at least 1) until it ends."""
        ...

    async def settle(self, keys: Sequence[str], attempt: str, failed: bool) -> None:
        """End ``attempt``'s reservation: it stays as a failure when ``failed``, otherwise it is taken back."""
        ...

    async def clear(self, key: str) -> None:
        """Forget every failure under ``key`` (a successful sign-in clears its account's)."""
        ...


def wait_seconds(failures: Sequence[float], counted: int, max_failures: int, window: float, now: float) -> int:
    """Whole seconds until a key with ``counted`` entries, of which ``failures`` (times, oldest first) are settled
    failures, falls below the limit; 0 when it is below already."""
    if counted < max_failures:
        return 0
    if len(failures) < max_failures:
        return PENDING_WAIT_SECONDS
    # The block ends when the failure that keeps the count at the limit leaves the window.
    ends = failures[len(failures) - max_failures] + window
    return max(1, math.ceil(ends - now))


@dataclass(slots=True)
class _Entry:
    at: float
    attempt: str
    failed: bool  # False while the attempt is still being checked


class MemoryLoginThrottle:
    """Counts in this process: bounded in keys (the least recently counted go first) and in entries per key
    (a key at the limit takes no more). Every method runs without yielding, so a reservation is atomic."""

    def __init__(
        self, max_failures: int = MAX_FAILURES, window_seconds: float = WINDOW_SECONDS, max_keys: int = 10_000
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._entries: OrderedDict[str, list[_Entry]] = OrderedDict()

    def _current(self, key: str, now: float) -> list[_Entry]:
        entries = [
            entry
            for entry in self._entries.get(key, ())
            if entry.at > now - self.window_seconds and (entry.failed or entry.at > now - PENDING_SECONDS)
        ]
        if entries:
            self._entries[key] = entries
        else:
            self._entries.pop(key, None)
        return entries

    def _wait(self, key: str, now: float) -> int:
        entries = self._current(key, now)
        failures = sorted(entry.at for entry in entries if entry.failed)
        return wait_seconds(failures, len(entries), self.max_failures, self.window_seconds, now)

    async def reserve(self, keys: Sequence[str], attempt: str, now: float) -> int:
        wait = max((self._wait(key, now) for key in keys), default=0)
        if wait:
            return wait
        for key in keys:
            self._entries.setdefault(key, []).append(_Entry(now, attempt, failed=False))
            self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return 0

    async def settle(self, keys: Sequence[str], attempt: str, failed: bool) -> None:
        for key in keys:
            entries = self._entries.get(key, [])
            for entry in entries:
                if entry.attempt == attempt and not entry.failed:
                    if failed:
                        entry.failed = True
                    else:
                        entries.remove(entry)
                    break
            if not entries:
                self._entries.pop(key, None)

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def keys_held(self) -> int:
        """How many keys have counts (for tests and diagnostics)."""
        return len(self._entries)
