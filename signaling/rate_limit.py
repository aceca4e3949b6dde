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
    """Protocol violations and refused floods on one connection; past ``limit`` standing strikes the connection
    is dropped. One strike is forgiven every ``forgive_seconds``, so an honest client's rare slip never adds up."""

    limit: int = 20
    forgive_seconds: float = 10.0
    count: int = 0
    since: float = 0.0

    def add(self, now: float) -> bool:
        """Count one at ``now``; True when the connection has used up its allowance."""
        if self.count:
            forgiven = int((now - self.since) // self.forgive_seconds)
            if forgiven > 0:
                self.count = max(0, self.count - forgiven)
                self.since += forgiven * self.forgive_seconds
        if not self.count:
            self.since = now
        self.count += 1
        return self.count > self.limit
