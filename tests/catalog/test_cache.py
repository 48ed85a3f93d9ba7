"""The in-process read cache: generations, single flight, stale-while-revalidate."""

from __future__ import annotations

import asyncio

import pytest
from skreg_catalog.cache import ReadCache


class Source:
    """A loader that counts its calls and can be held open."""

    def __init__(self) -> None:
        self.calls = 0
        self.value = "v0"
        self.gate = asyncio.Event()
        self.gate.set()

    async def load(self) -> str:
        self.calls += 1
        await self.gate.wait()
        return self.value


async def test_hits_until_invalidated() -> None:
    cache, source = ReadCache(ttl=60, max_entries=10), Source()
    assert await cache.get_or_load("k", source.load) == "v0"
    source.value = "v1"
    assert await cache.get_or_load("k", source.load) == "v0"
    assert source.calls == 1
    cache.invalidate()
    assert await cache.get_or_load("k", source.load) == "v1"
    assert source.calls == 2


async def test_a_read_racing_a_write_is_not_kept() -> None:
    cache, source = ReadCache(ttl=60, max_entries=10), Source()
    source.gate.clear()
    pending = asyncio.create_task(cache.get_or_load("k", source.load))
    await asyncio.sleep(0)
    cache.invalidate()  # a write committed while the read was in flight
    source.gate.set()
    assert await pending == "v0"
    source.value = "v1"
    assert await cache.get_or_load("k", source.load) == "v1"


async def test_single_flight() -> None:
    cache, source = ReadCache(ttl=60, max_entries=10), Source()
    source.gate.clear()
    readers = [asyncio.create_task(cache.get_or_load("k", source.load)) for _ in range(10)]
    await asyncio.sleep(0)
    source.gate.set()
    assert await asyncio.gather(*readers) == ["v0"] * 10
    assert source.calls == 1


async def test_failures_are_not_cached_and_waiters_retry() -> None:
    cache = ReadCache(ttl=60, max_entries=10)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise LookupError("first load fails")
        return "ok"

    results = await asyncio.gather(
        cache.get_or_load("k", flaky), cache.get_or_load("k", flaky), return_exceptions=True
    )
    assert isinstance(results[0], LookupError)
    assert results[1] == "ok"


async def test_expired_entries_are_served_while_refreshing() -> None:
    cache, source = ReadCache(ttl=0.001, max_entries=10), Source()
    assert await cache.get_or_load("k", source.load) == "v0"
    await asyncio.sleep(0.01)
    source.value = "v1"
    assert await cache.get_or_load("k", source.load) == "v0"  # stale, refresh started
    for _ in range(10):
        await asyncio.sleep(0)
    assert source.calls == 2
    cache.ttl = 60
    assert await cache.get_or_load("k", source.load) == "v1"


@pytest.mark.parametrize("ttl", [0, -1])
async def test_ttl_zero_disables(ttl: float) -> None:
    cache, source = ReadCache(ttl=ttl, max_entries=10), Source()
    await cache.get_or_load("k", source.load)
    await cache.get_or_load("k", source.load)
    assert source.calls == 2


async def test_size_is_bounded() -> None:
    cache, source = ReadCache(ttl=60, max_entries=3), Source()
    for key in range(10):
        await cache.get_or_load(key, source.load)
    await cache.get_or_load(9, source.load)
    await cache.get_or_load(0, source.load)
    assert source.calls == 11  # 9 was kept, 0 was evicted


async def test_weighed_values_are_bounded_by_bytes() -> None:
    # Version details carry whole SKILL.md bodies: entries alone do not bound memory.
    cache = ReadCache(ttl=60, max_entries=100, max_bytes=1000)
    for key in range(10):

        async def load(key: int = key) -> str:
            return "x" * 300

        await cache.get_or_load(key, load, weigh=len)
        assert cache.bytes <= 1000
    too_big = await cache.get_or_load("big", lambda: _value("y" * 2000), weigh=len)
    assert too_big == "y" * 2000
    assert cache.bytes == 900
    cache.invalidate()
    assert cache.bytes == 0


async def _value(text: str) -> str:
    return text
