"""Live room state: one versioned JSON document per room, changed only by compare-and-set.

A change is a pure function from the current document (``None`` when the room has none) to the new document and a
result; conflicting writers re-read and call it again. In Redis a room is the hash ``{prefix}room:{room_id}`` with
fields ``v`` (version), ``doc`` (JSON) and ``w`` (token of the write that made this version), the set
``{prefix}rooms`` lists the rooms that have a document, and the counter ``{prefix}room-version`` hands out versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import redis.asyncio
import redis.exceptions

from signaling import json_codec

Document = dict[str, Any]
R = TypeVar("R")

# What "Redis does not answer" looks like from redis-py: refused or dropped connections, and timeouts.
REDIS_OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class StoreUnavailable(Exception):
    """The backing store (Redis) does not answer."""


class StoreConflict(Exception):
    """Too many concurrent writers; the change was not applied."""


@contextlib.contextmanager
def outage_as_unavailable() -> Iterator[None]:
    """Raise a Redis connection error or timeout inside the block as StoreUnavailable."""
    try:
        yield
    except REDIS_OUTAGE as exc:
        raise StoreUnavailable(f"Redis does not answer ({type(exc).__name__})") from exc


class RoomStore(Protocol):
    async def read(self, room_id: str) -> Document | None:
        """The current document, for reading only: change a room through ``update``."""
        ...

    async def read_many(self, room_ids: list[str]) -> dict[str, Document | None]:
        """The current documents of ``room_ids`` in one round trip, for reading only (sweepers)."""
        ...

    async def update(self, room_id: str, change: Callable[[Document | None], tuple[Document | None, R]]) -> R:
        """Apply `change` to the current document (None if absent) and store its result with compare-and-set.

        On conflict the document is re-read and `change` called again, so `change` must be pure. If it returns the
        very object it was given, nothing is written (so return a new object to write: mutating the given one in
        place and returning it writes nothing). If it returns None, the document is deleted. Returns the second
        element of `change`'s result from the attempt that won.
        """
        ...

    async def room_ids(self) -> list[str]:
        """Ids of rooms that have a document (for sweepers), in no particular order."""
        ...


def encode(document: Document) -> str:
    """The stored form of a document; raises TypeError or ValueError if it is not a strict JSON object."""
    if not isinstance(document, dict):
        raise TypeError(f"a room document must be a dict, not {type(document).__name__}")
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


class MemoryRoomStore:
    """Room documents in this process: the embedded deployment's store.

    Documents are kept encoded, so each caller gets its own copy and a document Redis would refuse is refused here
    too. No lock is needed: `change` is synchronous, so reading, changing and writing never yields to the event loop.
    """

    def __init__(self) -> None:
        self._documents: dict[str, tuple[int, str]] = {}
        # One counter for all rooms, as in Redis: a deleted and re-created room never reuses a version.
        self._versions = itertools.count(1)

    async def read(self, room_id: str) -> Document | None:
        stored = self._documents.get(room_id)
        return None if stored is None else _decode(stored[1])

    async def read_many(self, room_ids: list[str]) -> dict[str, Document | None]:
        return {room_id: await self.read(room_id) for room_id in room_ids}

    async def version(self, room_id: str) -> int:
        """The document's version, 0 when the room has none (for tests and diagnostics)."""
        stored = self._documents.get(room_id)
        return 0 if stored is None else stored[0]

    async def update(self, room_id: str, change: Callable[[Document | None], tuple[Document | None, R]]) -> R:
        current = await self.read(room_id)
        new, result = change(current)
        if new is current:
            return result
        if new is None:
            # Dropping the entry keeps memory bounded by the rooms that exist.
            self._documents.pop(room_id, None)
        else:
            self._documents[room_id] = (next(self._versions), encode(new))
        return result

    async def room_ids(self) -> list[str]:
        return list(self._documents)


# Versions come from one counter rather than v + 1: after a delete and a re-create, a writer that read the old room
# must not find "its" version again (ABA). The token `w` makes a write that redis-py resends after a lost reply
# (it retries on timeouts) count as the success it was, instead of a conflict that would apply the change twice.
_WRITE = """
local current = redis.call('HMGET', KEYS[1], 'v', 'w')
if (tonumber(current[1]) or 0) ~= tonumber(ARGV[1]) then
  if current[2] == ARGV[4] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'v', redis.call('INCR', KEYS[3]), 'doc', ARGV[2], 'w', ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""

_DELETE = """
if (tonumber(redis.call('HGET', KEYS[1], 'v')) or 0) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""

_BACKOFF_STEP = 0.005
_BACKOFF_CAP = 0.05


class RedisRoomStore:
    """Room documents in Redis, shared by every node.

    `prefix` (default ``"haven:"``) starts every key; `kind` (default ``"room"``) names what the documents are, so
    that other live documents (calls, lines) keep the same guarantees under their own keys; `max_attempts` (default 50) bounds the compare-and-set retries
    of one update before StoreConflict. Connection errors and timeouts raise StoreUnavailable; when that happens
    during `update`, the change may or may not have been applied.

    Changes to one room made through this store are queued and applied in order, up to ``_BATCH`` of them in one
    compare-and-set (each called on its own copy of its predecessor's result), so writers race only the other
    nodes' writers. Otherwise everyone entering a large room at once through one node would contend: each round all
    of them read, decode, change and encode the document and all but one lose, so joining took seconds and could
    run out of attempts. An update cancelled before its change was taken up is never applied.
    """

    def __init__(
        self, client: redis.asyncio.Redis, prefix: str = "haven:", max_attempts: int = 50, kind: str = "room"
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._client = client
        self._prefix = f"{prefix}{kind}:"
        self._max_attempts = max_attempts
        self._rooms_key = f"{prefix}{kind}s"
        self._version_key = f"{prefix}{kind}-version"
        self._write = client.register_script(_WRITE)
        self._delete = client.register_script(_DELETE)
        self._queues: dict[str, _Queue] = {}

    def _room_key(self, room_id: str) -> str:
        return f"{self._prefix}{room_id}"

    async def _load_stored(self, room_id: str) -> tuple[int, str | bytes | None]:
        """The version and the stored (encoded) document."""
        with outage_as_unavailable():
            version, stored = await self._client.hmget(self._room_key(room_id), ["v", "doc"])
        if version is None or stored is None:
            return 0, None
        return int(version), stored

    async def _load(self, room_id: str) -> tuple[int, Document | None]:
        version, stored = await self._load_stored(room_id)
        return version, None if stored is None else _decode(stored)

    async def read(self, room_id: str) -> Document | None:
        return (await self._load(room_id))[1]

    async def read_many(self, room_ids: list[str]) -> dict[str, Document | None]:
        if not room_ids:
            return {}
        with outage_as_unavailable():
            async with self._client.pipeline(transaction=False) as pipe:
                for room_id in room_ids:
                    pipe.hget(self._room_key(room_id), "doc")
                stored = await pipe.execute()
        return {room_id: None if doc is None else _decode(doc) for room_id, doc in zip(room_ids, stored, strict=True)}

    async def version(self, room_id: str) -> int:
        """The document's version, 0 when the room has none (for tests and diagnostics)."""
        return (await self._load(room_id))[0]

    async def update(self, room_id: str, change: Callable[[Document | None], tuple[Document | None, R]]) -> R:
        queue = self._queues.get(room_id)
        if queue is None:
            queue = self._queues[room_id] = _Queue()
        pending = _Pending(change, asyncio.get_running_loop().create_future())
        queue.waiting.append(pending)
        if queue.writer is None:
            queue.writer = asyncio.create_task(self._write_queued(room_id, queue), name=f"haven-store-{room_id}")
        # Cancelling the caller cancels ``done``: the writer then skips the change if it has not taken it up yet.
        result: R = await pending.done
        return result

    async def _write_queued(self, room_id: str, queue: _Queue) -> None:
        """Apply the room's queued changes, a batch at a time, until none is left."""
        try:
            while queue.waiting:
                batch = [p for p in queue.waiting[:_BATCH] if not p.done.done()]
                del queue.waiting[:_BATCH]
                if batch:
                    await self._apply_batch(room_id, batch)
        finally:
            queue.writer = None
            for pending in queue.waiting:  # only when this task was cancelled (shutdown)
                pending.done.cancel()
            del self._queues[room_id]

    async def _apply_batch(self, room_id: str, batch: list[_Pending]) -> None:
        """One compare-and-set of a batch of changes; every change's caller gets its result or its error."""
        key = self._room_key(room_id)
        try:
            for attempt in range(1, self._max_attempts + 1):
                version, stored = await self._load_stored(room_id)
                outcomes, changed, new = _run_in_order(batch, stored)
                won = 1
                if changed:
                    with outage_as_unavailable():
                        if new is None:
                            won = await self._delete(keys=[key, self._rooms_key], args=[version, room_id])
                        else:
                            token = uuid.uuid4().hex
                            keys = [key, self._rooms_key, self._version_key]
                            won = await self._write(keys=keys, args=[version, new, room_id, token])
                if won == 1:
                    for pending, (result, error) in zip(batch, outcomes, strict=True):
                        if pending.done.done():
                            continue
                        if error is None:
                            pending.done.set_result(result)
                        else:
                            pending.done.set_exception(error)
                    return
                # Jitter spreads the losers out so that they do not collide again on the next attempt.
                await asyncio.sleep(random.uniform(0, min(_BACKOFF_STEP * attempt, _BACKOFF_CAP)))  # noqa: S311 (not a secret)
            raise StoreConflict(f"Room {room_id!r} changed under every one of {self._max_attempts} attempts")
        except Exception as exc:
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(exc)
        finally:
            # Cancelled mid-batch (shutdown): the outcome is unknown, as when Redis stops answering.
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(StoreUnavailable("the update was interrupted"))

    async def room_ids(self) -> list[str]:
        with outage_as_unavailable():
            members = await self._client.smembers(self._rooms_key)
        return [_text(member) for member in members]


# Changes applied in one compare-and-set at most: each costs a decode and an encode of the document (about 1 ms at
# 200 members), all without yielding to the event loop.
_BATCH = 32


@dataclass
class _Pending:
    change: Callable[[Document | None], tuple[Document | None, Any]]
    done: asyncio.Future[Any]


@dataclass
class _Queue:
    """One room's changes waiting on this node, and the task writing them."""

    waiting: list[_Pending] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None


def _run_in_order(
    batch: list[_Pending], stored: str | bytes | None
) -> tuple[list[tuple[Any, Exception | None]], bool, str | bytes | None]:
    """Each change on a fresh copy of what the one before left: (result, error) of each, whether any changed the
    document, and its stored form after them all (None: deleted). A change that raises leaves it as it was."""
    outcomes: list[tuple[Any, Exception | None]] = []
    changed = False
    for pending in batch:
        try:
            given = None if stored is None else _decode(stored)
            new, result = pending.change(given)
            if new is not given:
                stored = None if new is None else encode(new)
                changed = True
            outcomes.append((result, None))
        except Exception as exc:
            outcomes.append((None, exc))
    return outcomes, changed, stored


def _decode(stored: str | bytes) -> Document:
    document = json_codec.loads(stored)
    if not isinstance(document, dict):
        raise ValueError(f"a room document must be a JSON object, not {type(document).__name__}")
    return document


def _text(value: str | bytes) -> str:
    """A Redis reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value
