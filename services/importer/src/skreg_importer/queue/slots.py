"""The clone cap: at most GIT_MAX_CONCURRENT clones at once.

`RedisSlots` holds the cap across every process sharing Redis: a sorted set of lease
ids scored by their expiry (Redis server time, so worker clocks do not matter),
taken atomically by a Lua script, kept alive by a heartbeat, and purged once expired
— a SIGKILLed worker's slot frees itself within one lease. `LocalSlots` is the same
cap for the in-process queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

SLOTS_KEY = "skreg:importer:git-slots"

# KEYS[1] slots zset; ARGV: limit, ttl_ms, lease. Expired leases are purged first.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
  return 1
end
return 0
"""

# KEYS[1] slots zset; ARGV: ttl_ms, lease. Only a live lease is extended.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) > now then
  redis.call('ZADD', KEYS[1], 'XX', now + ttl, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
  return 1
end
redis.call('ZREM', KEYS[1], ARGV[2])
return 0
"""


class CloneSlots(Protocol):
    """Something that grants one clone slot at a time to each holder."""

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold one slot for the duration of the block (waits while all are taken)."""
        ...


class LocalSlots:
    """The cap inside one process (embedded mode): an asyncio semaphore."""

    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(max(1, limit))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            yield


class RedisSlots:
    """The cap across processes: leases in a Redis sorted set, renewed while held."""

    def __init__(
        self,
        redis: Redis,
        limit: int,
        *,
        lease_seconds: float = 30.0,
        key: str = SLOTS_KEY,
        poll_seconds: float = 0.05,
    ) -> None:
        self._redis = redis
        self._limit = max(1, limit)
        self._ttl_ms = int(lease_seconds * 1000)
        self._key = key
        self._poll = poll_seconds
        self._acquire: Any = redis.register_script(_ACQUIRE)
        self._renew: Any = redis.register_script(_RENEW)

    async def try_acquire(self, lease: str) -> bool:
        """Take a slot for `lease` if one is free right now."""
        return bool(await self._acquire(keys=[self._key], args=[self._limit, self._ttl_ms, lease]))

    async def renew(self, lease: str) -> bool:
        """Extend `lease`; False when it had already expired (and was dropped)."""
        return bool(await self._renew(keys=[self._key], args=[self._ttl_ms, lease]))

    async def release(self, lease: str) -> None:
        """Give the slot back."""
        await self._redis.zrem(self._key, lease)

    async def holders(self) -> int:
        """How many unexpired leases exist (for metrics and tests)."""
        return int(await self._redis.zcard(self._key))

    async def _heartbeat(self, lease: str) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            if not await self.renew(lease):
                log.warning("git.slot_lost", lease=lease)
                return

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        lease = uuid.uuid4().hex
        # Polling, not an event: the slot is freed by another process. Jitter keeps
        # waiting workers from polling Redis in lock step.
        while not await self.try_acquire(lease):  # noqa: ASYNC110
            await asyncio.sleep(self._poll * (0.5 + random.random()))
        heartbeat = asyncio.create_task(self._heartbeat(lease))
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            # Shielded: a cancelled job must still hand its slot back.
            await asyncio.shield(self.release(lease))
