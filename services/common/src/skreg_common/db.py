"""Database set-up that behaves the same on SQLite and PostgreSQL.

SQLite gets WAL and foreign keys on every connection; PostgreSQL gets a pool with
pre-ping. Timestamps are timezone-aware UTC on both.

`DATABASE_URL` names the database, and for SQLite nothing more: `sqlite:///path`,
`sqlite+aiosqlite:///path` (what older configurations say) and `sqlite+inline:///path`
all open the same file, with the driver chosen by the `SQLITE_DRIVER` setting:

- `inline` (the default): statements run on the event loop and wait for locks there
  (`skreg_common.sqlite_inline`); the engine's URL says `sqlite+inline`;
- `aiosqlite`: plain aiosqlite (a thread per connection), the way back should a
  SQLAlchemy upgrade break the inline driver; nothing then runs SQLite on the loop.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import msgspec
from sqlalchemy import DateTime, MetaData, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, CursorResult, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from skreg_common.sqlite_inline import INLINE_DRIVERNAME, inline_connector

SQLITE_BUSY_TIMEOUT_MS = 10_000

SqliteDriver = Literal["inline", "aiosqlite"]

# Explicit constraint names so Alembic can alter them on both backends (SQLite batch mode).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The same names advanced-alchemy's `convention` gives, except unique constraints over
# several columns (`column_0_N_name`): switching would rename constraints migrations made.
def new_metadata() -> MetaData:
    """A MetaData with the shared naming convention; one per service."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


_from_iso = dt.datetime.fromisoformat
_STORED_LENGTHS = (19, 26)  # "2026-12-05 18:00:00" and "2026-12-05 18:00:00.123456"


# advanced_alchemy.types.DateTimeUTC does the same. Not taken: installed, advanced-alchemy
# is imported by every `import litestar` (litestar.pagination: +270 modules per process),
# for these 20 lines, and it raises a bare TypeError where this says what to use.
class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always stored as UTC and always read back timezone-aware.

    SQLite has no time zones, so naive values read from it are UTC by construction.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use skreg_common.db.utcnow()")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if is_sqlite(dialect) else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        general = super().result_processor(dialect, coltype)
        if general is None or not is_sqlite(dialect):
            return general

        def process(value: Any) -> Any:
            # SQLite hands back naive UTC text ("2026-12-05 18:00:00.123456"): read it as
            # UTC in one C call. The general path (the impl's parse, then
            # `replace(tzinfo=)`, which parses keywords) cost 1.3 µs a value against 0.27,
            # a sixth of fetching a search page's 21 rows (py-spy). Only the two shapes
            # written here (the DATETIME type's, CURRENT_TIMESTAMP's): appending an offset
            # to other text could make malformed text parse; it takes the general path.
            if isinstance(value, str) and len(value) in _STORED_LENGTHS and value[-1:].isdigit():
                try:
                    stamp = _from_iso(value + "+00:00")
                except ValueError:
                    return general(value)
                if stamp.tzinfo is dt.UTC:
                    return stamp
            return general(value)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite may hand back text
            value = dt.datetime.fromisoformat(value)
        stamp: dt.datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=dt.UTC)
        return stamp.astimezone(dt.UTC)


def insert_for(session: AsyncSession) -> Any:
    """The session's dialect `insert`, the one with `on_conflict_do_nothing/_update`
    (the few statements that differ between SQLite and PostgreSQL: upserts)."""
    return sqlite.insert if is_sqlite(session) else postgresql.insert


def is_sqlite(target: str | URL | Dialect | AsyncEngine | AsyncSession) -> bool:
    """True when a URL, dialect, engine or session talks to SQLite (the one "is this
    SQLite" check)."""
    if isinstance(target, AsyncSession):
        return target.get_bind().dialect.name == "sqlite"
    if isinstance(target, AsyncEngine):
        return target.dialect.name == "sqlite"
    if isinstance(target, Dialect):
        return target.name == "sqlite"
    return str(target).startswith("sqlite")


def rows_affected(result: Any) -> int:
    """How many rows an UPDATE/DELETE touched (the one `rowcount` reader).

    `Session.execute` is typed as returning `Result`, which has no `rowcount`; DML through it
    returns a `CursorResult`, which does. Anything else touched nothing we can count.
    """
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


# Reads of the database file through a memory map instead of a read() per page: a
# version page read at 10k skills in rotation (pages mostly outside SQLite's own
# cache) went from 23 to 13 µs of SQL. Address space, not memory: the pages are the
# OS's file cache, shared and reclaimable. Past this size, the rest is read() as before.
SQLITE_MMAP_BYTES = 1 << 30


def sqlite_read_pragmas(connection: Any) -> None:
    """The pragmas every SQLite connection of ours reads with (`connection`: a DB-API one)."""
    connection.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # No busy_timeout here: the inline driver waits for locks itself, on the loop;
    # aiosqlite connections get theirs from `timeout` (create_engine).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; fsync per checkpoint
    sqlite_read_pragmas(cursor)
    cursor.close()


def sqlite_location(url: str | URL) -> tuple[str, bool]:
    """The database path (or `file:` URI, then True) of a SQLite URL."""
    parsed = make_url(url)
    uri = str(parsed.query.get("uri", "")).lower() in ("true", "1")
    return parsed.database or ":memory:", uri


def sqlite_engine_url(url: str | URL, driver: SqliteDriver) -> URL:
    """A SQLite `DATABASE_URL` with the driver `SQLITE_DRIVER` chose (whatever it named)."""
    drivername = INLINE_DRIVERNAME if driver == "inline" else "sqlite+aiosqlite"
    return make_url(url).set(drivername=drivername)


def read_json(text: str | bytes) -> Any:
    """The engine's JSON column reader: msgspec's decoder (about 10x the standard library's:
    a version's manifest, front matter and tags, each search hit's tags), falling back to
    `json.loads` for what only it accepts (`NaN` or `Infinity` from a YAML front matter)."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    connect_timeout: float = 5.0,
    pool_timeout: float = 10.0,
    echo: bool = False,
    sqlite_driver: SqliteDriver = "inline",
) -> AsyncEngine:
    """Create the async engine for `url` with the per-backend settings described above."""
    if is_sqlite(url):
        database, uri = sqlite_location(url)
        if sqlite_driver == "inline":
            connector = inline_connector(database, uri=uri, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
            engine = create_async_engine(
                sqlite_engine_url(url, "inline"),
                echo=echo,
                async_creator=connector,
                json_deserializer=read_json,
            )
        else:  # aiosqlite's thread waits for locks in SQLite's own busy handler
            engine = create_async_engine(
                sqlite_engine_url(url, "aiosqlite"),
                echo=echo,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                json_deserializer=read_json,
            )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # pre-ping replaces connections a PostgreSQL restart killed; the timeouts keep a
    # request from hanging while it is away (it gets a 503: skreg_common.outages).
    pooled = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": connect_timeout},
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_deserializer=read_json,
        # Idle pooled connections are in autocommit, so the pre-ping is one round trip
        # (asyncpg's adapter wraps it in BEGIN ... ROLLBACK otherwise: three) and single
        # statements (`skreg_common.quickread`) need no transaction around them.
        isolation_level="AUTOCOMMIT",
    )
    # Everything else gets transactions, at PostgreSQL's default level, on the same pool.
    engine = pooled.execution_options(isolation_level="READ COMMITTED")
    _STATEMENT_ENGINES[engine.sync_engine] = pooled
    return engine


# The autocommit engine beneath each PostgreSQL engine `create_engine` made (an engine
# derived from a transactional one stays transactional: the first level set wins).
_STATEMENT_ENGINES: weakref.WeakKeyDictionary[Any, AsyncEngine] = weakref.WeakKeyDictionary()


def statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads of one statement each, outside any transaction: on
    PostgreSQL, `engine`'s own pool in autocommit; otherwise `engine` itself."""
    return _STATEMENT_ENGINES.get(engine.sync_engine, engine)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (we return Structs built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


# advanced-alchemy's Litestar plugin (SQLAlchemyPlugin) would own the session-per-request
# plumbing, but around an engine it builds per app: the all-in-one process shares one
# Runtime engine between services, and the catalog writes through its own unit of work
# (skreg_catalog.writer) with a writer's turn on SQLite, which the plugin has no place for.
@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends cleanly, rolled back on any exception.

    Requests get this through `provide_db_session`; jobs use it directly.
    """
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
