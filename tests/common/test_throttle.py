"""The shared throttle as the catalog's publish budget uses it (the contract itself, in
memory and over Redis, is tested in tests/auth/test_units.py)."""

from __future__ import annotations

from redis.asyncio import Redis
from skreg_common.throttle import MemoryThrottle, RedisThrottle, throttle


async def test_retry_after_is_what_is_left_of_the_window() -> None:
    now = [100.0]
    budget = MemoryThrottle(window=3600, clock=lambda: now[0])
    assert (await budget.reserve("k", 1)).granted
    now[0] += 600
    assert (await budget.reserve("k", 1)).retry_after == 3000
    now[0] += 3000
    assert (await budget.reserve("k", 1)).granted  # a new window, with a full budget


async def test_redis_budget_is_shared_between_replicas_and_expires(redis_client: Redis) -> None:
    one = throttle(redis_client, prefix="test:th:", window=3600)
    two = throttle(redis_client, prefix="test:th:", window=3600)
    assert isinstance(one, RedisThrottle)
    assert (await one.reserve("k", 2)).granted
    assert (await two.reserve("k", 2)).granted
    assert 3500 < (await two.reserve("k", 2)).retry_after <= 3600  # the other replica spent it
    assert 3500 < await redis_client.ttl("test:th:k") <= 3600  # never a key without expiry
    assert isinstance(throttle(None, prefix="x", window=1), MemoryThrottle)


async def test_without_redis_the_budget_is_counted_in_this_process() -> None:
    """Redis down must never mean "unlimited" (a sign-in throttle that lets every guess by)."""
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    budget = throttle(unreachable, prefix="test:down:", window=3600)
    try:
        assert (await budget.reserve("k", 2)).granted
        assert (await budget.reserve("k", 2)).granted
        refused = await budget.reserve("k", 2)
        assert not refused.granted
        assert 3500 < refused.retry_after <= 3600
        assert (await budget.peek("k", 2)).count == 2
        await budget.release("k")  # a success gives its attempt back, in memory too
        assert (await budget.reserve("k", 2)).granted
        await budget.reset("k")
        assert (await budget.peek("k", 2)).count == 0
    finally:
        await unreachable.aclose()
