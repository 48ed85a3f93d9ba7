"""The catalog app on the test database, verifying credentials through the real auth service.

The test identities (`alice`, `bob`, `admin`, Alice's read-only API key `alice-read`,
the `importer` service token) are issued once per session by auth itself
(tests/support/identities.py); every catalog app here checks them through the
remote verifier a deployed catalog uses: auth's JWKS and API-key introspection.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.component import component
from skreg_catalog.context import CatalogContext
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import build_app
from skreg_common.runtime import Runtime

from tests.support import identities as identity_store
from tests.support.identities import Identities, issue_identities, verified_by_auth


@pytest.fixture(scope="session", autouse=True)
def identities(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Identities:
    """The session's identities, issued by auth on a database of their own."""
    path = tmp_path_factory.mktemp("identities") / "auth.db"
    shutil.copyfile(sqlite_template, path)
    issued = issue_identities(f"sqlite+aiosqlite:///{path}")
    identity_store.CURRENT = issued
    return issued


@asynccontextmanager
async def built_catalog(
    settings: CatalogSettings, context: CatalogContext | None = None
) -> AsyncIterator[Litestar]:
    """A catalog app as `python -m skreg_catalog` builds it (auth verified remotely), own runtime.

    `context` lets a test hold the catalog's context (its caches, its download counter).
    """
    runtime = Runtime.open(settings)
    async with verified_by_auth(identity_store.current(), settings, "catalog") as verifier:
        try:
            yield build_app(
                "Skills Registry — catalog", runtime, [verifier, component(settings, context)]
            )
        finally:
            await runtime.close()


@asynccontextmanager
async def running_catalog(
    settings: CatalogSettings, **changes: Any
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client on one more catalog app: `settings` with `changes`, its own runtime."""
    async with (
        built_catalog(msgspec.structs.replace(settings, **changes)) as app,
        AsyncTestClient(app) as client,
    ):
        yield client


@pytest.fixture
def catalog_settings(database_url: str) -> CatalogSettings:
    """Catalog settings on the test database, with a small bundle limit for 413 tests."""
    return CatalogSettings(
        database_url=database_url,
        bundle_max_compressed_bytes=256 * 1024,
        auto_migrate=False,
        # Lexical ranking here (exact orders asserted); semantic search has its own tests
        # (test_semantic_search.py), which turn it on.
        semantic_search=False,
    )


@pytest.fixture(name="catalog_app")
async def catalog_app_fixture(catalog_settings: CatalogSettings) -> AsyncIterator[Litestar]:
    """The catalog alone, verifying credentials through auth."""
    async with built_catalog(catalog_settings) as app:
        yield app


@pytest.fixture
async def client(catalog_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client on the catalog app."""
    async with AsyncTestClient(catalog_app) as test_client:
        yield test_client
