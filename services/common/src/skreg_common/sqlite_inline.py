"""SQLite for asyncio without a thread per connection: statements run on the event loop.

aiosqlite gives each connection a thread and runs every call there (open a cursor,
execute, fetch, close, commit), waking the loop with each result. A point lookup
takes SQLite microseconds, but each of those hand-offs costs tens of microseconds
plus a fight for the GIL, and a query is about five of them: on the catalog's detail
page they were most of the request (bench/bench_catalog.py). Here the same calls run
inline; SQLAlchemy's aiosqlite dialect drives this object exactly as it drives an
aiosqlite connection (`async_creator`), so nothing else changes. The dialect is
registered under its own name, `sqlite+inline` (`SQLiteDialect_inline`), so an
engine's URL and `dialect.driver` say which driver really runs.

What this leans on is SQLAlchemy's private adapter for aiosqlite
(`sqlalchemy.dialects.sqlite.aiosqlite`): the attributes it reaches on the
connection (`_conn`, `_tx`, `_connection`, `stop` …) and on the cursor. The versions
this was checked against are pinned with upper bounds in services/common/pyproject.toml,
tests/common/test_sqlite_driver_contract.py fails loudly when the adapter changes, and
`SQLITE_DRIVER=aiosqlite` switches back to plain aiosqlite (`skreg_common.db`).

The one call that could stall the loop is a wait for a lock another transaction
holds, and in the all-in-one process that transaction is often on this same loop
(a blocking wait there would never end). So the connection's own busy timeout is 0,
and a statement that finds the database locked (`SQLITE_BUSY`) sleeps on the loop
(1, 2, 5 … 100 ms) and tries again, for `busy_timeout_ms` in all, as SQLite's own
busy handler would. `SQLITE_BUSY_SNAPSHOT` (a write on a stale read snapshot) is
not retried: only a new transaction can succeed, so the error goes up as it would.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

T = TypeVar("T")

INLINE_DRIVERNAME = "sqlite+inline"

# SQLite's own busy handler steps (sqlite3.c, sqliteDefaultBusyCallback), in seconds.
_BACKOFF = (0.001, 0.002, 0.005, 0.010, 0.015, 0.020, 0.025, 0.025, 0.025, 0.050, 0.050, 0.100)


async def retry_busy(call: Callable[[], T], busy_timeout_ms: int) -> T:
    """`call()`, retried after a sleep on the loop while SQLite answers plain SQLITE_BUSY."""
    deadline: float | None = None
    attempt = 0
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + busy_timeout_ms / 1000
            if now >= deadline:
                raise
            delay = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
            attempt += 1
            await asyncio.sleep(min(delay, deadline - now))


class InlineCursor:
    """The aiosqlite cursor interface over a `sqlite3.Cursor`, run in place."""

    def __init__(self, cursor: sqlite3.Cursor, busy_timeout_ms: int) -> None:
        self._cursor = cursor
        self._busy_timeout_ms = busy_timeout_ms

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        args = () if parameters is None else parameters
        await retry_busy(lambda: self._cursor.execute(sql, args), self._busy_timeout_ms)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)  # a retry must see every row again
        await retry_busy(lambda: self._cursor.executemany(sql, rows), self._busy_timeout_ms)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *_: Any) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Immediate:
    """Stands in for aiosqlite's request queue: SQLAlchemy puts `(future, function)` on
    it to change the isolation level; the function runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the waiter, as aiosqlite would
            future.set_exception(error)


class InlineConnection:
    """The aiosqlite connection interface SQLAlchemy uses, over one `sqlite3.Connection`."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self._conn = connection
        # SQLAlchemy checks `_connection` to know whether the connection is still open.
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Immediate()
        self._busy_timeout_ms = busy_timeout_ms

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self._busy_timeout_ms)

    async def commit(self) -> None:
        await retry_busy(self._conn.commit, self._busy_timeout_ms)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is None:
            raise ValueError("Connection closed")  # what aiosqlite says; SQLAlchemy expects it
        self._connection = None
        self._conn.close()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def inline_connector(
    database: str, *, uri: bool, busy_timeout_ms: int
) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for `create_async_engine` opening `database` inline."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from another thread
        # at interpreter exit; SQLite itself is built serialised.
        raw = sqlite3.connect(database, timeout=0, uri=uri, check_same_thread=False)
        return InlineConnection(raw, busy_timeout_ms)

    return connect


class SQLiteDialect_inline(SQLiteDialect_aiosqlite):  # noqa: N801 - SQLAlchemy's naming
    """SQLAlchemy's aiosqlite dialect under the name of the driver it drives here.

    Engines must be given `async_creator=inline_connector(...)` (skreg_common.db does).
    """

    driver = "inline"
    supports_statement_cache = True


registry.register(INLINE_DRIVERNAME.replace("+", "."), __name__, "SQLiteDialect_inline")
