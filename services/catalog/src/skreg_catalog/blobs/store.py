"""Where bundle bytes live: one blob per canonical digest, in the database by default.

Blobs are immutable and content-addressed, so a process may keep recent ones in
memory without any invalidation.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from skreg_common.db import insert_for, utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.blobs.models import Blob


class BlobStore(Protocol):
    """Stores bundles by digest; `put` of a digest already stored is a no-op."""

    async def put(self, session: AsyncSession, digest: str, data: bytes) -> None:
        """Store `data` under `digest` (within the caller's transaction)."""
        ...

    async def get(self, session: AsyncSession, digest: str) -> bytes | None:
        """The bytes stored under `digest`, or None."""
        ...

    def peek(self, digest: str) -> bytes | None:
        """The bytes if this process has them at hand (no I/O), else None."""
        ...


class BytesCache:
    """A small LRU of immutable byte strings, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> bytes | None:
        """The cached value, marked as recently used."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        """Remember `value`; evicts the least recently used until it fits."""
        if len(value) > self._max_bytes // 4 or key in self._items:
            return
        self._items[key] = value
        self._size += len(value)
        while self._size > self._max_bytes:
            _, evicted = self._items.popitem(last=False)
            self._size -= len(evicted)


class DatabaseBlobStore:
    """Blobs in the `catalog_blobs` table, with an in-process cache of recent reads."""

    def __init__(self, cache_bytes: int = 32 * 1024**2) -> None:
        self._cache = BytesCache(cache_bytes)

    async def put(self, session: AsyncSession, digest: str, data: bytes) -> None:
        """Insert unless present (refilling a purged one); concurrent publishers both succeed.

        On PostgreSQL the upsert locks an existing row until commit even when it
        changes nothing, which is what keeps the purge command from emptying a blob
        a publish in flight is about to refer to (skreg_catalog.purge).
        """
        insert = insert_for(session)
        statement = insert(Blob).values(
            digest=digest, data=data, size=len(data), created_at=utcnow()
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Blob.digest],
            set_={"data": statement.excluded.data, "purged_at": None},
            where=Blob.purged_at.is_not(None),
        )
        await session.execute(statement)

    def peek(self, digest: str) -> bytes | None:
        """Recently read bytes for `digest`, if still in memory."""
        return self._cache.get(digest)

    async def get(self, session: AsyncSession, digest: str) -> bytes | None:
        """The bytes for `digest`, from memory when recently read."""
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        query = select(Blob.data).where(Blob.digest == digest, Blob.purged_at.is_(None))
        data = (await session.execute(query)).scalar()
        if data is not None:
            self._cache.put(digest, bytes(data))
        return None if data is None else bytes(data)
