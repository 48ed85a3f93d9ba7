"""Where bundle bytes live: one blob per canonical digest, in the database by default.

Blobs are immutable and content-addressed, so a process may keep recent ones in
memory without any invalidation.
"""

from __future__ import annotations

from typing import Protocol

from skreg_common.db import insert_for, utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.blobs.models import Blob
from skreg_catalog.memory import SizedLRU


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


class DatabaseBlobStore:
    """Blobs in the `catalog_blobs` table, with an in-process cache of recent reads."""

    def __init__(self, cache_bytes: int = 32 * 1024**2) -> None:
        self._cache: SizedLRU[bytes] = SizedLRU(cache_bytes, len)

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
            self._cache.remember(digest, bytes(data))
        return None if data is None else bytes(data)
