"""SQLite drivers: what a point query costs inline and through aiosqlite, and how lock waits behave.

Prints three figures (the timings tests/common/test_sqlite_inline.py used to assert):

- a point lookup through an engine connection, on each `SQLITE_DRIVER` (µs per query);
- how often the event loop ran (5 ms ticks) while a second writer waited 300 ms for a
  lock held by the first: a loop blocked by the wait would not tick at all;
- how long a writer facing a lock held for good waits before it gives up
  (the busy timeout, 300 ms here) on the inline driver.

    uv run python bench/bench_sqlite_inline.py [--queries N]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from skreg_common.db import SqliteDriver, create_engine
from skreg_common.sqlite_inline import inline_connector
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

metadata = MetaData()
things = Table(
    "things", metadata, Column("id", Integer, primary_key=True), Column("name", String(20))
)
BY_ID = select(things.c.name).where(things.c.id == bindparam("id"))


async def _filled(url: str, driver: SqliteDriver) -> AsyncEngine:
    engine = create_engine(url, sqlite_driver=driver)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        count = (await conn.execute(select(things.c.id).limit(1))).first()
        if count is None:
            await conn.execute(things.insert(), [{"id": i, "name": f"n{i}"} for i in range(1000)])
    return engine


async def point_queries(url: str, driver: SqliteDriver, queries: int) -> float:
    """Microseconds per point lookup on one engine connection."""
    engine = await _filled(url, driver)
    try:
        async with engine.connect() as conn:
            for i in range(100):  # warm the statement cache and the pages
                await conn.execute(BY_ID, {"id": i})
            started = time.perf_counter()
            for i in range(queries):
                await conn.execute(BY_ID, {"id": i % 1000})
            return (time.perf_counter() - started) / queries * 1e6
    finally:
        await engine.dispose()


async def ticks_while_waiting(url: str) -> tuple[int, float]:
    """Loop ticks (5 ms sleeps) while a second writer waits 300 ms; and its wait in ms."""
    engine = await _filled(url, "inline")
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def second_writer() -> float:
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(things.update().where(things.c.id == 1).values(name="second"))
        return (time.perf_counter() - started) * 1000

    counting = asyncio.create_task(ticker())
    try:
        async with engine.begin() as first:
            await first.execute(things.update().where(things.c.id == 1).values(name="first"))
            waiting = asyncio.create_task(second_writer())
            await asyncio.sleep(0.3)
            ticked = ticks
        waited = await asyncio.wait_for(waiting, 10)
    finally:
        stop.set()
        await counting
        await engine.dispose()
    return ticked, waited


async def give_up_after(url: str, busy_timeout_ms: int) -> float:
    """Milliseconds a writer waits for a lock that is never released."""
    database = url.split(":///", 1)[1]
    holder = sqlite3.connect(database, isolation_level=None)
    impatient = create_async_engine(
        "sqlite+inline:///" + database,
        async_creator=inline_connector(database, uri=False, busy_timeout_ms=busy_timeout_ms),
    )
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        try:
            async with impatient.begin() as conn:
                await conn.execute(things.update().values(name="never"))
        except OperationalError:
            return (time.perf_counter() - started) * 1000
        raise AssertionError("the lock was not held")
    finally:
        holder.close()
        await impatient.dispose()


async def main(queries: int) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        for driver in ("inline", "aiosqlite"):
            per_query = await point_queries(url, driver, queries)
            print(f"point query, {driver:9}: {per_query:7.1f} µs")
        ticked, waited = await ticks_while_waiting(url)
        print(f"second writer waited {waited:.0f} ms; the loop ticked {ticked}x in 300 ms")
        print(f"a lock held for good: gave up after {await give_up_after(url, 300):.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--queries", type=int, default=5000)
    asyncio.run(main(parser.parse_args().queries))
