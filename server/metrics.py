"""Prometheus metrics of this process; labels carry route templates and outcomes, never ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """One registry per application, so that several apps in one test process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "haven_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "haven_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.logins = Counter("haven_logins", "Sign-in attempts by outcome.", ["outcome"], registry=self.registry)
        self.ready = Gauge(
            "haven_ready", "1 while the database and Redis (when configured) answer.", registry=self.registry
        )

    def watch_forwarder(self, stats: Callable[[], dict[str, dict[str, int]]]) -> None:
        """Expose the forwarder's own counters (read at each scrape) as haven_forwarder_*."""
        self.registry.register(_ForwarderCollector(stats))

    def watch(self, collector: Any) -> None:
        """Expose another collector's metrics (read at each scrape) from this registry."""
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


_FORWARDER_COUNTERS = {
    "packets_forwarded": "RTP packets sent on to subscribers.",
    "bytes_forwarded": "Bytes of RTP sent on to subscribers.",
    "packets_dropped": "Packets a subscriber's full socket could not take.",
    "dropped_on_arrival": "Packets from publishers dropped because the forwarder was too far behind.",
    "retransmitted": "Packets re-sent to answer a subscriber's NACK.",
    "keyframe_requests": "Key frame requests (PLI) sent to publishers.",
}
_FORWARDER_GAUGES = {"rooms": "Rooms whose media this forwarder serves.", "members": "Members connected to it."}


class _ForwarderCollector:
    def __init__(self, stats: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Any]:
        workers = self.stats()
        for name, text in _FORWARDER_COUNTERS.items():
            counter = CounterMetricFamily(f"haven_forwarder_{name}", text, labels=["worker"])
            for worker, values in workers.items():
                counter.add_metric([worker], values.get(name, 0))
            yield counter
        for name, text in _FORWARDER_GAUGES.items():
            gauge = GaugeMetricFamily(f"haven_forwarder_{name}", text, labels=["worker"])
            for worker, values in workers.items():
                gauge.add_metric([worker], values.get(name, 0))
            yield gauge
