"""Test fixtures shared by the whole suite: real SQLite, real PostgreSQL, real Redis.

Every database test runs on both backends (`[sqlite]` and `[postgresql]` in its id).
PostgreSQL gets a throwaway database per test session, created here and dropped at
the end. Nothing is skipped when a service is missing: the fixture fails with the
reason, because CI must never go green without the real thing.
`SKREG_TEST_BACKENDS=sqlite` narrows the run on a laptop (deselection, not skipping).

Markers say which real service a test needs, so `make test-fast` can deselect them:
`redis`, `postgresql`, `chromium`. They are set here from what a test uses (its
fixtures and parameters), never by hand: see `pytest_collection_modifyitems`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from skreg_common.db import SqliteDriver, create_engine
from skreg_common.migrate import installed_migrations
from skreg_common.migrations import upgrade
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import pgdatabases

PG_ADMIN_DSN = os.environ.get("SKREG_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def redis_url_for_worker(base_db: int) -> str:
    """A Redis URL whose database index belongs to this pytest-xdist worker alone.

    Tests flush their database, so two workers must never share one: worker `gwN`
    takes `base_db - 2N` (the suite uses two bases, 13 and 12, so they interleave:
    gw0 13/12, gw1 11/10, ... up to six workers). `SKREG_TEST_REDIS_URL` names the
    server; its database index is replaced by the worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    db = base_db - 2 * index
    if db < 1:
        raise RuntimeError(f"too many test workers for Redis databases ({worker})")
    server = os.environ.get("SKREG_TEST_REDIS_URL", "redis://127.0.0.1:6379/13").rsplit("/", 1)[0]
    return f"{server}/{db}"


REDIS_URL = redis_url_for_worker(13)
ALL_MIGRATIONS = installed_migrations()
BACKENDS = [b for b in os.environ.get("SKREG_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


# A test needs the service when it uses one of these fixtures, directly or through another.
REDIS_FIXTURES = frozenset({"redis_client"})
CHROMIUM_FIXTURES = frozenset({"playwright_instance"})
# Whole directories whose harness starts the service itself (e2e: Redis behind Traefik;
# ops and faults: replicas on PostgreSQL + Redis).
REDIS_DIRECTORIES = ("e2e", "ops", "faults")
POSTGRESQL_DIRECTORIES = ("ops", "faults")


def _needs(item: pytest.Item) -> set[str]:
    """The real services `item` needs, from its fixtures and parameters."""
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    # Parameters choose a backend ("postgresql") or a store ("redis") at run time.
    params = set(map(str, callspec.params.values())) if callspec is not None else set()
    needs = set()
    if fixtures & REDIS_FIXTURES or "redis" in params:
        needs.add("redis")
    if item.path.parent.name in REDIS_DIRECTORIES:
        needs.add("redis")
    if "postgresql" in params or item.path.parent.name in POSTGRESQL_DIRECTORIES:
        needs.add("postgresql")
    if fixtures & CHROMIUM_FIXTURES:
        needs.add("chromium")
    return needs


# Directories whose session-scoped servers (a registry, the UI with Chromium, Traefik)
# cost seconds to start: under pytest-xdist (`--dist loadgroup`) each runs whole on one
# worker, so the server starts once, not once per worker.
SESSION_SERVER_DIRECTORIES = frozenset({"cli", "clients", "e2e", "ui"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with the services it needs (`make test-fast` deselects them),
    and keep the tests sharing a session server on one xdist worker."""
    tests_root = Path(__file__).parent
    for item in items:
        for service in sorted(_needs(item)):
            item.add_marker(service)
        top = (
            item.path.relative_to(tests_root).parts[0]
            if item.path.is_relative_to(tests_root)
            else ""
        )
        if top in SESSION_SERVER_DIRECTORIES:
            item.add_marker(pytest.mark.xdist_group(top))


def _asyncpg_to_sqlalchemy(dsn: str) -> str:
    return pgdatabases.sqlalchemy_url(dsn)


async def create_pg_database(prefix: str = "skreg_test") -> str:
    """Create an empty PostgreSQL database; returns its asyncpg DSN."""
    try:
        return await pgdatabases.create_pg_database(PG_ADMIN_DSN, prefix)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL is required for the tests and unreachable at {PG_ADMIN_DSN}: {exc}"
        )


async def drop_pg_database(dsn: str) -> None:
    """Drop a database made by `create_pg_database`, whoever is still connected."""
    await pgdatabases.drop_pg_database(PG_ADMIN_DSN, dsn)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One migrated PostgreSQL database for the session (SQLAlchemy URL)."""
    dsn = asyncio.run(create_pg_database())
    url = _asyncpg_to_sqlalchemy(dsn)

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, ALL_MIGRATIONS)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(drop_pg_database(dsn))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (copying beats migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, ALL_MIGRATIONS)
            async with engine.connect() as conn:  # fold the WAL into the file before copying
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return path


async def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = [t.name for spec in ALL_MIGRATIONS for t in spec.metadata.sorted_tables]
        if tables:
            async with engine.begin() as conn:
                quoted = ", ".join(f'"{name}"' for name in tables)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: "sqlite" or "postgresql"."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of the current backend, private to this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "registry.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
    else:
        url: str = request.getfixturevalue("pg_template")
        yield url
        asyncio.run(_truncate_all(url))


@pytest.fixture
def sqlite_driver() -> SqliteDriver:
    """The SQLite driver (`SQLITE_DRIVER`); tests/common/conftest.py runs both."""
    return "inline"


@pytest.fixture
def settings(database_url: str, sqlite_driver: SqliteDriver) -> ServiceSettings:
    """Dev-mode settings pointing at the test database."""
    return ServiceSettings(database_url=database_url, sqlite_driver=sqlite_driver)


@pytest.fixture
async def engine(database_url: str, sqlite_driver: SqliteDriver) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database."""
    eng = create_engine(database_url, sqlite_driver=sqlite_driver)
    yield eng
    await eng.dispose()


@pytest.fixture
async def runtime(settings: ServiceSettings) -> AsyncIterator[Runtime]:
    """A Runtime (engine + sessions) on the test database, no Redis."""
    rt = Runtime.open(settings)
    yield rt
    await rt.close()


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    """A real Redis connection on a database index reserved for tests, flushed before use."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.fail(f"Redis is required for the tests and unreachable at {REDIS_URL}: {exc}")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
