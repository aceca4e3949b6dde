"""The live side's figures as Prometheus metrics, read at each scrape: connections, rooms and members on this node,
events answered (by event and outcome) with their acknowledgement times, deliveries, admission, clients dropped for
not reading, Redis fallback, and the database pool. Labels are event names and outcome codes only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy.ext.asyncio import AsyncEngine

from signaling.admission import Admission
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

    def _admission(self, admissions: dict[str, Admission]) -> Iterator[Any]:
        """Per kind (``request``, ``connect``): what is in flight and waiting, and admission's decisions."""
        in_flight = GaugeMetricFamily("haven_admission_in_flight", "Being worked on.", labels=["kind"])
        waiting = GaugeMetricFamily("haven_admission_waiting", "Waiting for a slot.", labels=["kind"])
        decisions = {
            name: CounterMetricFamily(f"haven_admission_{name}", f"Requests or connects {name}.", labels=["kind"])
            for name in ("admitted", "queued", "refused", "abandoned")
        }
        for kind, admission in admissions.items():
            in_flight.add_metric([kind], admission.in_flight)
            waiting.add_metric([kind], admission.waiting)
            for name, family in decisions.items():
                family.add_metric([kind], getattr(admission.counts, name))
        yield in_flight
        yield waiting
        yield from decisions.values()

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
        yield from self._admission({"request": namespace.admission, "connect": namespace.connect_admission})
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
