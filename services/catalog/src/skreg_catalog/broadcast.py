"""Catalog writes announced to every catalog process over Redis, so replicas drop their
read caches at once instead of serving a stale answer until `READ_CACHE_TTL` runs out.

The writing process invalidates its own cache when the transaction commits
(skreg_catalog.writer), so its client reads the write at once; then it publishes its
origin id on `CHANNEL`, and every other process that hears it invalidates too
(typically within milliseconds). Without Redis, or while it is unreachable, replicas
fall back on the read cache's short TTL (one second by default): a subscriber that
reconnects invalidates everything, since it may have missed announcements meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

CHANNEL = "skreg:catalog:writes"
RECONNECT_DELAY_S = 1.0
READY_TIMEOUT_S = 5.0

log = structlog.get_logger(__name__)


class WriteBroadcast:
    """Publishes this process's committed writes; applies everyone else's to `invalidate`."""

    def __init__(self, redis: Redis | None, invalidate: Callable[[], None]) -> None:
        self._redis = redis
        self._invalidate = invalidate
        self.origin = uuid.uuid4().hex.encode()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._pending = False

    def announce(self) -> None:
        """Tell the other processes a write committed (from the writer's commit hook).

        Coalesced: writes committing while an announcement is on its way are covered by
        one more announcement after it, not one each (a burst of download counts).
        """
        if self._redis is None:
            return
        self._pending = True
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        assert self._redis is not None
        while self._pending:
            self._pending = False
            try:
                await self._redis.publish(CHANNEL, self.origin)
            except (RedisError, OSError) as exc:  # replicas fall back on the cache TTL
                log.warning("catalog.broadcast_failed", error=type(exc).__name__)
                return

    async def start(self) -> None:
        """Subscribe (waiting briefly for the subscription, so no early write slips by)."""
        if self._redis is None:
            return
        self._task = asyncio.create_task(self._run(), name="catalog-write-broadcast")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=READY_TIMEOUT_S)

    async def stop(self) -> None:
        """Stop listening; announcements still being sent are finished."""
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("catalog.broadcast_disconnected", error=type(exc).__name__)
                await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen(self) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            self._invalidate()  # announcements may have been missed while disconnected
            self._ready.set()
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is None or message.get("type") != "message":
                    continue
                if message["data"] != self.origin:  # our own writes invalidated at commit
                    self._invalidate()
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
