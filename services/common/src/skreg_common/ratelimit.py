"""Fixed-window rate limits: at most `limit` events per key per `window` seconds.

`take` counts an event and answers in one step (check and count are one atomic
operation, so a burst of concurrent requests cannot all pass a check made
before any of them was counted). Redis shares the budget between replicas; the
in-memory one serves a single process. Both satisfy one contract, tested
against each (tests/common/test_ratelimit.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from skreg_common.errors import Unavailable

MAX_MEMORY_KEYS = 100_000


class RateLimit(Protocol):
    """A budget of events per key per window."""

    async def take(self, key: str) -> int:
        """Spend one event of `key`'s budget: 0 when allowed, else seconds until it refills."""
        ...


class MemoryRateLimit:
    """The in-process budget (one process; no awaits between check and count)."""

    def __init__(
        self, *, limit: int, window: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit, self._window, self._clock = limit, window, clock
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (events, window ends)

    async def take(self, key: str) -> int:
        """Count the event unless the window's budget is spent."""
        now = self._clock()
        events, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            if len(self._windows) >= MAX_MEMORY_KEYS:
                self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
            events, ends = 0, now + self._window
        if events >= self._limit:
            return max(1, math.ceil(ends - now))
        self._windows[key] = (events + 1, ends)
        return 0


class RedisRateLimit:
    """The shared budget: one key per window, opened with its expiry and counted with INCR."""

    def __init__(self, redis: Redis, *, prefix: str, limit: int, window: int) -> None:
        self._redis, self._prefix = redis, prefix
        self._limit, self._window = limit, window

    async def take(self, key: str) -> int:
        """SET NX EX, INCR and TTL in one transaction; over the limit the TTL is the wait."""
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, ex=self._window, nx=True)
                pipe.incr(name)
                pipe.ttl(name)
                _, events, ttl = await pipe.execute()
        except RedisError as exc:
            raise Unavailable("rate limiting is unavailable") from exc
        if int(events) <= self._limit:
            return 0
        return max(1, int(ttl))


def rate_limit(redis: Redis | None, *, prefix: str, limit: int, window: int) -> RateLimit:
    """The shared budget when the process has Redis, else an in-process one."""
    if redis is None:
        return MemoryRateLimit(limit=limit, window=window)
    return RedisRateLimit(redis, prefix=prefix, limit=limit, window=window)
