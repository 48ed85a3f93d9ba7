"""The rate-limit contract, held by the in-process and the Redis implementation alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from skreg_common.ratelimit import MemoryRateLimit, RateLimit, RedisRateLimit, rate_limit


@pytest.fixture(params=["memory", "redis"])
async def limit(request: pytest.FixtureRequest, redis_client: Redis) -> AsyncIterator[RateLimit]:
    """Three events per key per second, in memory or in the test Redis."""
    if request.param == "memory":
        yield MemoryRateLimit(limit=3, window=1)
    else:
        yield RedisRateLimit(redis_client, prefix="test:rl:", limit=3, window=1)


async def test_rate_limit_contract(limit: RateLimit) -> None:
    assert [await limit.take("alice") for _ in range(3)] == [0, 0, 0]
    assert await limit.take("alice") == 1  # spent: wait for the window
    assert await limit.take("bob") == 0  # keys are independent
    await asyncio.sleep(1.2)  # the window (1 s) closes
    assert await limit.take("alice") == 0


async def test_concurrent_takes_never_overspend(limit: RateLimit) -> None:
    answers = await asyncio.gather(*(limit.take("burst") for _ in range(40)))
    assert answers.count(0) == 3
    assert all(wait >= 1 for wait in answers if wait)


async def test_retry_after_is_what_is_left_of_the_window() -> None:
    now = [100.0]
    limit = MemoryRateLimit(limit=1, window=3600, clock=lambda: now[0])
    assert await limit.take("k") == 0
    now[0] += 600
    assert await limit.take("k") == 3000
    now[0] += 3000
    assert await limit.take("k") == 0  # a new window, with a full budget


async def test_redis_budget_is_shared_and_expires(redis_client: Redis) -> None:
    one = rate_limit(redis_client, prefix="test:rl:", limit=2, window=3600)
    two = rate_limit(redis_client, prefix="test:rl:", limit=2, window=3600)
    assert isinstance(one, RedisRateLimit)
    assert [await one.take("k"), await two.take("k")] == [0, 0]
    assert 3500 < await two.take("k") <= 3600  # the other replica spent it
    assert 3500 < await redis_client.ttl("test:rl:k") <= 3600  # never a key without expiry
    assert isinstance(rate_limit(None, prefix="x", limit=1, window=1), MemoryRateLimit)
