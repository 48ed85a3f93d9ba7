"""What the catalog's handlers share for the life of the app: settings, stores, caches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from litestar import Request
from skreg_common.db import unit_of_work
from skreg_common.quickread import QuickReader
from skreg_common.runtime import Runtime
from skreg_common.throttle import Throttle, throttle
from skreg_proto.bundle import Bundle, BundleLimits
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.blobs.store import BlobStore, DatabaseBlobStore
from skreg_catalog.cache import ReadCache
from skreg_catalog.downloads.service import DownloadCounter
from skreg_catalog.rendering import RenderLimits, RenderPool
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.wellknown.archive import ArchiveCache

T = TypeVar("T")


class BundleCache:
    """Parsed bundles by digest, for serving single files (bundles are immutable)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: dict[str, Bundle] = {}

    def get(self, digest: str) -> Bundle | None:
        """A parsed bundle, if recently used."""
        bundle = self._items.pop(digest, None)
        if bundle is not None:
            self._items[digest] = bundle  # re-insert: dicts keep order, so this is LRU
        return bundle

    def put(self, digest: str, bundle: Bundle) -> None:
        """Remember a parsed bundle, forgetting the least recently used past the size."""
        self._items[digest] = bundle
        while len(self._items) > self._size:
            self._items.pop(next(iter(self._items)))


@dataclass
class CatalogContext:
    """Built once by the component; handlers receive it as the `catalog` dependency."""

    settings: CatalogSettings
    blobs: BlobStore
    bundles: BundleCache = field(default_factory=lambda: BundleCache(64))
    reads: ReadCache = field(default_factory=lambda: ReadCache(ttl=0, max_entries=0))
    renderer: RenderPool = field(default_factory=lambda: RenderPool(RenderLimits()))
    archives: ArchiveCache = field(default_factory=ArchiveCache)
    _counter: DownloadCounter | None = None
    _publish_rate: Throttle | None = None
    _write_lock: asyncio.Lock | None = None

    @property
    def limits(self) -> BundleLimits:
        """Bundle limits from the settings."""
        return self.settings.bundle_limits

    async def read(
        self,
        request: Request[Any, Any, Any],
        key: Hashable,
        load: Callable[[AsyncSession], Awaitable[T]],
        weigh: Callable[[T], int] | None = None,
    ) -> T:
        """A cached read; only a miss opens a session (one read transaction, as a request would).

        Cached endpoints do not take the `db_session` dependency: setting it up costs
        as much as serving a cache hit.
        """
        runtime: Runtime = request.app.state.runtime

        async def miss() -> T:
            async with self.reading(runtime) as session:
                return await load(session)

        return await self.reads.get_or_load(key, miss, weigh)

    async def read_quick(
        self,
        request: Request[Any, Any, Any],
        key: Hashable,
        load: Callable[[QuickReader], Awaitable[T]],
    ) -> T:
        """A cached read through the runtime's quick reader (no session at all)."""
        runtime: Runtime = request.app.state.runtime
        return await self.reads.get_or_load(key, lambda: load(runtime.quick))

    @asynccontextmanager
    async def reading(self, runtime: Runtime) -> AsyncIterator[AsyncSession]:
        """A session for reads outside the request's own.

        Nothing is written through it, so it is never committed: closing the session
        rolls back, the one statement the pool would issue after a commit anyway.
        """
        async with runtime.sessions() as session:
            yield session

    @asynccontextmanager
    async def writing(self, runtime: Runtime) -> AsyncIterator[AsyncSession]:
        """One write transaction, committed before the block ends (rolled back on error).

        On SQLite this process's writers take turns on an asyncio lock held until the
        commit: SQLite has one writer, and a transaction that finds the lock taken
        backs off (1, 2, 5 … 100 ms sleeps, skreg_common.sqlite_inline) instead of starting the
        moment the writer commits. With 32 concurrent publishers that sleeping was
        most of a publish's latency and cut throughput below one publisher's
        (bench/bench_catalog.py). Do the CPU work (bundle checks) before entering.
        """
        async with self._write_gate(runtime), unit_of_work(runtime.sessions) as session:
            yield session

    def _write_gate(self, runtime: Runtime) -> AbstractAsyncContextManager[Any]:
        lock = self.write_lock(runtime)
        return nullcontext() if lock is None else lock

    def write_lock(self, runtime: Runtime) -> asyncio.Lock | None:
        """The lock this process's SQLite writers share (None on PostgreSQL: row locks do)."""
        if runtime.engine.dialect.name != "sqlite":
            return None
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    def downloads(self, runtime: Runtime) -> DownloadCounter:
        """The download counter on the app's database (made on first use)."""
        if self._counter is None:
            self._counter = DownloadCounter(
                runtime.sessions, lock=self.write_lock(runtime), on_counted=self.reads.invalidate
            )
        return self._counter

    def publish_rate(self, runtime: Runtime) -> Throttle:
        """Each user's publish budget, shared over Redis when the process has it."""
        if self._publish_rate is None:
            self._publish_rate = throttle(
                runtime.redis,
                prefix="skreg:catalog:publish:",
                window=self.settings.publish_rate_window,
            )
        return self._publish_rate

    @classmethod
    def create(cls, settings: CatalogSettings) -> CatalogContext:
        """The default stores for `settings`."""
        return cls(
            settings=settings,
            blobs=DatabaseBlobStore(),
            bundles=BundleCache(settings.bundle_cache_size),
            reads=ReadCache(
                settings.read_cache_ttl, settings.read_cache_entries, settings.read_cache_bytes
            ),
            renderer=RenderPool(settings.render_limits),
        )
