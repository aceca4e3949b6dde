"""Sign-in failure counts in Redis, so that every node of a deployment sees the same counts.

Each throttle key is the sorted set ``{prefix}login-failures:{key}`` (the key being an account's digest or a client
address), scored by time, with members ``p:<attempt>`` while an attempt is being checked and ``f:<attempt>`` once it
failed. A Lua script trims, counts and reserves in one step, so concurrent attempts on any nodes cannot overtake each
other. Every set expires one window after its last reservation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import redis.asyncio
import redis.exceptions

from server.login_throttle import (
    MAX_FAILURES,
    PENDING_SECONDS,
    PENDING_WAIT_SECONDS,
    WINDOW_SECONDS,
    LoginThrottle,
    MemoryLoginThrottle,
)

log = logging.getLogger("haven.auth")

# Anything that stops Redis answering this call: refused or dropped connections, timeouts, a server that refuses
# writes (out of memory, read-only replica). Sign-in must go on without the shared counts rather than fail.
_UNREACHABLE = (redis.exceptions.RedisError, OSError)

# The same rules as MemoryLoginThrottle and server.login_throttle.wait_seconds; KEYS are the throttle's sets.
# ARGV: now, window, max failures, pending seconds, attempt, ttl, wait while only pending attempts fill a key.
_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local stale = now - tonumber(ARGV[4])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local failures = {}
  local counted = 0
  for i = 1, #entries, 2 do
    local at = tonumber(entries[i + 1])
    if string.sub(entries[i], 1, 2) == 'f:' then
      counted = counted + 1
      failures[#failures + 1] = at
    elseif at <= stale then
      redis.call('ZREM', key, entries[i])
    else
      counted = counted + 1
    end
  end
  if counted >= limit then
    local seconds = tonumber(ARGV[7])
    if #failures >= limit then
      seconds = math.max(1, math.ceil(failures[#failures - limit + 1] + window - now))
    end
    wait = math.max(wait, seconds)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], 'p:' .. ARGV[5])
  redis.call('EXPIRE', key, ARGV[6])
end
return 0
"""

# ARGV: attempt. A reservation made elsewhere (in memory, while Redis was away) is not here, and nothing changes.
_FAIL = """
for _, key in ipairs(KEYS) do
  local at = redis.call('ZSCORE', key, 'p:' .. ARGV[1])
  if at then
    -- Add before removing: a set left empty would be deleted, and the new one would have no expiry.
    redis.call('ZADD', key, at, 'f:' .. ARGV[1])
    redis.call('ZREM', key, 'p:' .. ARGV[1])
  end
end
return 0
"""


class RedisLoginThrottle:
    """Counts in Redis under ``prefix`` (default ``"haven:"``), with the same limits as the memory throttle.

    When Redis does not answer, the attempt is counted by ``fallback`` (a memory throttle of this node) instead, and
    a warning is logged once until Redis answers again; settling and clearing always reach the fallback too.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        prefix: str = "haven:",
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        fallback: MemoryLoginThrottle | None = None,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.fallback = fallback or MemoryLoginThrottle(max_failures, window_seconds)
        self._client = client
        self._prefix = f"{prefix}login-failures:"
        self._reserve = client.register_script(_RESERVE)
        self._fail = client.register_script(_FAIL)
        self._reachable = True

    def _keys(self, keys: Sequence[str]) -> list[str]:
        return [self._prefix + key for key in keys]

    def _lost(self, exc: BaseException) -> None:
        if self._reachable:
            # The type only: a Redis error's text may hold a key, and keys hold client addresses.
            log.warning(
                "sign-in throttle: Redis unreachable, counting on this node", extra={"error": type(exc).__name__}
            )
        self._reachable = False

    def _answered(self) -> None:
        if not self._reachable:
            log.info("sign-in throttle: Redis answers again, counts are shared")
        self._reachable = True

    async def reserve(self, keys: Sequence[str], attempt: str, now: float) -> int:
        args: list[str | float] = [
            now,
            self.window_seconds,
            self.max_failures,
            PENDING_SECONDS,
            attempt,
            math.ceil(self.window_seconds) + 1,
            PENDING_WAIT_SECONDS,
        ]
        try:
            wait = await self._reserve(keys=self._keys(keys), args=args)
        except _UNREACHABLE as exc:
            self._lost(exc)
            return await self.fallback.reserve(keys, attempt, now)
        self._answered()
        return int(wait)

    async def settle(self, keys: Sequence[str], attempt: str, failed: bool) -> None:
        await self.fallback.settle(keys, attempt, failed)
        try:
            if failed:
                await self._fail(keys=self._keys(keys), args=[attempt])
            else:
                async with self._client.pipeline(transaction=False) as pipe:
                    for key in self._keys(keys):
                        pipe.zrem(key, "p:" + attempt)
                    await pipe.execute()
        except _UNREACHABLE as exc:
            # The reservation stays until it goes stale (PENDING_SECONDS) or, as a failure, leaves the window.
            self._lost(exc)

    async def clear(self, key: str) -> None:
        await self.fallback.clear(key)
        try:
            await self._client.delete(self._prefix + key)
        except _UNREACHABLE as exc:
            self._lost(exc)


def login_throttle(client: redis.asyncio.Redis | None, prefix: str) -> LoginThrottle:
    """The deployment's throttle: shared through Redis when there is one, this process's own otherwise."""
    return MemoryLoginThrottle() if client is None else RedisLoginThrottle(client, prefix)
