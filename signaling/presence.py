"""Who is connected where: every node's Socket.IO connections, and the retiring of a dead node's connections.

Each connection carries an expiry that its node's heartbeat pushes forward. A node that stops heartbeating (killed,
frozen, cut off) lets its connections expire; any other node's sweeper then claims them, each exactly once, and
announces their departure. Time is always passed in (``now``, seconds as time.time() gives them); all nodes must use
the same ttl and keep their clocks within well under a ttl of each other.

Redis layout (single Redis, not Cluster: the scripts touch keys named after set members):
``{prefix}conn:{sid}`` hash of user, node and room; ``{prefix}user:{user_id}:conns`` and
``{prefix}node:{node_id}:conns`` sets of sids; ``{prefix}conn-expiry`` sorted set of sid by expiry time;
``{prefix}nodes`` sorted set of node by last heartbeat; ``{prefix}node-alive:{node_id}`` liveness key with a ttl on
Redis's own clock; ``{prefix}receipt:{token}`` the short-lived answer of one remove or claim.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import redis.asyncio

from signaling.room_store import StoreUnavailable, outage_as_unavailable


@dataclass(frozen=True, slots=True)
class Connection:
    """One Socket.IO connection of a user, held by one node, in at most one room (or its lobby)."""

    sid: str  # Socket.IO session id
    user_id: str
    node_id: str
    room_id: str | None = None


class Presence(Protocol):
    node_id: str

    async def add(self, connection: Connection, now: float) -> None:
        """Record a connection of this node, alive until now + ttl unless a heartbeat refreshes it."""
        ...

    async def set_room(self, sid: str, room_id: str | None) -> None:
        """Record the room (or lobby) the connection is in; a no-op if the sid is unknown."""
        ...

    async def remove(self, sid: str) -> Connection | None:
        """Forget a connection; returns what was removed, None if it was not there (or already claimed)."""
        ...

    async def of_user(self, user_id: str, now: float) -> list[Connection]:
        """All nodes' connections of this user that have not expired at `now`."""
        ...

    async def heartbeat(self, now: float) -> None:
        """Refresh this node's liveness and the expiry of every connection this node added (now + ttl)."""
        ...

    async def claim_expired(self, now: float) -> list[Connection]:
        """Remove and return connections whose expiry passed (their node stopped heartbeating, e.g. killed).

        Each expired connection is returned to exactly one caller across all nodes (atomic claim).
        """
        ...

    async def reassert(self, connections: Iterable[Connection], now: float) -> None:
        """Write these (this node's local) connections again, e.g. after Redis restarted empty."""
        ...

    async def live_nodes(self, now: float) -> list[str]:
        """Nodes that heartbeated within the last ttl."""
        ...


def _own(node_id: str, connection: Connection) -> None:
    if connection.node_id != node_id:
        raise ValueError(f"Node {node_id!r} cannot record a connection of node {connection.node_id!r}")


@dataclass(slots=True)
class PresenceRecords:
    """What MemoryPresence instances share: one per process, or one per simulated cluster in tests."""

    connections: dict[str, Connection] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    by_user: dict[str, set[str]] = field(default_factory=dict)
    by_node: dict[str, set[str]] = field(default_factory=dict)
    heartbeats: dict[str, float] = field(default_factory=dict)


class MemoryPresence:
    """Presence in this process (the embedded deployment).

    `ttl_seconds` (default 6.0, about three heartbeats) is how long a connection outlives its node's last heartbeat.
    Instances given the same `records` (default: a new, private one) behave as nodes of one cluster.
    """

    def __init__(self, node_id: str, ttl_seconds: float = 6.0, records: PresenceRecords | None = None) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self.node_id = node_id
        self.ttl_seconds = ttl_seconds
        self.records = PresenceRecords() if records is None else records

    def _put(self, connection: Connection, expiry: float) -> None:
        self._drop(connection.sid)
        records = self.records
        records.connections[connection.sid] = connection
        records.expiry[connection.sid] = expiry
        records.by_user.setdefault(connection.user_id, set()).add(connection.sid)
        records.by_node.setdefault(connection.node_id, set()).add(connection.sid)

    def _drop(self, sid: str) -> Connection | None:
        connection = self.records.connections.pop(sid, None)
        if connection is not None:
            del self.records.expiry[sid]
            _discard(self.records.by_user, connection.user_id, sid)
            _discard(self.records.by_node, connection.node_id, sid)
        return connection

    async def add(self, connection: Connection, now: float) -> None:
        _own(self.node_id, connection)
        self._put(connection, now + self.ttl_seconds)

    async def set_room(self, sid: str, room_id: str | None) -> None:
        connection = self.records.connections.get(sid)
        if connection is not None:
            self.records.connections[sid] = replace(connection, room_id=room_id)

    async def remove(self, sid: str) -> Connection | None:
        return self._drop(sid)

    async def of_user(self, user_id: str, now: float) -> list[Connection]:
        records = self.records
        return [records.connections[sid] for sid in records.by_user.get(user_id, ()) if records.expiry[sid] > now]

    async def heartbeat(self, now: float) -> None:
        self.records.heartbeats[self.node_id] = now
        for sid in self.records.by_node.get(self.node_id, ()):
            self.records.expiry[sid] = now + self.ttl_seconds

    async def claim_expired(self, now: float) -> list[Connection]:
        # A scan, not a heap: the embedded deployment holds few connections, and sweeps every few seconds.
        expired = [sid for sid, expiry in self.records.expiry.items() if expiry <= now]
        claimed = [connection for sid in expired if (connection := self._drop(sid)) is not None]
        dead = [node for node, beat in self.records.heartbeats.items() if beat <= now - self.ttl_seconds]
        for node in dead:
            del self.records.heartbeats[node]
        return claimed

    async def reassert(self, connections: Iterable[Connection], now: float) -> None:
        for connection in connections:
            _own(self.node_id, connection)
            self._put(connection, now + self.ttl_seconds)

    async def live_nodes(self, now: float) -> list[str]:
        return [node for node, beat in self.records.heartbeats.items() if beat > now - self.ttl_seconds]


def _discard(index: dict[str, set[str]], key: str, sid: str) -> None:
    """Take sid out of index[key], dropping the entry once empty so indexes stay bounded."""
    members = index.get(key)
    if members is not None:
        members.discard(sid)
        if not members:
            del index[key]


# Re-adding a sid moves it out of its old user and node sets first, so re-adds and reasserts are idempotent.
_ADD = """
local old = redis.call('HMGET', KEYS[1], 'user', 'node')
if old[1] then redis.call('SREM', ARGV[5] .. 'user:' .. old[1] .. ':conns', ARGV[1]) end
if old[2] then redis.call('SREM', ARGV[5] .. 'node:' .. old[2] .. ':conns', ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'user', ARGV[2], 'node', ARGV[3])
if ARGV[6] then redis.call('HSET', KEYS[1], 'room', ARGV[6]) end
redis.call('SADD', ARGV[5] .. 'user:' .. ARGV[2] .. ':conns', ARGV[1])
redis.call('SADD', ARGV[5] .. 'node:' .. ARGV[3] .. ':conns', ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
"""

_SET_ROOM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] then redis.call('HSET', KEYS[1], 'room', ARGV[1]) else redis.call('HDEL', KEYS[1], 'room') end
return 1
"""

# Shared by remove and claim: take one connection out of every structure, returning its row or nil. A row is
# {sid, user, node, room}, room false when absent; rows travel as JSON (cjson encodes an empty list as {}).
_TAKE = """
local function take(sid, prefix, expiry_key)
  local key = prefix .. 'conn:' .. sid
  local f = redis.call('HMGET', key, 'user', 'node', 'room')
  redis.call('ZREM', expiry_key, sid)
  if not f[1] then return nil end
  redis.call('DEL', key)
  redis.call('SREM', prefix .. 'user:' .. f[1] .. ':conns', sid)
  redis.call('SREM', prefix .. 'node:' .. f[2] .. ':conns', sid)
  return {sid, f[1], f[2], f[3]}
end
"""

# The answer is kept under a receipt for a minute: redis-py resends a command whose reply was lost (it retries on
# timeouts), and the resent call must get the same connections back rather than nothing, or they would be lost.
_REMOVE = (
    _TAKE
    + """
local done = redis.call('GET', KEYS[3])
if done then return done end
local row = take(ARGV[1], ARGV[2], KEYS[2])
local out = row and cjson.encode({row}) or '[]'
redis.call('SET', KEYS[3], out, 'PX', ARGV[3])
return out
"""
)

# Scripts run one at a time: the connections one claim takes are gone before another claim looks, so each
# expired connection goes to exactly one sweeper.
_CLAIM = (
    _TAKE
    + """
local done = redis.call('GET', KEYS[3])
if done then return done end
local rows = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  local row = take(sid, ARGV[3], KEYS[1])
  if row then rows[#rows + 1] = row end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local out = cjson.encode(rows)
redis.call('SET', KEYS[3], out, 'PX', ARGV[4])
return out
"""
)

# A sid another node's sweeper claimed has left this node's set, so a late heartbeat cannot revive it; XX only
# refreshes expiries, it never creates one.
_HEARTBEAT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
local sids = redis.call('SMEMBERS', KEYS[3])
for i = 1, #sids, 500 do
  local args = {}
  for j = i, math.min(i + 499, #sids) do
    args[#args + 1] = ARGV[4]
    args[#args + 1] = sids[j]
  end
  redis.call('ZADD', KEYS[4], 'XX', unpack(args))
end
return #sids
"""

_OF_USER = """
local rows = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], sid))
  if expiry and expiry > tonumber(ARGV[1]) then
    local f = redis.call('HMGET', ARGV[2] .. 'conn:' .. sid, 'user', 'node', 'room')
    if f[1] then rows[#rows + 1] = {sid, f[1], f[2], f[3]} end
  end
end
return cjson.encode(rows)
"""

# Alive by the heartbeat times and by the liveness key, whose ttl runs on Redis's clock: a node whose clock runs
# ahead still drops out within a ttl of its last heartbeat.
_LIVE_NODES = """
local live = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if redis.call('EXISTS', ARGV[2] .. 'node-alive:' .. node) == 1 then live[#live + 1] = node end
end
return live
"""

_CLAIM_BATCH = 500  # connections per claim script, so one sweep never blocks Redis for long
_RECEIPT_MS = 60_000


class RedisPresence:
    """Presence in Redis, shared by every node.

    `prefix` (default ``"haven:"``) starts every key; `ttl_seconds` (default 6.0, about three heartbeats) is how
    long a connection outlives its node's last heartbeat. Connection errors and timeouts raise StoreUnavailable.
    """

    def __init__(
        self, client: redis.asyncio.Redis, node_id: str, prefix: str = "haven:", ttl_seconds: float = 6.0
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        self.node_id = node_id
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._prefix = prefix
        self._expiry_key = f"{prefix}conn-expiry"
        self._nodes_key = f"{prefix}nodes"
        self._add = client.register_script(_ADD)
        self._set_room = client.register_script(_SET_ROOM)
        self._remove = client.register_script(_REMOVE)
        self._claim = client.register_script(_CLAIM)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._of_user = client.register_script(_OF_USER)
        self._live_nodes = client.register_script(_LIVE_NODES)

    def _conn_key(self, sid: str) -> str:
        return f"{self._prefix}conn:{sid}"

    def _receipt_key(self) -> str:
        return f"{self._prefix}receipt:{uuid.uuid4().hex}"

    def _add_call(self, connection: Connection, now: float) -> tuple[list[str], list[str]]:
        _own(self.node_id, connection)
        keys = [self._conn_key(connection.sid), self._expiry_key]
        args = [connection.sid, connection.user_id, connection.node_id, repr(now + self.ttl_seconds), self._prefix]
        if connection.room_id is not None:
            args.append(connection.room_id)
        return keys, args

    async def add(self, connection: Connection, now: float) -> None:
        keys, args = self._add_call(connection, now)
        with outage_as_unavailable():
            await self._add(keys=keys, args=args)

    async def set_room(self, sid: str, room_id: str | None) -> None:
        with outage_as_unavailable():
            await self._set_room(keys=[self._conn_key(sid)], args=[] if room_id is None else [room_id])

    async def remove(self, sid: str) -> Connection | None:
        keys = [self._conn_key(sid), self._expiry_key, self._receipt_key()]
        with outage_as_unavailable():
            reply = await self._remove(keys=keys, args=[sid, self._prefix, _RECEIPT_MS])
        removed = _connections(reply)
        return removed[0] if removed else None

    async def of_user(self, user_id: str, now: float) -> list[Connection]:
        keys = [f"{self._prefix}user:{user_id}:conns", self._expiry_key]
        with outage_as_unavailable():
            return _connections(await self._of_user(keys=keys, args=[repr(now), self._prefix]))

    async def heartbeat(self, now: float) -> None:
        keys = [
            f"{self._prefix}node-alive:{self.node_id}",
            self._nodes_key,
            f"{self._prefix}node:{self.node_id}:conns",
            self._expiry_key,
        ]
        ttl_ms = max(1, round(self.ttl_seconds * 1000))
        with outage_as_unavailable():
            await self._heartbeat(keys=keys, args=[repr(now), self.node_id, ttl_ms, repr(now + self.ttl_seconds)])

    async def claim_expired(self, now: float) -> list[Connection]:
        claimed: list[Connection] = []
        while True:
            keys = [self._expiry_key, self._nodes_key, self._receipt_key()]
            args: list[str | int] = [repr(now), _CLAIM_BATCH, self._prefix, _RECEIPT_MS, repr(now - self.ttl_seconds)]
            try:
                with outage_as_unavailable():
                    batch = _connections(await self._claim(keys=keys, args=args))
            except StoreUnavailable:
                # Earlier batches are already gone from Redis: hand them over, or their departures would be lost.
                if claimed:
                    return claimed
                raise
            claimed.extend(batch)
            if len(batch) < _CLAIM_BATCH:
                return claimed

    async def reassert(self, connections: Iterable[Connection], now: float) -> None:
        calls = [self._add_call(connection, now) for connection in connections]
        if not calls:
            return
        # One round trip; each script is atomic on its own, which is all a re-add needs.
        with outage_as_unavailable():
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, args in calls:
                    await self._add(keys=keys, args=args, client=pipe)
                await pipe.execute()

    async def live_nodes(self, now: float) -> list[str]:
        with outage_as_unavailable():
            nodes = await self._live_nodes(keys=[self._nodes_key], args=[f"({now - self.ttl_seconds!r}", self._prefix])
        return [node.decode() if isinstance(node, bytes) else node for node in nodes]


def _connections(reply: str | bytes) -> list[Connection]:
    rows: list[list[Any]] = json.loads(reply) or []  # cjson encodes an empty list as {}
    return [Connection(sid, user, node, room if isinstance(room, str) else None) for sid, user, node, room in rows]
