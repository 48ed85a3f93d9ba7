"""Hot reads without the session or the pool: one Core select, run the cheapest way.

Measured on the catalog's skill detail (10,000 skills, SQLite, one process): SQLite
answers the query in ~20 µs, but through an AsyncSession the read cost ~600 µs of
CPU (the session, the pool checkout, the ORM's row processing), which held detail
pages to a fifth of `/health`'s throughput (bench/bench_catalog.py). For the few
reads that carry most traffic, `QuickReader.first` / `.all` run the same Core select:

- on SQLite, on one raw autocommit connection, inline on the loop (a WAL reader
  never waits for writers), compiled once per statement; parameters and results go
  through SQLAlchemy's own bind and result processors for the column types, so
  rows come back exactly as they would through SQLAlchemy;
- on PostgreSQL, on SQLite with `SQLITE_DRIVER=aiosqlite` (which runs nothing on
  the loop), and on in-memory SQLite (which a second connection could not see),
  through an engine connection, with no session; on PostgreSQL in autocommit: a
  statement alone needs no BEGIN and ROLLBACK around it, and those two round trips
  (and the pre-ping's two, `skreg_common.db`) were most of a read's cost there
  (a checkout and `SELECT 1` over loopback: 496 µs in a transaction, 293 µs without).

Each call is one statement, so it reads one consistent snapshot (a caller running
two, such as a page and its total, may see a write land between them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled
from sqlalchemy.ext.asyncio import AsyncEngine

from skreg_common.db import is_sqlite, sqlite_location, sqlite_read_pragmas, statement_engine
from skreg_common.sqlite_inline import SQLiteDialect_inline, retry_busy

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Prepared:
    sql: str
    params: tuple[tuple[str, Processor], ...]  # positional order, with bind processors
    columns: tuple[tuple[str, Processor], ...]  # result keys, with result processors
    compiled: Compiled


class QuickReader:
    """Runs Core selects for hot read paths; one per engine (see `Runtime.quick`)."""

    def __init__(self, engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
        self.engine = engine
        self._busy_timeout_ms = busy_timeout_ms
        self._sqlite: sqlite3.Connection | None = None
        self._prepared: dict[int, tuple[Select[Any], _Prepared]] = {}
        self._raw_location = self._raw_sqlite_location(engine)
        # Statement by statement on PostgreSQL (see the module docstring).
        self._reads = statement_engine(engine)

    @staticmethod
    def _raw_sqlite_location(engine: AsyncEngine) -> tuple[str, bool] | None:
        if not is_sqlite(engine) or engine.dialect.driver != SQLiteDialect_inline.driver:
            return None
        database, uri = sqlite_location(engine.url)
        if database == ":memory:" or "mode=memory" in database:
            return None
        return database, uri

    @property
    def inline(self) -> bool:
        """True when reads run on a raw SQLite connection, inline on the loop."""
        return self._raw_location is not None

    @property
    def dialect_name(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    async def first(
        self, statement: Select[Any], params: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The first row of `statement` as a dict of its column keys, or None."""
        rows = await self._rows(statement, params, one=True)
        return rows[0] if rows else None

    async def all(self, statement: Select[Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row of `statement`, each a dict of its column keys."""
        return await self._rows(statement, params, one=False)

    async def _rows(
        self, statement: Select[Any], params: Mapping[str, Any], *, one: bool
    ) -> list[dict[str, Any]]:
        # A list parameter expands into one placeholder per item, so the SQL depends on
        # its length: such statements are compiled per call, by the engine.
        if self._raw_location is None or any(isinstance(v, list) for v in params.values()):
            async with self._reads.connect() as engine_connection:
                found = (await engine_connection.execute(statement, dict(params))).mappings()
                rows = [found.first()] if one else list(found)
                return [dict(row) for row in rows if row is not None]
        prepared = self._prepare(statement)
        values = prepared.compiled.construct_params(dict(params)) or {}
        args = [
            values[name] if process is None else process(values[name])
            for name, process in prepared.params
        ]
        sqlite = self._connection()

        def fetch() -> list[Any]:
            cursor = sqlite.execute(prepared.sql, args)
            if one:
                row = cursor.fetchone()
                return [] if row is None else [row]
            return cursor.fetchall()

        raw = await retry_busy(fetch, self._busy_timeout_ms)
        columns = prepared.columns
        return [
            {
                key: value if process is None else process(value)
                for (key, process), value in zip(columns, row, strict=True)
            }
            for row in raw
        ]

    def _prepare(self, statement: Select[Any]) -> _Prepared:
        # Keyed by identity: hot statements are module constants, built once.
        cached = self._prepared.get(id(statement))
        if cached is not None and cached[0] is statement:
            return cached[1]
        dialect = self.engine.dialect
        compiled = statement.compile(dialect=dialect)
        positions = compiled.positiontup or []
        params = tuple(
            (name, compiled.binds[name].type.bind_processor(dialect)) for name in positions
        )
        columns = tuple(
            (str(column.key), column.type.result_processor(dialect, None))
            for column in statement.selected_columns
        )
        keys = [key for key, _ in columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"quick reads need distinct column keys, got {keys}")
        prepared = _Prepared(compiled.string, params, columns, compiled)
        self._prepared[id(statement)] = (statement, prepared)
        return prepared

    def _connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            assert self._raw_location is not None
            database, uri = self._raw_location
            connection = sqlite3.connect(
                database, uri=uri, timeout=0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only=ON")  # this connection never writes
            sqlite_read_pragmas(connection)
            self._sqlite = connection
        return self._sqlite

    def close(self) -> None:
        """Close the raw SQLite connection, if one was opened."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
