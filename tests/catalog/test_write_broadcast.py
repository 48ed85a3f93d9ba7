"""Catalog write announcements over real Redis: others invalidate, the writer does not
hear itself, and an unreachable Redis never breaks a write."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from redis.asyncio import Redis
from skreg_catalog.broadcast import WriteBroadcast

ANNOUNCE_TIMEOUT_S = 2.0


async def _until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + ANNOUNCE_TIMEOUT_S
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not announced in time"
        await asyncio.sleep(0.005)


async def test_a_write_announced_by_one_process_invalidates_the_others(redis_client: Redis) -> None:
    heard = {"writer": 0, "replica": 0}
    writer = WriteBroadcast(redis_client, lambda: heard.__setitem__("writer", heard["writer"] + 1))
    replica = WriteBroadcast(
        redis_client, lambda: heard.__setitem__("replica", heard["replica"] + 1)
    )
    await writer.start()
    await replica.start()
    try:
        after_start = dict(heard)  # subscribing invalidates once (anything may be missed)
        for _ in range(20):  # a burst: coalesced, but at least one reaches the replica
            writer.announce()
        await _until(lambda: heard["replica"] > after_start["replica"])
        await asyncio.sleep(0.05)
        assert heard["writer"] == after_start["writer"]  # its own write was handled at commit
        assert heard["replica"] - after_start["replica"] <= 20
    finally:
        await writer.stop()
        await replica.stop()


async def test_an_unreachable_redis_never_breaks_a_write() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{closed}/0", socket_connect_timeout=0.2)
    invalidated: list[int] = []
    broadcast = WriteBroadcast(redis, lambda: invalidated.append(1))
    try:
        await broadcast.start()  # gives up waiting for the subscription, does not raise
        broadcast.announce()  # logged and dropped: replicas fall back on the cache TTL
        await broadcast.stop()
    finally:
        await redis.aclose()
    assert invalidated == []


async def test_without_redis_announcing_is_a_no_op() -> None:
    broadcast = WriteBroadcast(None, lambda: None)
    await broadcast.start()
    broadcast.announce()
    await broadcast.stop()
