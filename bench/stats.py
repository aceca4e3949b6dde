"""Latency summaries: nearest-rank percentiles over samples in seconds, reported in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100): the smallest sample with at least p% at or below it."""
    if not samples:
        raise ValueError("no samples")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples_s: Sequence[float]) -> dict[str, Any]:
    """Count, p50, p90, p99, max and mean in milliseconds (None when there are no samples)."""
    if not samples_s:
        return {"count": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "count": len(samples_s),
        "p50_ms": ms(percentile(samples_s, 50)),
        "p90_ms": ms(percentile(samples_s, 90)),
        "p99_ms": ms(percentile(samples_s, 99)),
        "max_ms": ms(max(samples_s)),
        "mean_ms": ms(sum(samples_s) / len(samples_s)),
    }
