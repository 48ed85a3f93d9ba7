"""Counting attempts per key (account, client address, publisher, …), in Redis or in memory.

An attempt is reserved atomically *before* the slow work it guards (a password
check), and released again if it turns out to be a success: reading the count
first and adding to it after the check let a burst of concurrent attempts all
pass the read before any of them was counted.

A window opens at the first reservation and lasts `window` seconds; at `limit`
reservations the key is refused until the window closes, and the caller gets
`Retry-After`. The limit is given per call, so one throttle serves keys with
different budgets. Redis shares the counts between replicas; the in-memory one
serves the single embedded process. Both satisfy one contract, tested against each.

While Redis is unreachable the Redis throttle counts in this process instead: each
replica then enforces the limit on its own (at most replicas times the limit in total), which
is looser but never "unlimited", and a sign-in never fails only because Redis is down.
Auth throttles sign-ins and registrations with it; the catalog, publishes.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Protocol

import msgspec
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

MAX_MEMORY_KEYS = 100_000


class Slot(msgspec.Struct, frozen=True):
    """The outcome of a reservation (or a look): the count and the wait before the next one.

    `retry_after` is 0 when the reservation was granted (or, for `peek`, when one would be).
    """

    count: int
    retry_after: int

    @property
    def granted(self) -> bool:
        """True when the attempt may go ahead."""
        return self.retry_after == 0


class Throttle(Protocol):
    """Attempt counter with a fixed window per key."""

    async def reserve(self, key: str, limit: int) -> Slot:
        """Count one attempt for `key` unless `limit` are already counted (then: the wait)."""
        ...

    async def release(self, key: str) -> None:
        """Give back one reserved attempt (it succeeded, so it is not a failure)."""
        ...

    async def peek(self, key: str, limit: int) -> Slot:
        """The count of `key` and how long it must wait, without counting anything."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every attempt of `key`."""
        ...


def throttle_key(kind: str, *values: str) -> str:
    """A fixed-length key: raw identifiers never reach Redis keys or memory unbounded."""
    raw = "\x1f".join(values).encode("utf-8", "surrogatepass")
    return f"{kind}:{hashlib.sha256(raw).hexdigest()[:32]}"


class MemoryThrottle:
    """The in-process counter (embedded single-process mode).

    Atomic by construction: no method awaits anything between reading and writing.
    """

    def __init__(self, *, window: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._window, self._clock = window, clock
        self._entries: dict[str, tuple[int, float]] = {}  # key -> (count, window ends)

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry

    def _wait(self, ends: float) -> int:
        return max(1, math.ceil(ends - self._clock()))

    async def reserve(self, key: str, limit: int) -> Slot:
        """Count an attempt, opening a window if none is open; refuse at the limit."""
        entry = self._live(key)
        if entry is None:
            if len(self._entries) >= MAX_MEMORY_KEYS:
                self._prune()
            entry = (0, self._clock() + self._window)
        if entry[0] >= limit:
            return Slot(entry[0], self._wait(entry[1]))
        self._entries[key] = (entry[0] + 1, entry[1])
        return Slot(entry[0] + 1, 0)

    async def release(self, key: str) -> None:
        """One attempt fewer (never below zero; the window keeps its end)."""
        entry = self._live(key)
        if entry is not None and entry[0] > 0:
            self._entries[key] = (entry[0] - 1, entry[1])

    async def peek(self, key: str, limit: int) -> Slot:
        """The live count, and the wait when it is at the limit."""
        entry = self._live(key)
        if entry is None:
            return Slot(0, 0)
        return Slot(entry[0], self._wait(entry[1]) if entry[0] >= limit else 0)

    async def reset(self, key: str) -> None:
        """Forget `key`."""
        self._entries.pop(key, None)

    def _prune(self) -> None:
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}


# One round trip, atomic in Redis: refuse at the limit, else count (and start the window).
_RESERVE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {count, math.max(ttl, 1)}
end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return {count, 0}
"""
_RELEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisThrottle:
    """The shared counter: Lua scripts over a key that expires when its window closes.

    Falls back to a `MemoryThrottle` of its own for as long as Redis fails (see above).
    """

    def __init__(self, redis: Redis, *, prefix: str, window: int) -> None:
        self._redis, self._prefix, self._window = redis, prefix, window
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self.fallback = MemoryThrottle(window=window)
        self._degraded = False

    def _down(self, exc: RedisError) -> MemoryThrottle:
        if not self._degraded:  # one warning per outage, not one per attempt
            log.warning("throttle.redis_unavailable", prefix=self._prefix, error=repr(exc))
            self._degraded = True
        return self.fallback

    def _up(self) -> None:
        if self._degraded:
            log.info("throttle.redis_back", prefix=self._prefix)
            self._degraded = False

    async def reserve(self, key: str, limit: int) -> Slot:
        """Refuse at the limit, else INCR (the first one sets the expiry) — one atomic step."""
        try:
            count, wait = await self._reserve(keys=[self._prefix + key], args=[limit, self._window])
        except RedisError as exc:
            return await self._down(exc).reserve(key, limit)
        self._up()
        return Slot(int(count), int(wait))

    async def release(self, key: str) -> None:
        """DECR unless already at zero (DECR keeps the key's expiry)."""
        try:
            await self._release(keys=[self._prefix + key])
        except RedisError as exc:
            await self._down(exc).release(key)

    async def peek(self, key: str, limit: int) -> Slot:
        """GET and TTL of the key (or the in-process count while Redis is down)."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._prefix + key)
                pipe.ttl(self._prefix + key)
                count, ttl = await pipe.execute()
        except RedisError as exc:
            return await self._down(exc).peek(key, limit)
        value = int(count) if count is not None else 0
        return Slot(value, max(1, int(ttl)) if value >= limit else 0)

    async def reset(self, key: str) -> None:
        """Delete the key (in Redis and in the fallback)."""
        await self.fallback.reset(key)
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError as exc:
            self._down(exc)


def throttle(redis: Redis | None, *, prefix: str, window: int) -> Throttle:
    """Counts shared over Redis (keys under `prefix`) when the process has it, else in memory."""
    if redis is None:
        return MemoryThrottle(window=window)
    return RedisThrottle(redis, prefix=prefix, window=window)
