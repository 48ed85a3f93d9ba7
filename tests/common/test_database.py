"""The database kit behaves the same on SQLite and PostgreSQL; migrations go up, down, up."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator

import pytest
from skreg_common.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    SqliteDriver,
    UTCDateTime,
    create_engine,
    create_sessionmaker,
    is_sqlite,
    rows_affected,
    statement_engine,
    utcnow,
)
from skreg_common.migrate import installed_migrations
from skreg_common.migrations import current_revisions, downgrade, upgrade
from skreg_common.quickread import QuickReader
from sqlalchemy import Column, Integer, MetaData, Table, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import create_pg_database, drop_pg_database

ALL_MIGRATIONS = installed_migrations()


@pytest.fixture
def sqlite_driver(each_sqlite_driver: SqliteDriver) -> SqliteDriver:
    """Every test here runs on both SQLite drivers (tests/common/conftest.py)."""
    return each_sqlite_driver


@pytest.fixture
async def blank_engine(
    backend: str, sqlite_driver: SqliteDriver, tmp_path
) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with nothing in it (not even migrations)."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'blank.db'}", sqlite_driver=sqlite_driver)
        yield engine
        await engine.dispose()
    else:
        dsn = await create_pg_database("skreg_blank")
        engine = create_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
        yield engine
        await engine.dispose()
        await drop_pg_database(dsn)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migrations_up_down_up(blank_engine: AsyncEngine) -> None:
    owned = {t for spec in ALL_MIGRATIONS for t in spec.metadata.tables}
    version_tables = {spec.version_table for spec in ALL_MIGRATIONS}

    await upgrade(blank_engine, ALL_MIGRATIONS)
    after_up = await _tables(blank_engine)
    assert owned | version_tables <= after_up
    heads = await current_revisions(blank_engine, ALL_MIGRATIONS)
    services_with_history = {s.service for s in ALL_MIGRATIONS if s.metadata.tables}
    assert all(heads[name] is not None for name in services_with_history)

    await downgrade(blank_engine, ALL_MIGRATIONS)
    assert not (owned & await _tables(blank_engine))
    assert all(v is None for v in (await current_revisions(blank_engine, ALL_MIGRATIONS)).values())

    await upgrade(blank_engine, ALL_MIGRATIONS)
    assert await _tables(blank_engine) == after_up


async def test_each_service_has_its_own_version_table(blank_engine: AsyncEngine) -> None:
    await upgrade(blank_engine, ALL_MIGRATIONS)
    tables = await _tables(blank_engine)
    for spec in ALL_MIGRATIONS:
        assert f"alembic_version_{spec.service}" in tables
    assert "alembic_version" not in tables


async def test_timestamps_round_trip_as_aware_utc(engine: AsyncEngine) -> None:
    table = Table(
        "tz_probe", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime())
    )
    paris = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=paris)
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
        try:
            await conn.execute(table.insert().values(id=1, at=moment))
            read = (await conn.execute(select(table.c.at))).scalar_one()
        finally:
            await conn.run_sync(table.drop)
    assert read.tzinfo is not None
    assert read.utcoffset() == dt.timedelta(0)
    assert read == moment


SQLITE_STAMPS = [
    "2026-12-05 18:00:00.123456",  # what the DATETIME type writes
    "2026-12-05 18:00:00",  # CURRENT_TIMESTAMP
    "2026-12-05 18:00:00.123",
    "2026-12-05 18:00:00.1234567",
    "2026-12-05T18:00:00",
    "2026-12-05 18:00",
    "2026-12-05",  # a bare date: "+00:00" makes fromisoformat read a naive date
    "20261205",
    "2026-12-05 18:00:00+02:00",
    "2026-12-05 18:00:00Z",
]


@pytest.mark.parametrize("stored", SQLITE_STAMPS)
def test_sqlite_timestamps_read_as_the_general_path_reads_them(stored: str) -> None:
    """The fast SQLite reader of UTCDateTime gives what the impl's parse followed by
    `process_result_value` gives, for the text forms SQLite holds here and nearby ones."""
    kind, dialect = UTCDateTime(), sqlite.dialect()
    fast = kind.result_processor(dialect, None)
    assert fast is not None
    parse = sqlite.DATETIME().result_processor(dialect, None)  # what an engine adapts to
    assert parse is not None
    read = fast(stored)
    assert read == kind.process_result_value(parse(stored), dialect)
    assert read == kind.process_result_value(stored, dialect)  # unadapted (quick reads)
    assert fast(parse(stored)) == read  # an already parsed value too
    assert read.tzinfo is dt.UTC
    assert fast(None) is None
    # PostgreSQL hands back aware datetimes: its processor is SQLAlchemy's own.
    assert kind.result_processor(postgresql.dialect(), None) is not fast


def test_malformed_sqlite_timestamps_fail_as_before() -> None:
    """Text near the stored shapes (a character changed, dropped or added) reads as the
    general path reads it, or fails as it fails: the fast path never makes malformed
    text parse."""
    kind, dialect = UTCDateTime(), sqlite.dialect()
    fast = kind.result_processor(dialect, None)
    assert fast is not None
    rng = random.Random(20261205)
    alphabet = "0123456789-: T.+Z"
    outcomes = {"same value": 0, "both failed": 0}
    for _ in range(5000):
        chars = list(rng.choice(SQLITE_STAMPS[:2]))
        at = rng.randrange(len(chars) + 1)
        edit = rng.choice(("change", "drop", "add"))
        if edit == "change" and at < len(chars):
            chars[at] = rng.choice(alphabet)
        elif edit == "drop" and at < len(chars):
            del chars[at]
        else:
            chars.insert(at, rng.choice(alphabet))
        text = "".join(chars)
        try:
            expected = kind.process_result_value(text, dialect)
        except ValueError:
            with pytest.raises(ValueError):
                fast(text)
            outcomes["both failed"] += 1
            continue
        assert fast(text) == expected, text
        outcomes["same value"] += 1
    assert min(outcomes.values()) > 100, outcomes  # both kinds were put to the test


async def test_naive_timestamps_are_refused(engine: AsyncEngine) -> None:
    table = Table(
        "tz_probe2",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
    )
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
    try:
        with pytest.raises(Exception, match="naive datetime"):
            async with engine.begin() as conn:
                await conn.execute(table.insert().values(id=1, at=dt.datetime(2026, 1, 1)))
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)
    assert utcnow().tzinfo is dt.UTC


async def test_sqlite_pragmas(
    backend: str, sqlite_driver: SqliteDriver, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        if backend == "sqlite":
            assert engine.dialect.driver == sqlite_driver  # the engine names what it runs
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            # The inline driver waits for locks on the loop (tests/common/test_sqlite_inline.py),
            # never inside SQLite's busy handler, which would block the loop; aiosqlite
            # waits in its own thread, in that handler.
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
            assert busy == (0 if sqlite_driver == "inline" else SQLITE_BUSY_TIMEOUT_MS)
        else:
            assert (await conn.execute(text("SHOW TIMEZONE"))).scalar_one()
            assert engine.pool._pre_ping  # type: ignore[attr-defined]


async def test_is_sqlite_and_rows_affected(backend: str, engine: AsyncEngine) -> None:
    """The one "is this SQLite" check, for every thing it takes; the one rowcount reader."""
    expected = backend == "sqlite"
    table = Table("rows_probe", MetaData(), Column("id", Integer, primary_key=True))
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
    try:
        async with create_sessionmaker(engine)() as session:
            targets = (engine.url, str(engine.url), engine, engine.dialect, session)
            assert [is_sqlite(target) for target in targets] == [expected] * 5
            await session.execute(table.insert(), [{"id": i} for i in range(5)])
            updated = await session.execute(
                update(table).where(table.c.id < 3).values(id=table.c.id + 10)
            )
            assert rows_affected(updated) == 3
            nothing = await session.execute(table.delete().where(table.c.id > 100))
            assert rows_affected(nothing) == 0
            await session.rollback()
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)


async def test_transactions_stay_atomic_and_quick_reads_run_statement_by_statement(
    backend: str, engine: AsyncEngine
) -> None:
    """PostgreSQL's pool idles in autocommit (a one-round-trip pre-ping); the engine every
    session and `begin()` use still wraps its work in a transaction, and the engine of
    quick reads (`QuickReader`) runs each statement alone, with no BEGIN before it."""
    table = Table("atomic_probe", MetaData(), Column("id", Integer, primary_key=True))
    async with engine.begin() as conn:
        await conn.run_sync(table.create)
    try:
        async with engine.connect() as conn:
            await conn.execute(table.insert().values(id=1))
            await conn.rollback()
        async with create_sessionmaker(engine)() as session:
            await session.execute(table.insert().values(id=2))
            await session.rollback()
        async with engine.connect() as conn:
            assert (await conn.execute(select(table.c.id))).all() == []
            if backend == "postgresql":
                assert not (await conn.get_raw_connection()).dbapi_connection.autocommit
        async with statement_engine(engine).connect() as conn:
            if backend == "postgresql":
                assert (await conn.get_raw_connection()).dbapi_connection.autocommit
            await conn.execute(table.insert().values(id=3))
            if backend == "sqlite":
                await conn.commit()  # SQLite's engine is the transactional one itself
        async with engine.connect() as conn:  # back to transactions after autocommit use
            await conn.execute(table.insert().values(id=4))
            await conn.rollback()
        reader = QuickReader(engine, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
        assert await reader.all(select(table.c.id), {}) == [{"id": 3}]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.drop)
