"""What a node counts of its live side, for ``/metrics``: plain numbers kept on the hot path at the cost of an
addition, read by the exporter at each scrape. Labels are event names and outcome codes, never an id."""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass, field

# Upper bounds (seconds) of the acknowledgement-time buckets.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, count at or below it) for each bucket and +Inf, as Prometheus exposes them."""
        running, rows = 0, []
        for bound, count in zip([*map(str, BUCKETS), "+Inf"], self.counts, strict=True):
            running += count
            rows.append((bound, running))
        return rows


@dataclass
class SignalingStats:
    # (event, outcome) -> how many; the outcome is "ok", a join's status, or the refusal's code.
    events: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    ack_seconds: dict[str, Histogram] = field(default_factory=dict)
    slow_clients_dropped: int = 0

    def answered(self, event: str, outcome: str, seconds: float) -> None:
        self.events[(event, outcome)] += 1
        histogram = self.ack_seconds.get(event)
        if histogram is None:
            histogram = self.ack_seconds[event] = Histogram()
        histogram.observe(seconds)
