"""Database outages answer 503, a full database 507, and a bug still 500 (in process).

The slow, real-process versions are tests/faults/test_postgres_restart.py (a private
PostgreSQL cluster stopped under load) and tests/faults/test_sqlite_disk_full.py (a
tmpfs that fills up). These check the mapping itself, fast, on real drivers: asyncpg
refused by a port nobody listens on, PostgreSQL killing a pooled connection, and SQLite
reaching its page limit (the same SQLITE_FULL a full disk gives).
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import pytest
from litestar import get, post
from litestar.testing import AsyncTestClient
from skreg_common.app import build_app
from skreg_common.db import SqliteDriver, is_sqlite
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.processes import free_port


@get("/select")
async def select_one(db_session: AsyncSession) -> dict[str, Any]:
    return {"one": (await db_session.execute(text("SELECT 1"))).scalar_one()}


@get("/bug")
async def bug(db_session: AsyncSession) -> None:
    await db_session.execute(text("SELECT * FROM no_such_table_here"))


@get("/timeout")
async def peer_timeout() -> None:
    raise TimeoutError("a render worker took too long")  # not the database


@post("/fill")
async def fill(db_session: AsyncSession) -> None:
    # SQLite's page limit: the same SQLITE_FULL ("database or disk is full") a full disk
    # gives, without needing a small disk (the tmpfs version is tests/faults).
    await db_session.execute(text("CREATE TABLE IF NOT EXISTS filler (data BLOB)"))
    pages = (await db_session.execute(text("PRAGMA page_count"))).scalar_one()
    await db_session.execute(text(f"PRAGMA max_page_count = {int(pages) + 4}"))
    await db_session.execute(text("INSERT INTO filler VALUES (zeroblob(1000000))"))


def _app(runtime: Runtime) -> Any:
    return build_app("outages", runtime, [], extra_handlers=[select_one, bug, peer_timeout, fill])


def _assert_unavailable(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["retry-after"]) > 0
    assert "database is not reachable" in answer.json()["detail"]


async def test_an_unreachable_postgresql_answers_503_at_once() -> None:
    # A port nobody listens on: asyncpg is refused, as while PostgreSQL restarts.
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    runtime = Runtime.open(ServiceSettings(database_url=url))
    async with AsyncTestClient(_app(runtime)) as client:
        started = time.monotonic()
        answer = await client.get("/select")
        took = time.monotonic() - started
        _assert_unavailable(answer)
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("failed")
    print(f"\nrefused connection answered 503 in {took * 1000:.0f} ms")


async def test_a_killed_connection_is_replaced_not_reported(runtime: Runtime) -> None:
    """PostgreSQL ended every session (a restart does): pre-ping replaces the pooled
    connection, so the next request succeeds instead of failing on a dead socket."""
    async with AsyncTestClient(_app(runtime)) as client:
        assert (await client.get("/select")).status_code == 200
        if not is_sqlite(runtime.engine):
            url = runtime.engine.url
            conn = await asyncpg.connect(
                host=url.host, port=url.port, user=url.username, database="postgres"
            )
            try:
                killed = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    url.database,
                )
            finally:
                await conn.close()
            assert killed >= 1  # the pooled connection was there, and is gone
        answer = await client.get("/select")
        assert answer.status_code == 200, answer.text


async def test_a_bug_is_still_a_500_not_an_outage(runtime: Runtime) -> None:
    # "no such table" is an OperationalError on SQLite, like "database or disk is full":
    # only the latter is storage.
    async with AsyncTestClient(_app(runtime)) as client:
        answer = await client.get("/bug")
        assert answer.status_code == 500, answer.text
        assert "no_such_table" not in answer.text
        # A timeout that did not come from the database drivers is not a database outage.
        assert (await client.get("/timeout")).status_code == 500


@pytest.mark.parametrize("driver", ["inline", "aiosqlite"])
async def test_a_full_sqlite_database_answers_507(tmp_path: Any, driver: SqliteDriver) -> None:
    settings = ServiceSettings(
        database_url=f"sqlite:///{tmp_path / 'full.db'}", sqlite_driver=driver
    )
    runtime = Runtime.open(settings)
    async with AsyncTestClient(_app(runtime)) as client:
        answer = await client.post("/fill")
        assert answer.status_code == 507, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "storage is full" in answer.json()["detail"]
        assert (await client.get("/select")).status_code == 200  # reads go on
