"""What one node knows about each of its own connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from signaling.rate_limit import Strikes, TokenBucket
from signaling.seams import Account

EVENTS_PER_SECOND = 20.0
EVENT_BURST = 60.0


@dataclass
class LocalConnection:
    sid: str
    account: Account
    connected_at: float
    # The group room (or its lobby) this connection joined through this node, if any.
    room_id: str | None = None
    # The call this connection last placed, answered or resumed (it may have ended since: always check).
    call_id: str | None = None
    # The TCP transport under the WebSocket, so a client that stops reading can be cut off at once.
    transport: asyncio.BaseTransport | None = None
    # Held while the connection enters or leaves a room, so a disconnect (or a second join) arriving meanwhile
    # sees the outcome instead of racing it.
    membership: asyncio.Lock = field(default_factory=asyncio.Lock)
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(EVENTS_PER_SECOND, EVENT_BURST))
    strikes: Strikes = field(default_factory=Strikes)
