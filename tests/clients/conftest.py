"""Fixtures for the real third-party clients: one all-in-one registry process per backend.

The registry is the one the CLI tests start (`tests.cli.conftest.RegistryServer`): the
gateway's all-in-one process on a free 127.0.0.1 port, on SQLite and on a throwaway
PostgreSQL database, shared by every client test of that backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.cli.conftest import RegistryServer
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database


@pytest.fixture(scope="session", params=BACKENDS)
def client_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryServer]:
    """The registry the client tests talk to, on one backend."""
    if request.param == "sqlite":
        database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('clients') / 'registry.db'}"
        dsn = None
    else:
        dsn = asyncio.run(create_pg_database("skreg_clients"))
        database = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = RegistryServer(database, tmp_path_factory.mktemp("clients-logs"))
    server.start()
    yield server
    server.stop()
    if dsn is not None:
        asyncio.run(drop_pg_database(dsn))
