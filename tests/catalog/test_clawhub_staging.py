"""ClawHub upload staging: one contract, held in memory (embedded) and in real Redis."""

from __future__ import annotations

import hashlib

import pytest
from redis.asyncio import Redis
from skreg_catalog.clawhub.staging import (
    MEMORY_BUDGET_BUNDLES,
    TTL,
    MemoryStaging,
    RedisStaging,
    UploadStaging,
)
from skreg_common.errors import RateLimited, TooLarge
from skreg_proto.bundle import BundleLimits

LIMITS = BundleLimits(max_files=3, max_file_bytes=100, max_total_bytes=200)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["memory", "redis"])
def staging(request: pytest.FixtureRequest, redis_client: Redis) -> UploadStaging:
    if request.param == "memory":
        return MemoryStaging(LIMITS)
    return RedisStaging(redis_client, LIMITS)


async def test_files_are_held_per_user_until_dropped(staging: UploadStaging) -> None:
    one, empty = b"one", b""
    await staging.put("u1", _sha(one), one)
    await staging.put("u1", _sha(empty), empty)  # an empty file is a file
    assert await staging.take("u1", [_sha(one), _sha(empty), "f" * 64]) == {
        _sha(one): one,
        _sha(empty): empty,
    }
    assert await staging.take("u2", [_sha(one)]) == {}  # another user's uploads are not yours
    await staging.drop("u1", [_sha(one)])
    assert await staging.take("u1", [_sha(one), _sha(empty)]) == {_sha(empty): empty}


async def test_each_user_holds_at_most_one_bundle(staging: UploadStaging) -> None:
    blobs = [bytes([n]) * 90 for n in range(3)]
    await staging.put("u1", _sha(blobs[0]), blobs[0])
    await staging.put("u1", _sha(blobs[0]), blobs[0])  # a repeat costs nothing
    await staging.put("u1", _sha(blobs[1]), blobs[1])
    with pytest.raises(TooLarge):
        await staging.put("u1", _sha(blobs[2]), blobs[2])  # 270 bytes > 200
    assert _sha(blobs[2]) not in await staging.take("u1", [_sha(blobs[2])])
    await staging.put("u2", _sha(blobs[2]), blobs[2])  # others have their own budget
    await staging.drop("u1", [_sha(blobs[0])])
    await staging.put("u1", _sha(blobs[2]), blobs[2])  # dropping gave the room back


async def test_uploads_expire() -> None:
    now = [0.0]
    staging = MemoryStaging(LIMITS, clock=lambda: now[0])
    await staging.put("u1", _sha(b"x"), b"x")
    now[0] = TTL - 1
    assert await staging.take("u1", [_sha(b"x")]) == {_sha(b"x"): b"x"}
    now[0] = TTL + 1
    assert await staging.take("u1", [_sha(b"x")]) == {}
    await staging.put("u1", _sha(b"y" * 200), b"y" * 200)  # the expired one no longer counts


async def test_redis_keys_carry_the_expiry(redis_client: Redis) -> None:
    staging = RedisStaging(redis_client, LIMITS)
    await staging.put("u1", _sha(b"x"), b"x")
    ttls = [await redis_client.ttl(key) async for key in redis_client.scan_iter("skreg:*")]
    assert len(ttls) == 2  # the file and the user's usage
    assert all(0 < ttl <= TTL for ttl in ttls)


async def test_the_memory_store_is_bounded_for_everyone() -> None:
    staging = MemoryStaging(LIMITS)
    budget = MEMORY_BUDGET_BUNDLES * LIMITS.max_total_bytes
    for user in range(budget // 100):
        await staging.put(f"u{user}", _sha(str(user).encode()), bytes(100))
    with pytest.raises(RateLimited) as refused:
        await staging.put("late", _sha(b"late"), bytes(100))
    assert refused.value.retry_after > 0
