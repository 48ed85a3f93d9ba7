"""Hot reads without the session or the pool: one Core select, run the cheapest way.

Measured on the catalog's skill detail (10,000 skills, SQLite, one process): SQLite
answers the query in ~20 µs, but through an AsyncSession the read cost ~600 µs of
CPU (the session, the pool checkout, the ORM's row processing), which held detail
pages to a fifth of `/health`'s throughput (bench/bench_catalog.py). For the few
reads that carry most traffic, `QuickReader.first` runs the same Core select:

- on SQLite, on one raw autocommit connection, inline on the loop (a WAL reader
  never waits for writers), compiled once per statement; parameters and results go
  through SQLAlchemy's own bind and result processors for the column types, so
  rows come back exactly as they would through SQLAlchemy;
- on PostgreSQL (and in-memory SQLite, which a second connection could not see),
  through an engine connection, with no session.

Each call is one statement, so it reads one consistent snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Compiled
from sqlalchemy.ext.asyncio import AsyncEngine

from skreg_common.sqlite_inline import retry_busy

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

    @staticmethod
    def _raw_sqlite_location(engine: AsyncEngine) -> tuple[str, bool] | None:
        url = engine.url
        if url.get_backend_name() != "sqlite":
            return None
        database = url.database or ":memory:"
        uri = str(url.query.get("uri", "")).lower() in ("true", "1")
        if database == ":memory:" or "mode=memory" in database:
            return None
        return database, uri

    async def first(
        self, statement: Select[Any], params: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The first row of `statement` as a mapping of its column keys, or None."""
        if self._raw_location is None:
            async with self.engine.connect() as engine_connection:
                found = (await engine_connection.execute(statement, dict(params))).mappings()
                row = found.first()
                return None if row is None else dict(row)
        prepared = self._prepare(statement)
        values = prepared.compiled.construct_params(dict(params)) or {}
        args = [
            values[name] if process is None else process(values[name])
            for name, process in prepared.params
        ]
        sqlite = self._connection()
        raw = await retry_busy(
            lambda: sqlite.execute(prepared.sql, args).fetchone(), self._busy_timeout_ms
        )
        if raw is None:
            return None
        return {
            key: value if process is None else process(value)
            for (key, process), value in zip(prepared.columns, raw, strict=True)
        }

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
            self._sqlite = connection
        return self._sqlite

    def close(self) -> None:
        """Close the raw SQLite connection, if one was opened."""
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
