"""What a forwarder worker has done, for the metrics endpoint: packets and bytes forwarded, dropped on the way
out or in, re-sent, and key frames asked of publishers."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class Counters:
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    packets_dropped: int = 0  # a subscriber's socket could not take them
    dropped_on_arrival: int = 0  # the forwarder was too far behind to take them from a publisher
    retransmitted: int = 0
    keyframe_requests: int = 0

    def forwarded(self, packets: int, size: int, dropped: int) -> None:
        self.packets_forwarded += packets
        self.bytes_forwarded += size
        self.packets_dropped += dropped

    def snapshot(self) -> dict[str, int]:
        return asdict(self)
