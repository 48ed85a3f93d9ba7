"""Counting failed attempts per account and per client address, in Redis or in memory.

A window opens at the first failure and lasts `window` seconds; at `limit` failures
the key is blocked until the window closes, and the caller gets `Retry-After`.
Redis shares the count between replicas; the in-memory one serves the single
embedded process. Both satisfy one contract, tested against each.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from skreg_common.errors import Unavailable

KEY_PREFIX = "skreg:auth:throttle:"
MAX_MEMORY_KEYS = 100_000


class Throttle(Protocol):
    """Failure counter with a fixed window per key."""

    async def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again (0: it may now)."""
        ...

    async def failed(self, key: str) -> None:
        """Count one failure for `key`."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the failures of `key` (after a success)."""
        ...


def throttle_key(kind: str, value: str) -> str:
    """A fixed-length key: raw identifiers never reach Redis keys or memory unbounded."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"


class MemoryThrottle:
    """The in-process counter (embedded single-process mode)."""

    def __init__(
        self, *, limit: int, window: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit, self._window, self._clock = limit, window, clock
        self._entries: dict[str, tuple[int, float]] = {}  # key -> (failures, window ends)

    def _live(self, key: str) -> tuple[int, float] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] <= self._clock():
            del self._entries[key]
            return None
        return entry

    async def retry_after(self, key: str) -> int:
        """Seconds left in the window when the limit is reached."""
        entry = self._live(key)
        if entry is None or entry[0] < self._limit:
            return 0
        return max(1, math.ceil(entry[1] - self._clock()))

    async def failed(self, key: str) -> None:
        """Count a failure, opening a window if none is open."""
        entry = self._live(key)
        if entry is None:
            if len(self._entries) >= MAX_MEMORY_KEYS:
                self._prune()
            self._entries[key] = (1, self._clock() + self._window)
        else:
            self._entries[key] = (entry[0] + 1, entry[1])

    async def reset(self, key: str) -> None:
        """Forget `key`."""
        self._entries.pop(key, None)

    def _prune(self) -> None:
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}


class RedisThrottle:
    """The shared counter: INCR on a key that expires when its window closes."""

    def __init__(self, redis: Redis, *, limit: int, window: int) -> None:
        self._redis, self._limit, self._window = redis, limit, window

    async def retry_after(self, key: str) -> int:
        """Seconds left on the key's TTL when the limit is reached."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(KEY_PREFIX + key)
                pipe.ttl(KEY_PREFIX + key)
                count, ttl = await pipe.execute()
        except RedisError as exc:
            raise Unavailable("login throttling is unavailable") from exc
        if count is None or int(count) < self._limit:
            return 0
        return max(1, int(ttl))

    async def failed(self, key: str) -> None:
        """SET NX opens the window with its expiry; INCR counts inside it."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(KEY_PREFIX + key, 0, ex=self._window, nx=True)
                pipe.incr(KEY_PREFIX + key)
                await pipe.execute()
        except RedisError as exc:
            raise Unavailable("login throttling is unavailable") from exc

    async def reset(self, key: str) -> None:
        """Delete the key."""
        try:
            await self._redis.delete(KEY_PREFIX + key)
        except RedisError as exc:
            raise Unavailable("login throttling is unavailable") from exc
