"""What the catalog's handlers share for the life of the app: settings, stores, caches.

Which reads use the quick reader and which a session, and how writes go: see
`skreg_catalog.writer`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cachetools import LRUCache
from litestar import Request
from skreg_common.quickread import QuickReader
from skreg_common.runtime import Runtime
from skreg_common.throttle import Throttle, throttle
from skreg_proto.bundle import Bundle, BundleLimits
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.blobs.store import BlobStore, DatabaseBlobStore
from skreg_catalog.broadcast import WriteBroadcast
from skreg_catalog.cache import ReadCache
from skreg_catalog.downloads.service import DownloadCounter
from skreg_catalog.rendering import RenderLimits, RenderPool
from skreg_catalog.rendering.stored import BodyRefresher
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.signing.keys import RegistrySigner, load_signer
from skreg_catalog.signing.service import UnsignedVersions
from skreg_catalog.wellknown.archive import ArchiveCache
from skreg_catalog.writer import CatalogWriter

T = TypeVar("T")


@dataclass
class CatalogContext:
    """Built once by the component; handlers receive it as the `catalog` dependency."""

    settings: CatalogSettings
    blobs: BlobStore
    # Parsed bundles by digest, for serving single files (bundles are immutable).
    bundles: LRUCache[str, Bundle] = field(default_factory=lambda: LRUCache(64))
    reads: ReadCache = field(default_factory=lambda: ReadCache(ttl=0, max_entries=0))
    renderer: RenderPool = field(default_factory=lambda: RenderPool(RenderLimits()))
    archives: ArchiveCache = field(default_factory=ArchiveCache)
    # The key versions are signed with, and the start-up pass over unsigned versions.
    signer: RegistrySigner = field(default_factory=RegistrySigner.ephemeral)
    unsigned: UnsignedVersions = field(default_factory=UnsignedVersions)
    # Stores renderings of versions whose stored body HTML is missing or stale.
    bodies: BodyRefresher = field(init=False)
    # The semantic half of search: model, background embedder, in-memory vector index.
    semantic: SemanticSearch = field(init=False)
    # Announces this process's writes to the other replicas (skreg_catalog.broadcast);
    # set up at start-up, when the runtime (and its Redis) exists.
    broadcast: WriteBroadcast | None = None
    _writer: CatalogWriter | None = None
    _counter: DownloadCounter | None = None
    _publish_rate: Throttle | None = None

    def __post_init__(self) -> None:
        self.bodies = BodyRefresher(self.renderer)
        self.semantic = SemanticSearch(
            enabled=self.settings.semantic_search,
            # Vectors other replicas store show up within the read cache's TTL, as their
            # other writes do.
            refresh_seconds=self.settings.read_cache_ttl,
        )

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
        weigh: Callable[[T], int] | None = None,
    ) -> T:
        """A cached read through the runtime's quick reader (no session at all)."""
        runtime: Runtime = request.app.state.runtime
        return await self.reads.get_or_load(key, lambda: load(runtime.quick), weigh)

    @asynccontextmanager
    async def reading(self, runtime: Runtime) -> AsyncIterator[AsyncSession]:
        """A session for reads outside the request's own.

        Nothing is written through it, so it is never committed: closing the session
        rolls back, the one statement the pool would issue after a commit anyway.
        """
        async with runtime.sessions() as session:
            yield session

    def writer(self, runtime: Runtime) -> CatalogWriter:
        """The catalog's one write path on the app's database (made on first use)."""
        if self._writer is None:
            self._writer = CatalogWriter.on(runtime, on_commit=self._committed)
        return self._writer

    def _committed(self) -> None:
        # This process reads its own write at once; the others hear of it over Redis.
        self.reads.invalidate()
        self.semantic.poke()  # published, imported or changed skills may need vectors
        if self.broadcast is not None:
            self.broadcast.announce()

    def other_replica_wrote(self) -> None:
        """Another replica committed: drop read caches, re-read stored vectors (its own
        embedder makes the vectors of what it wrote, so this one does not embed)."""
        self.reads.invalidate()
        self.semantic.stale()

    def downloads(self, runtime: Runtime) -> DownloadCounter:
        """The download counter on the app's database (made on first use)."""
        if self._counter is None:
            self._counter = DownloadCounter(self.writer(runtime))
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
            bundles=LRUCache(settings.bundle_cache_size),
            reads=ReadCache(
                settings.read_cache_ttl, settings.read_cache_entries, settings.read_cache_bytes
            ),
            renderer=RenderPool(settings.render_limits),
            signer=load_signer(settings.signing_key_file, settings.signing_key),
        )
