"""Slows down password guessing: too many failed sign-ins for one account or from one address, then 429."""

from __future__ import annotations

from collections import OrderedDict, deque


class LoginThrottle:
    """Sliding-window failure counts per key, bounded in keys and in entries per key."""

    def __init__(self, max_failures: int = 10, window_seconds: float = 900.0, max_keys: int = 10_000) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def blocked(self, keys: list[str], now: float) -> bool:
        return any((times := self._recent(key, now)) is not None and len(times) >= self.max_failures for key in keys)

    def failed(self, keys: list[str], now: float) -> None:
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.max_failures)
            self._failures.move_to_end(key)
            times.append(now)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
