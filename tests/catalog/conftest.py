"""The catalog app on the test database, with fixed test identities.

The ONE place that stands in for auth: a resolver mapping fixed tokens to
principals. When the auth service lands, this fixture switches to its real
resolver; no catalog code changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.app import create_app
from skreg_catalog.settings import CatalogSettings
from skreg_common.errors import Unauthorized
from skreg_common.principal import Principal
from skreg_common.runtime import Runtime

USER_SCOPES = ("read", "publish", "yank")
PRINCIPALS = {
    "alice": Principal(
        kind="user", id="u-alice", username="alice", roles=("user",), scopes=USER_SCOPES
    ),
    "bob": Principal(kind="user", id="u-bob", username="bob", roles=("user",), scopes=USER_SCOPES),
    "admin": Principal(
        kind="user",
        id="u-admin",
        username="admin",
        roles=("admin",),
        scopes=(*USER_SCOPES, "admin"),
    ),
    # Alice's read-only API key.
    "alice-read": Principal(
        kind="user", id="u-alice", username="alice", roles=("user",), scopes=("read",)
    ),
    "importer": Principal(
        kind="service", id="svc-importer", username="importer", roles=("service",)
    ),
}


class FixedTokens:
    """Token `t-<name>` is the principal `<name>` above; anything else is refused."""

    async def resolve(self, credential: str) -> Principal:
        principal = PRINCIPALS.get(credential.removeprefix("t-"))
        if principal is None or not credential.startswith("t-"):
            raise Unauthorized("unknown test token")
        return principal


@asynccontextmanager
async def running_catalog(
    settings: CatalogSettings, **changes: Any
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client on one more catalog app: `settings` with `changes`, its own runtime."""
    settings = msgspec.structs.replace(settings, **changes)
    runtime = Runtime.open(settings)
    try:
        app = create_app(settings, runtime=runtime, resolver=FixedTokens())
        async with AsyncTestClient(app) as client:
            yield client
    finally:
        await runtime.close()


@pytest.fixture
def catalog_settings(database_url: str) -> CatalogSettings:
    """Catalog settings on the test database, with a small bundle limit for 413 tests."""
    return CatalogSettings(
        database_url=database_url, bundle_max_compressed_bytes=256 * 1024, auto_migrate=False
    )


@pytest.fixture
async def catalog_app(catalog_settings: CatalogSettings) -> AsyncIterator[Litestar]:
    """The catalog alone, as `python -m skreg_catalog` builds it, with the test resolver."""
    runtime = Runtime.open(catalog_settings)
    app = create_app(catalog_settings, runtime=runtime, resolver=FixedTokens())
    yield app
    await runtime.close()


@pytest.fixture
async def client(catalog_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client on the catalog app."""
    async with AsyncTestClient(catalog_app) as test_client:
        yield test_client
