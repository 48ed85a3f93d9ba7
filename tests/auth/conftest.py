"""Fixtures for the auth tests: a real auth app on the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar, get
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from skreg_auth.component import component
from skreg_auth.context import AuthContext
from skreg_auth.settings import AuthSettings
from skreg_common.app import build_app
from skreg_common.db import create_sessionmaker
from skreg_common.principal import Principal, requires_scope
from skreg_common.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.conftest import REDIS_URL
from tests.support.factories import (
    PASSWORD,
    bearer,
    create_api_key,
    new_user,
    register_user,
    sign_in,
)

ADMIN_PASSWORD = "admin-password-1"
AUTH = "/api/v1/auth"


@get("/probe/publish", guards=[requires_scope("publish")], sync_to_thread=False)
def publish_probe(principal: NamedDependency[Principal]) -> dict[str, Any]:
    """Stands in for a catalog route that needs the publish scope."""
    return {"user": principal.username}


@get("/probe/yank", guards=[requires_scope("yank")], sync_to_thread=False)
def yank_probe(principal: NamedDependency[Principal]) -> dict[str, Any]:
    """Stands in for a catalog route that needs the yank scope."""
    return {"user": principal.username}


def make_settings(database_url: str, **overrides: Any) -> AuthSettings:
    """Dev settings with a cheap argon2 profile (the tests hash a lot of passwords)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        "argon2_parallelism": 1,
        "admin_password": ADMIN_PASSWORD,
        "admin_email": "admin@example.com",
    }
    values.update(overrides)
    return AuthSettings(**values)


def make_app(settings: AuthSettings, context: AuthContext | None = None) -> Litestar:
    """The auth service alone (on `context`, if given), plus probe routes guarded by scopes."""
    return build_app(
        "auth-test",
        Runtime.open(settings),
        [component(settings, context)],
        extra_handlers=[publish_probe, yank_probe],
    )


AppFactory = Callable[..., Any]


@pytest.fixture
def auth_settings(database_url: str) -> AuthSettings:
    """Settings for the current backend."""
    return make_settings(database_url)


@pytest.fixture
def auth_context(auth_settings: AuthSettings) -> AuthContext:
    """The context the `client` app runs on: its token issuer, its password hasher."""
    return AuthContext.create(auth_settings)


@pytest.fixture
def start_app(database_url: str) -> AppFactory:
    """`async with start_app(**overrides) as client`: a started app on the test database."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[AsyncTestClient[Litestar]]:
        app = make_app(make_settings(database_url, **overrides))
        async with AsyncTestClient(app) as client:
            yield client

    return start


@dataclass(frozen=True)
class Served:
    """An app served by uvicorn on 127.0.0.1 and an HTTP client for it."""

    app: Litestar
    http: httpx.AsyncClient
    context: AuthContext


@pytest.fixture
def serve_app(database_url: str) -> AppFactory:
    """`async with serve_app(**overrides) as served`: the app on a real loopback port.

    The test client above handles one request at a time; attacks that depend on
    concurrency need a real server (uvicorn in a thread, with its own event loop).
    """

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[Served]:
        context = AuthContext.create(make_settings(database_url, **overrides))
        app = make_app(context.settings, context)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(1000):
            if server.started or not thread.is_alive():
                break
            await asyncio.sleep(0.02)
        assert server.started, "the auth app did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
            ) as http:
                yield Served(app, http, context)
        finally:
            server.should_exit = True
            await asyncio.to_thread(thread.join, 30)

    return serve


@pytest.fixture
async def client(auth_context: AuthContext) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A started auth app on `auth_context` (in-memory throttling, no Redis)."""
    async with AsyncTestClient(make_app(auth_context.settings, auth_context)) as c:
        yield c


@pytest.fixture
def db(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test database from the test's own event loop (the app runs in another)."""
    return create_sessionmaker(engine)


@pytest.fixture
def redis_url(redis_client: Any) -> str:
    """The test Redis (flushed before and after by `redis_client`)."""
    return REDIS_URL


async def register(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, email: str | None = None
) -> dict[str, Any]:
    """Register and return the user."""
    return await register_user(client, username, password, email)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    """Log in and return the token response."""
    return await sign_in(client, username, password)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Headers carrying the seed admin's access token."""
    return bearer((await login(client, "admin", ADMIN_PASSWORD))["access_token"])


async def user_with_token(
    client: httpx.AsyncClient, username: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Register `username`, log in; returns (user, token response)."""
    user = await new_user(client, username)
    return {"id": user.id, "username": user.username}, user.tokens


async def create_key(
    client: httpx.AsyncClient, headers: dict[str, str], scopes: list[str], **extra: Any
) -> dict[str, Any]:
    """Create an API key and return the creation response (with the secret)."""
    return await create_api_key(client, headers, scopes, **extra)
