"""Refreshing access tokens without tripping auth's refresh-token reuse detection.

Refresh tokens are single use, and using one twice revokes the whole family. A page
and its polling script (or two tabs) can ask at the same moment with the same cookie,
so concurrent refreshes of one token are collapsed: in-process with a lock and a short
result cache (cachetools' TTLCache), and across gateway replicas through Redis when it
is configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

import msgspec
from cachetools import TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from redis.asyncio import Redis
from skreg_proto.auth import TokenResponse

RESULT_TTL_S = 60.0
# Refreshes remembered at once; past this the oldest are forgotten (never unbounded).
RESULT_CACHE_SIZE = 10_000
LOCK_TTL_MS = 15_000
WAIT_STEP_S = 0.05
_AAD = b"skreg-ui-refresh-v1"

Refresher = Callable[[str], Awaitable[TokenResponse]]


class RefreshCoordinator:
    """At most one refresh per refresh token; everyone asking gets the same new tokens."""

    def __init__(self, key: bytes, redis: Redis | None = None) -> None:
        self._aead = AESGCM(key)
        self.redis = redis
        self._locks: dict[str, asyncio.Lock] = {}
        self._results: TTLCache[str, TokenResponse] = TTLCache(
            maxsize=RESULT_CACHE_SIZE, ttl=RESULT_TTL_S
        )

    async def refresh(self, refresh_token: str, refresher: Refresher) -> TokenResponse:
        """New tokens for `refresh_token`, calling `refresher` only once per token."""
        digest = hashlib.sha256(refresh_token.encode()).hexdigest()
        self._forget_old()
        lock = self._locks.setdefault(digest, asyncio.Lock())
        async with lock:
            cached = self._results.get(digest)
            if cached is not None:
                return cached
            result = await self._shared(digest, refresh_token, refresher)
            self._results[digest] = result
        return result

    async def _shared(self, digest: str, refresh_token: str, refresher: Refresher) -> TokenResponse:
        if self.redis is None:
            return await refresher(refresh_token)
        result_key, lock_key = f"skreg:ui:refresh:{digest}", f"skreg:ui:refresh-lock:{digest}"
        deadline = time.monotonic() + LOCK_TTL_MS / 1000
        while True:
            found = await self._read(result_key)
            if found is not None:
                return found
            if await self.redis.set(lock_key, b"1", nx=True, px=LOCK_TTL_MS):
                break
            if time.monotonic() > deadline:  # the holder died mid-refresh: try ourselves
                break
            await asyncio.sleep(WAIT_STEP_S)
        result = await refresher(refresh_token)
        nonce = hashlib.sha256(digest.encode() + str(time.time_ns()).encode()).digest()[:12]
        sealed = nonce + self._aead.encrypt(nonce, msgspec.msgpack.encode(result), _AAD)
        await self.redis.set(result_key, sealed, px=int(RESULT_TTL_S * 1000))
        return result

    async def _read(self, key: str) -> TokenResponse | None:
        assert self.redis is not None
        sealed = await self.redis.get(key)
        if not sealed or len(sealed) <= 12:
            return None
        try:
            plain = self._aead.decrypt(sealed[:12], sealed[12:], _AAD)
            return msgspec.msgpack.decode(plain, type=TokenResponse)
        except (InvalidTag, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def _forget_old(self) -> None:
        self._results.expire()
        # Locks of finished (or failed) refreshes are dropped so the table stays small.
        for digest in [d for d, lock in self._locks.items() if not lock.locked()]:
            if digest not in self._results:
                self._locks.pop(digest, None)
