"""Per-connection token buckets: a burst is fine, a flood is refused and, if it goes on, disconnected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` tokens a second up to ``burst``; time is passed in."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


@dataclass
class Strikes:
    """Protocol violations and refused floods on one connection; past ``limit`` the connection is dropped."""

    limit: int = 20
    count: int = 0

    def add(self) -> bool:
        """Count one; True when the connection has used up its allowance."""
        self.count += 1
        return self.count > self.limit
