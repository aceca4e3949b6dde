"""The lifetime of each local connection's sign-in.

A connection lives no longer than its token: it is told a minute before (``session:expiring``), may hand a fresh
token (``session:refresh``), and is ended with ``session:ended`` ``token_expired`` otherwise. The account is read
again before privileged acts when the last read is older than RECHECK_SECONDS, and every connection of this node
is re-read in batches every RECHECK_SECONDS, so a change whose notice was lost still ends the access. Long
sessions get fresh TURN credentials (``rtc:ice_servers``) before the old ones run out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import socketio

from signaling import wire
from signaling.access import ENDED_MESSAGES, ended
from signaling.acks import Ack, SignalingError, ok
from signaling.connection import LocalConnection
from signaling.control import AccessChange
from signaling.seams import Accounts, AccountState, IceServers

log = logging.getLogger("haven.sessions")

RECHECK_SECONDS = 30.0
RECHECK_BATCH = 500
EndAccess = Callable[[str, AccessChange], Awaitable[None]]
# When one account's connections disagree (a refreshed one and an old one), the gravest change is the one told.
SEVERITY = (AccessChange.DISABLED, AccessChange.SIGNED_OUT, AccessChange.ROLE_CHANGED)


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def change_for(conn: LocalConnection, state: AccountState | None) -> AccessChange | None:
    """What changed about the account since the connection's grant, if anything that ends it."""
    if state is None or not state.active:
        return AccessChange.DISABLED
    if state.epoch != conn.epoch:
        return AccessChange.SIGNED_OUT
    if state.role != conn.account.role:
        return AccessChange.ROLE_CHANGED
    return None


class Sessions:
    def __init__(
        self,
        *,
        sio: socketio.AsyncServer,
        accounts: Accounts,
        connections: dict[str, LocalConnection],
        end_access: EndAccess,
        ice_servers: IceServers,
        ice_refresh_seconds: float | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sio = sio
        self.accounts = accounts
        self.connections = connections
        self.end_access = end_access
        self.ice_servers = ice_servers
        self.ice_refresh_seconds = ice_refresh_seconds
        self.clock = clock
        self.next_recheck = clock() + RECHECK_SECONDS
        # Set at shutdown: the loop ends at its next turn even if a cancel was lost on the way.
        self.stopping = False

    def ice_due(self, connected_at: float) -> float:
        """When a connection made at ``connected_at`` first gets fresh ICE servers (never without TURN)."""
        return float("inf") if self.ice_refresh_seconds is None else connected_at + self.ice_refresh_seconds

    # -- events ------------------------------------------------------------------------------------------

    async def refresh(self, conn: LocalConnection, body: wire.SessionRefresh) -> Ack:
        grant = await self.accounts.grant(body.token)
        if grant is None or grant.account.user_id != conn.account.user_id:
            raise SignalingError("not_authenticated", "That token is not valid for this connection.")
        if grant.account.role != conn.account.role:
            await self.end_access(conn.account.user_id, AccessChange.ROLE_CHANGED)
            raise SignalingError("not_authenticated", ENDED_MESSAGES[AccessChange.ROLE_CHANGED.value])
        conn.granted(grant, self.clock())
        return ok(expires_at=iso(grant.expires_at))

    async def ice(self, conn: LocalConnection, body: wire.NoFields) -> Ack:
        return ok(**self._ice(conn.account.user_id))

    def _ice(self, user_id: str) -> dict[str, object]:
        return {"ice_servers": self.ice_servers(user_id), "ice_transport_policy": self.ice_servers.transport_policy}

    async def verify(self, conn: LocalConnection) -> None:
        """Before a privileged act: the account as it stands now, read again if the last read is not recent."""
        now = self.clock()
        if now - conn.checked_at < RECHECK_SECONDS:
            return
        user_id = conn.account.user_id
        states = await self.accounts.states([user_id])
        conn.checked_at = now
        change = change_for(conn, states.get(user_id))
        if change is not None:
            await self.end_access(user_id, change)
            raise SignalingError("not_authenticated", ENDED_MESSAGES[change.value])

    # -- time --------------------------------------------------------------------------------------------

    async def run(self, interval: float) -> None:
        while not self.stopping:
            try:
                await self.tick(self.clock())
            except Exception:
                log.exception("session watch failed")
            await asyncio.sleep(interval)

    async def tick(self, now: float) -> None:
        for conn in list(self.connections.values()):
            if conn.ending:
                continue
            if now >= conn.expires_at:
                await self.expire(conn)
                continue
            if conn.notice_at is not None and now >= conn.notice_at:
                conn.notice_at = None
                await self.sio.emit("session:expiring", {"expires_at": iso(conn.expires_at)}, to=conn.sid)
            if self.ice_refresh_seconds is not None and now >= conn.ice_refresh_at:
                conn.ice_refresh_at = now + self.ice_refresh_seconds
                if conn.room_id is not None or conn.call_id is not None:
                    await self.sio.emit("rtc:ice_servers", self._ice(conn.account.user_id), to=conn.sid)
        if now >= self.next_recheck:
            self.next_recheck = now + RECHECK_SECONDS
            await self.recheck(now)

    async def expire(self, conn: LocalConnection) -> None:
        conn.ending = True
        await self.sio.emit("session:ended", ended("token_expired"), to=conn.sid)
        await self.sio.disconnect(conn.sid)

    async def recheck(self, now: float) -> None:
        """Read every local connection's account again, in batches; end those whose access changed."""
        by_user: dict[str, list[LocalConnection]] = {}
        for conn in list(self.connections.values()):
            if not conn.ending:
                by_user.setdefault(conn.account.user_id, []).append(conn)
        user_ids = list(by_user)
        for start in range(0, len(user_ids), RECHECK_BATCH):
            batch = user_ids[start : start + RECHECK_BATCH]
            try:
                states = await self.accounts.states(batch)
            except Exception:
                log.warning("accounts could not be re-read; trying again at the next check")
                return
            for user_id in batch:
                changes = {change_for(conn, states.get(user_id)) for conn in by_user[user_id]}
                for conn in by_user[user_id]:
                    conn.checked_at = now
                change = min((c for c in changes if c is not None), key=SEVERITY.index, default=None)
                if change is not None:
                    await self.end_access(user_id, change)
