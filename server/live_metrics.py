"""The live side's figures as Prometheus metrics, read at each scrape: connections, rooms and members on this node,
events answered (by event and outcome) with their acknowledgement times, deliveries, admission, clients dropped for
not reading, Redis fallback, and the database pool. Labels are event names and outcome codes only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy.ext.asyncio import AsyncEngine

from signaling.fallback_store import FallbackRoomStore
from signaling.mount import Signaling


class LiveCollector:
    def __init__(self, live: Signaling, engine: AsyncEngine) -> None:
        self.live = live
        self.engine = engine

    def _gauge(self, name: str, text: str, value: float) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, text, value=value)

    def _counter(self, name: str, text: str, value: float) -> CounterMetricFamily:
        return CounterMetricFamily(name, text, value=value)

    def collect(self) -> Iterator[Any]:
        namespace = self.live.namespace
        connections = list(namespace.connections.values())
        in_rooms = [c.room_id for c in connections if c.room_id is not None]
        yield self._gauge("haven_sockets", "Socket.IO connections signed in on this node.", len(connections))
        yield self._gauge("haven_live_rooms", "Group rooms this node's connections are in.", len(set(in_rooms)))
        yield self._gauge("haven_room_members", "This node's connections in a group room or its lobby.", len(in_rooms))
        store = self.live.store
        down = isinstance(store, FallbackRoomStore) and store.down
        yield self._gauge("haven_redis_fallback", "1 while rooms run on this node's copies (Redis away).", int(down))
        pool = self.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        if checked_out is not None:
            yield self._gauge("haven_db_pool_in_use", "Database connections checked out now.", checked_out())
        admission = namespace.admission
        yield self._gauge("haven_admission_in_flight", "Requests and connects being worked on.", admission.in_flight)
        yield self._gauge("haven_admission_waiting", "Requests and connects waiting for a slot.", admission.waiting)
        counts = admission.counts
        for name, value in (
            ("admitted", counts.admitted),
            ("queued", counts.queued),
            ("refused", counts.refused),
            ("abandoned", counts.abandoned),
        ):
            yield self._counter(f"haven_admission_{name}", f"Requests and connects {name} by admission.", value)
        stats = namespace.stats
        yield self._counter(
            "haven_slow_clients_dropped",
            "Connections cut off for not reading their output.",
            stats.slow_clients_dropped,
        )
        frames = getattr(self.live.sio.manager, "frames_sent", 0)
        yield self._counter("haven_deliveries", "Events to rooms delivered to this node's connections.", frames)
        events = CounterMetricFamily(
            "haven_signaling_events", "Events answered, by event and outcome.", labels=["event", "outcome"]
        )
        for (event, outcome), value in sorted(stats.events.items()):
            events.add_metric([event, outcome], value)
        yield events
        durations = HistogramMetricFamily(
            "haven_signaling_ack_seconds", "Time from an event's arrival to its acknowledgement.", labels=["event"]
        )
        for event, histogram in sorted(stats.ack_seconds.items()):
            durations.add_metric([event], histogram.cumulative(), histogram.total)
        yield durations
