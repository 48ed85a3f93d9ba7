"""The inline SQLite driver: lock waits happen on the loop, and quick reads match SQLAlchemy's.

Timings (how long a wait lets the loop run, what a query costs inline and through
aiosqlite) are printed by bench/bench_sqlite_inline.py; here only what bounds them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from pathlib import Path
from threading import get_ident
from typing import Any

import pytest
from skreg_common.db import SqliteDriver, UTCDateTime, create_engine
from skreg_common.quickread import QuickReader
from skreg_common.sqlite_inline import inline_connector, retry_busy
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("tags", JSON),
    Column("flag", Boolean),
    Column("at", UTCDateTime()),
)
BY_NAME = select(things).where(things.c.name == bindparam("name"))
AT = dt.datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=dt.UTC)


async def _filled(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            things.insert().values(id=1, name="one", tags=["a", "b"], flag=True, at=AT)
        )


@pytest.fixture
async def file_engine(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'inline.db'}")
    await _filled(engine)
    yield engine
    await engine.dispose()


async def test_a_locked_database_is_waited_for_on_the_loop(file_engine: AsyncEngine) -> None:
    """A second writer waits (without blocking the loop) until the first commits.

    The test's own coroutine keeps running while the second writer is stuck: a wait
    inside SQLite's busy handler would hold the loop until the writer had finished.
    How long the wait lets the loop run is measured in bench/bench_sqlite_inline.py.
    """

    async def second_writer() -> None:
        async with file_engine.begin() as conn:
            await conn.execute(things.update().where(things.c.id == 1).values(name="second"))

    async with file_engine.begin() as first:
        await first.execute(things.update().where(things.c.id == 1).values(name="first"))
        waiting = asyncio.create_task(second_writer())
        for _ in range(20):  # hand the loop to the writer again and again
            await asyncio.sleep(0)
        assert not waiting.done()  # it is waiting, and we are running
    await asyncio.wait_for(waiting, 30)
    async with file_engine.connect() as conn:
        assert (await conn.execute(select(things.c.name))).scalar_one() == "second"


async def test_a_lock_held_too_long_fails_after_bounded_retries(file_engine: AsyncEngine) -> None:
    """The wait gives up after the busy timeout, having tried at most once per backoff step.

    What bounds the cost is the number of attempts (each a sleep on the loop between),
    not a wall-clock figure (bench/bench_sqlite_inline.py prints those).
    """
    database = file_engine.url.database
    assert database is not None
    holder = sqlite3.connect(database, isolation_level=None)
    contender = sqlite3.connect(database, timeout=0, isolation_level=None)
    attempts = 0

    def write() -> None:
        nonlocal attempts
        attempts += 1
        contender.execute("BEGIN IMMEDIATE")

    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await retry_busy(write, busy_timeout_ms=60)
    finally:
        holder.close()
        contender.close()
    # The 60 ms deadline falls in the seventh backoff step (1+2+5+10+15+20 = 53 ms):
    # at most 7 sleeps, so 8 attempts; at least one retry after the first failure.
    assert 2 <= attempts <= 8


async def test_the_busy_timeout_reaches_the_engine(file_engine: AsyncEngine) -> None:
    database = file_engine.url.database
    assert database is not None
    impatient = create_async_engine(
        str(file_engine.url),
        async_creator=inline_connector(database, uri=False, busy_timeout_ms=50),
    )
    try:
        async with file_engine.begin() as holder:
            await holder.execute(things.update().values(name="held"))
            with pytest.raises(OperationalError, match="locked"):
                async with impatient.begin() as conn:
                    await conn.execute(things.update().values(name="never"))
    finally:
        await impatient.dispose()
    async with file_engine.connect() as conn:
        assert (await conn.execute(select(things.c.name))).scalar_one() == "held"


@pytest.mark.parametrize("driver", ["inline", "aiosqlite"])
async def test_statements_run_on_the_loop_thread_only_inline(
    driver: SqliteDriver, tmp_path: Path
) -> None:
    """What makes the inline driver cheap: no thread per connection, no hop per call.

    A SQL function records the thread each statement runs on: the loop's own thread
    inline, aiosqlite's worker otherwise.
    """
    engine = create_engine(f"sqlite:///{tmp_path / 'threads.db'}", sqlite_driver=driver)
    seen: list[int] = []

    @event.listens_for(engine.sync_engine, "connect")
    def add_function(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("thread_probe", 0, lambda: seen.append(get_ident()))

    before = threading.active_count()
    try:
        async with engine.connect() as conn:
            for _ in range(3):
                await conn.execute(text("SELECT thread_probe()"))
            threads_while_open = threading.active_count()
    finally:
        await engine.dispose()
    assert len(seen) == 3
    if driver == "inline":
        assert set(seen) == {get_ident()}
        assert threads_while_open == before
    else:
        assert get_ident() not in seen
        assert threads_while_open == before + 1  # aiosqlite's thread for the connection


@pytest.fixture
def sqlite_driver(each_sqlite_driver: SqliteDriver) -> SqliteDriver:
    """The `engine` tests here run on both SQLite drivers (tests/common/conftest.py)."""
    return each_sqlite_driver


async def test_quick_read_matches_sqlalchemy(
    backend: str, sqlite_driver: SqliteDriver, engine: AsyncEngine
) -> None:
    """Same values, processed the same way, on SQLite (raw when inline, else through the
    engine, as on PostgreSQL)."""
    await _filled(engine)
    try:
        reader = QuickReader(engine, busy_timeout_ms=1000)
        assert reader.inline == (backend == "sqlite" and sqlite_driver == "inline")
        try:
            row = await reader.first(BY_NAME, {"name": "one"})
            async with engine.connect() as conn:
                expected = (await conn.execute(BY_NAME, {"name": "one"})).mappings().one()
            assert row == dict(expected)
            assert row == {"id": 1, "name": "one", "tags": ["a", "b"], "flag": True, "at": AT}
            assert await reader.first(BY_NAME, {"name": "none"}) is None
            # Committed writes are visible to the next quick read at once.
            async with engine.begin() as conn:
                await conn.execute(things.update().values(flag=False))
            again = await reader.first(BY_NAME, {"name": "one"})
            assert again is not None
            assert again["flag"] is False
        finally:
            reader.close()
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)


async def test_quick_reads_of_an_in_memory_database_use_the_engine() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        await _filled(engine)
        reader = QuickReader(engine, busy_timeout_ms=1000)
        assert await reader.first(BY_NAME, {"name": "one"}) == {
            "id": 1,
            "name": "one",
            "tags": ["a", "b"],
            "flag": True,
            "at": AT,
        }
    finally:
        await engine.dispose()


async def test_quick_reads_never_write(file_engine: AsyncEngine) -> None:
    reader = QuickReader(file_engine, busy_timeout_ms=1000)
    try:
        await reader.first(BY_NAME, {"name": "one"})
        connection = reader._connection()
        with pytest.raises(sqlite3.OperationalError, match=r"readonly"):
            connection.execute("DELETE FROM things")
    finally:
        reader.close()
