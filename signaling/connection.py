"""What one node knows about each of its own connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from signaling.rate_limit import Strikes, TokenBucket
from signaling.seams import Account, Grant

EVENTS_PER_SECOND = 20.0
EVENT_BURST = 60.0
# ICE candidates come in bursts (a browser in a room of 15 trickles many per peer connection): counted apart.
CANDIDATES_PER_SECOND = 50.0
CANDIDATE_BURST = 200.0
# How long before its token expires a connection is told (halfway through a token's life if that is sooner).
EXPIRY_NOTICE_SECONDS = 60.0


@dataclass
class LocalConnection:
    sid: str
    account: Account
    connected_at: float
    # Until when the connection's token is good (seconds since the epoch), and the account's session epoch then.
    expires_at: float = float("inf")
    epoch: int = 0
    # When to send ``session:expiring`` (None once sent for the current token).
    notice_at: float | None = None
    # When the account was last read from the database (at connect, at a refresh, at a privileged act).
    checked_at: float = 0.0
    # When the connection is next sent fresh ICE servers, if it is then in a room or a call.
    ice_refresh_at: float = float("inf")
    # The group room (or its lobby) this connection joined through this node, if any.
    room_id: str | None = None
    # What chat last learned of this connection's place in a room: (member room, entry stamp, session id), good
    # while the connection's entry into that Socket.IO room keeps its stamp (``signaling.room_entries``).
    chat_entry: tuple[str, int, str | None] | None = None
    # The call this connection last placed, answered or resumed (it may have ended since: always check).
    call_id: str | None = None
    # The TCP transport under the WebSocket, so a client that stops reading can be cut off at once.
    transport: asyncio.BaseTransport | None = None
    # Set once the connection is being ended by the server (session:ended sent), so it is ended once.
    ending: bool = False
    # Held while the connection enters or leaves a room, so a disconnect (or a second join) arriving meanwhile
    # sees the outcome instead of racing it.
    membership: asyncio.Lock = field(default_factory=asyncio.Lock)
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(EVENTS_PER_SECOND, EVENT_BURST))
    candidates: TokenBucket = field(default_factory=lambda: TokenBucket(CANDIDATES_PER_SECOND, CANDIDATE_BURST))
    strikes: Strikes = field(default_factory=Strikes)

    def granted(self, grant: Grant, now: float) -> None:
        """Take the lifetime of a (new) token: expiry, epoch, and when to warn before it ends."""
        self.account = grant.account
        self.expires_at = grant.expires_at
        self.epoch = grant.epoch
        lead = min(EXPIRY_NOTICE_SECONDS, (grant.expires_at - grant.issued_at) / 2)
        self.notice_at = grant.expires_at - lead
        self.checked_at = now
