"""How the catalog touches its database: one write path, and one rule for reads.

**Writes.** Every change the catalog makes (publishing, by users and by the importer,
yank, unyank, delete, deprecation, and counting a download) runs inside
`CatalogWriter.transaction()`: one unit of work, committed when the block ends and
rolled back on any exception, so nothing is ever half-written. Handlers receive the
writer as the `writer` dependency (`skreg_catalog.component`); nothing in the catalog
writes through `db_session` or a reading session.

On SQLite this process's writers take turns on one asyncio lock held until the
commit: SQLite has one writer, and a transaction that finds its lock taken backs off
(1, 2, 5 … 100 ms sleeps, `skreg_common.sqlite_inline`) instead of starting the moment
the writer commits. With 32 concurrent publishers that sleeping was most of a
publish's latency and cut throughput below one publisher's (bench/bench_catalog.py).
Taking the turn before the first statement also means every read inside a write sees
the state the write changes, never a snapshot from before another writer's commit.
PostgreSQL needs no turn: the writes lock the rows they change (`SELECT … FOR UPDATE`).
Do CPU work (checking a bundle) before entering: the turn is held until the commit.
After the commit the read cache forgets everything (`skreg_catalog.cache`), so this
process always reads its own writes.

**Reads.** The rule: a read that is one Core select whose rows go straight into a
response uses the quick reader (`Runtime.quick`, through `CatalogContext.read_quick`;
`skreg_common.quickread`); a read that needs ORM objects, or several statements that
must agree on one snapshot, takes a session (`CatalogContext.read` / `.reading`).
Inside a write, every read uses the writer's session: only it sees the transaction's
own changes and holds its locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any

from skreg_common.db import is_sqlite, unit_of_work
from skreg_common.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def _nothing() -> None:
    return None


class CatalogWriter:
    """The catalog's one unit of work for writes (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        take_turns: bool,
        on_commit: Callable[[], None] = _nothing,
    ) -> None:
        self._sessions = sessions
        self._turn = asyncio.Lock() if take_turns else None
        self._on_commit = on_commit

    @classmethod
    def on(cls, runtime: Runtime, on_commit: Callable[[], None] = _nothing) -> CatalogWriter:
        """The writer for the runtime's database (writers take turns on SQLite)."""
        return cls(runtime.sessions, take_turns=is_sqlite(runtime.engine), on_commit=on_commit)

    @property
    def takes_turns(self) -> bool:
        """Whether writers of this process wait for each other (SQLite)."""
        return self._turn is not None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One write transaction: committed when the block ends, rolled back on error."""
        async with self._wait_for_turn(), unit_of_work(self._sessions) as session:
            yield session
        self._on_commit()

    def _wait_for_turn(self) -> AbstractAsyncContextManager[Any]:
        return nullcontext() if self._turn is None else self._turn
