"""A small in-process cache of read results, dropped whenever this process writes.

Reads of skills, versions, search pages, tags and stats are cached for a short
time (`READ_CACHE_TTL`, seconds). Every write handled by this process bumps a
generation *after its transaction committed* (`skreg_catalog.writer`), which
invalidates everything cached before, so a process always reads its own writes.
Writes made by other replicas become visible within the TTL; the embedded
default is a single process, where the cache is always exact. TTL 0 disables it.

Entries remember the generation current when their read *started*: a read that
raced a write and saw the old data is never served after that write. An expired
entry of the current generation is served once more while one background load
refreshes it (stale-while-revalidate), so hot keys never stall a burst of readers;
entries are thus at most TTL plus one load old. The entries themselves live in
cachetools' LRU (`skreg_catalog.memory.SizedLRU`), bounded by number and by bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, NamedTuple, TypeVar

from skreg_catalog.memory import SizedLRU

T = TypeVar("T")


class _Entry(NamedTuple):
    generation: int  # current when the read that produced `value` started
    expires: float  # monotonic seconds
    value: Any
    weight: int  # bytes, as the caller weighed it (0: not weighed)


class ReadCache:
    """Bounded LRU of read results with a TTL and a write generation.

    Bounded by entries, and by bytes for the values a caller weighs (`weigh`): a
    version's detail carries its whole body, and 4096 of them could hold gigabytes.
    """

    def __init__(self, ttl: float, max_entries: int, max_bytes: int = 64 * 1024**2) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.generation = 0
        self._entries: SizedLRU[_Entry] = SizedLRU(
            max_bytes, lambda entry: entry.weight, max_entries=max_entries
        )
        self._inflight: dict[Hashable, tuple[int, asyncio.Future[Any]]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()

    @property
    def bytes(self) -> int:
        """The weighed bytes held now."""
        return int(self._entries.currsize)

    def invalidate(self) -> None:
        """Forget everything (this process just committed a write)."""
        self.generation += 1
        self._entries.clear()

    async def get_or_load(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        weigh: Callable[[T], int] | None = None,
    ) -> T:
        """The cached value for `key`, or `load()` (cached unless a write happened meanwhile).

        `weigh` gives a value's size in bytes, counted against `max_bytes`.
        """
        if self.ttl <= 0:
            return await load()
        now = time.monotonic()
        entry = self._entries.get(key)  # a hit moves it to the LRU's recent end
        flight = self._inflight.get(key)
        if entry is not None and entry.generation == self.generation:
            value: T = entry.value
            if entry.expires <= now and flight is None:
                # Stale while revalidating: answer from the entry at once, refresh it in
                # the background (nothing changed here since it was loaded: same generation).
                self._refresh(key, load, now, weigh)
            return value
        if flight is not None and flight[0] == self.generation:
            # Single flight: when an entry expires under load, one request reloads it
            # and the others wait for that result instead of all querying at once.
            shared = flight[1]
            try:
                result: T = await asyncio.shield(shared)
                return result
            except BaseException:
                if not shared.done():  # we were cancelled ourselves
                    raise
                # The loader failed (or was cancelled): load for ourselves below.
        return await self._load(key, load, now, weigh)

    def _refresh(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        now: float,
        weigh: Callable[[T], int] | None,
    ) -> None:
        async def run() -> None:
            try:
                await self._load(key, load, now, weigh)
            except Exception:  # the next reader loads it again and sees the error itself
                self._forget(key)

        task = asyncio.get_running_loop().create_task(run())
        self._refreshing.add(task)
        task.add_done_callback(self._refreshing.discard)

    def _forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    async def _load(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        now: float,
        weigh: Callable[[T], int] | None = None,
    ) -> T:
        started = self.generation
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = (started, future)
        try:
            value = await load()
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # mark it retrieved: waiters handle it, nobody logs it
            else:
                future.cancel()
            raise
        finally:
            if self._inflight.get(key, (None, None))[1] is future:
                del self._inflight[key]
        future.set_result(value)
        weight = weigh(value) if weigh is not None else 0
        if started == self.generation and weight <= self.max_bytes and self.max_entries > 0:
            self._entries[key] = _Entry(started, now + self.ttl, value, weight)
        return value
