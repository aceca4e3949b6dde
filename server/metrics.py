"""Prometheus metrics of this process; labels carry route templates and outcomes, never ids."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
