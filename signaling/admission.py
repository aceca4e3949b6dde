"""Bounded work in flight on a node: what it cannot take now waits a little in a bounded queue, or is refused at
once with ``busy`` and a hint of when to come back.

Admission sits before anything that holds a database connection or a Redis round trip, so a burst never becomes a
pile of half-done requests waiting inside the pool (and a saturated event loop, where healthy Redis and PostgreSQL
replies sit unread until they time out and look like an outage). A request that waited is dropped if its client left
meanwhile; one that cannot be admitted within ``wait_seconds`` is refused, so an answer always comes well within a
client's timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Bounds of the retry hint, in milliseconds.
MIN_RETRY_MS = 100
MAX_RETRY_MS = 5_000


@dataclass
class AdmissionCounts:
    admitted: int = 0
    queued: int = 0
    refused: int = 0
    abandoned: int = 0


@dataclass
class Admission:
    limit: int
    queue_limit: int
    wait_seconds: float
    clock: Callable[[], float] = time.monotonic
    in_flight: int = 0
    counts: AdmissionCounts = field(default_factory=AdmissionCounts)
    _waiters: collections.deque[asyncio.Future[None]] = field(default_factory=collections.deque)
    # Smoothed time a piece of admitted work takes, for the retry hint.
    _service_seconds: float = 0.01

    def __post_init__(self) -> None:
        if self.limit < 1 or self.queue_limit < 0 or self.wait_seconds < 0:
            raise ValueError("admission needs a positive limit and a non-negative queue and wait")

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def enter(self) -> bool:
        """Take a slot (True), waiting at most ``wait_seconds`` in the queue; False: refused, nothing taken."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            self.counts.admitted += 1
            return True
        if len(self._waiters) >= self.queue_limit:
            self.counts.refused += 1
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        self.counts.queued += 1
        try:
            async with asyncio.timeout(self.wait_seconds):
                await turn
        except (TimeoutError, asyncio.CancelledError) as exc:
            if turn.done() and not turn.cancelled():
                # The slot was handed over just as the wait ended: it is ours.
                if isinstance(exc, asyncio.CancelledError):
                    self.leave(0.0)
                    raise
                self.counts.admitted += 1
                return True
            turn.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(turn)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.counts.refused += 1
            return False
        self.counts.admitted += 1
        return True

    def leave(self, took_seconds: float) -> None:
        """Give the slot back (to the next in the queue, if any); ``took_seconds`` is how long the work took."""
        self._service_seconds += 0.1 * (took_seconds - self._service_seconds)
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on: in_flight stays
                return
        self.in_flight -= 1

    def abandoned(self) -> None:
        """Admitted work whose client had gone by then, dropped undone."""
        self.counts.abandoned += 1

    def retry_after_ms(self) -> int:
        """About how long until what is in flight and queued now has drained."""
        backlog = (self.in_flight + len(self._waiters)) * self._service_seconds / self.limit
        return max(MIN_RETRY_MS, min(MAX_RETRY_MS, round(2000 * backlog)))
