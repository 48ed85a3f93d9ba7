"""The inline SQLite driver: lock waits happen on the loop, and quick reads match SQLAlchemy's."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest
from skreg_common.db import UTCDateTime, create_engine
from skreg_common.quickread import QuickReader
from skreg_common.sqlite_inline import inline_connector
from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, bindparam, select
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
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await _filled(engine)
    yield engine
    await engine.dispose()


async def test_a_locked_database_is_waited_for_on_the_loop(file_engine: AsyncEngine) -> None:
    """A second writer waits (without blocking the loop) until the first commits."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def second_writer() -> None:
        async with file_engine.begin() as conn:
            await conn.execute(things.update().where(things.c.id == 1).values(name="second"))

    counting = asyncio.create_task(ticker())
    async with file_engine.begin() as first:
        await first.execute(things.update().where(things.c.id == 1).values(name="first"))
        waiting = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)  # the loop keeps running while the second writer waits
        assert not waiting.done()
        ticks_while_locked = ticks
    await asyncio.wait_for(waiting, 5)
    stop.set()
    await counting
    assert ticks_while_locked >= 20  # a blocked loop would not have ticked at all
    async with file_engine.connect() as conn:
        assert (await conn.execute(select(things.c.name))).scalar_one() == "second"


async def test_a_lock_held_too_long_fails_after_the_busy_timeout(
    file_engine: AsyncEngine,
) -> None:
    database = file_engine.url.database
    assert database is not None
    impatient = create_async_engine(
        str(file_engine.url),
        async_creator=inline_connector(database, uri=False, busy_timeout_ms=300),
    )
    try:
        async with file_engine.begin() as holder:
            await holder.execute(things.update().values(name="held"))
            started = time.monotonic()
            with pytest.raises(OperationalError, match="locked"):
                async with impatient.begin() as conn:
                    await conn.execute(things.update().values(name="never"))
            assert 0.25 <= time.monotonic() - started < 3  # waited, then gave up
    finally:
        await impatient.dispose()
    async with file_engine.connect() as conn:
        assert (await conn.execute(select(things.c.name))).scalar_one() == "held"


async def test_quick_read_matches_sqlalchemy(engine: AsyncEngine) -> None:
    """Same values, processed the same way, on SQLite (raw) and PostgreSQL (connection)."""
    await _filled(engine)
    try:
        reader = QuickReader(engine, busy_timeout_ms=1000)
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
