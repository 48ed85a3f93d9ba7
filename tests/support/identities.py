"""Real credentials for the test identities, issued by the real auth service.

`alice`, `bob` and `admin` sign in through auth's own routes, `alice-read` is an
API key Alice created with the `read` scope only, and `importer` is the token auth
hands the importer for its service secret. They are issued once per test session by
an auth app on a SQLite database of their own; an app built with `verified_by_auth`
checks them the way a deployed service does: auth's JWKS and its API-key
introspection, asked over HTTP (in-process ASGI, no socket) of an auth app on that
same database. Nothing stands in for auth.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.component import component as auth_component
from skreg_auth.settings import AuthSettings
from skreg_common.app import ServiceComponent, build_app
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings
from skreg_common.verifier import remote_auth_component
from skreg_proto.internal import SERVICE_TOKEN_PATH

from tests.support.factories import AUTH, bearer, create_api_key, new_user, sign_in

ADMIN_PASSWORD = "admin-password-1"
# The session's tokens must outlive the longest test run (auth's default is 15 minutes).
TOKEN_TTL = 24 * 3600
USERS = ("alice", "bob")


@dataclass(frozen=True)
class Identities:
    """Credentials by test name, the auth database that knows them, and the users' ids."""

    database_url: str
    credentials: dict[str, str]
    user_ids: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header presenting `who`'s credential."""
        return {"Authorization": f"Bearer {self.credentials[who]}"}


def auth_settings(database_url: str, **overrides: Any) -> AuthSettings:
    """Dev auth settings with a cheap argon2 profile and session-long tokens."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "auto_migrate": False,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        "argon2_parallelism": 1,
        "admin_password": ADMIN_PASSWORD,
        "admin_email": "admin@example.com",
        "access_token_ttl": TOKEN_TTL,
        "service_token_ttl": TOKEN_TTL,
    }
    values.update(overrides)
    return AuthSettings(**values)


def _auth_app(database_url: str) -> Litestar:
    settings = auth_settings(database_url)
    return build_app("auth", Runtime.open(settings), [auth_component(settings)])


async def _issue(database_url: str) -> Identities:
    credentials: dict[str, str] = {}
    user_ids: dict[str, str] = {}
    async with AsyncTestClient(_auth_app(database_url)) as auth:
        for username in USERS:
            user = await new_user(auth, username)
            credentials[username], user_ids[username] = user.tokens["access_token"], user.id
        admin = await sign_in(auth, "admin", ADMIN_PASSWORD)
        credentials["admin"] = admin["access_token"]
        me = await auth.get(f"{AUTH}/me", headers=bearer(credentials["admin"]))
        user_ids["admin"] = me.json()["id"]
        key = await create_api_key(auth, bearer(credentials["alice"]), ["read"])
        credentials["alice-read"] = key["key"]
        secret = auth_settings(database_url).service_secret
        service = await auth.post(
            SERVICE_TOKEN_PATH, json={"service": "importer", "secret": secret}
        )
        assert service.status_code == 200, service.text
        credentials["importer"] = service.json()["access_token"]
    return Identities(database_url, credentials, user_ids)


def issue_identities(database_url: str) -> Identities:
    """Register, sign in and mint every test identity on a migrated, empty database."""
    return asyncio.run(_issue(database_url))


@asynccontextmanager
async def verified_by_auth(
    identities: Identities, settings: ServiceSettings, service: str
) -> AsyncIterator[ServiceComponent]:
    """The component that makes an app verify credentials through the identities' auth.

    A started auth app on the identities' database answers the JWKS and the
    introspection calls of the real remote verifier, in-process.
    """
    auth = _auth_app(identities.database_url)
    async with started(auth):
        yield remote_auth_component(settings, service, transport=httpx.ASGITransport(app=auth))


@asynccontextmanager
async def started(app: Litestar) -> AsyncIterator[None]:
    """`app` started and, on exit, stopped, from a task of its own.

    Its lifespan opens an anyio cancel scope, which must be left in the task that
    entered it; a pytest-asyncio fixture's set-up and tear-down run in two tasks.
    """
    ready, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with app.lifespan():
            ready.set()
            await stop.wait()

    task = asyncio.create_task(run())
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():  # start-up failed: raise its error
        waiter.cancel()
        await task
    try:
        yield
    finally:
        stop.set()
        await task


CURRENT: Identities | None = None  # set once per session by the fixture that issues them


def current() -> Identities:
    """The session's identities (issued by the `identities` fixture)."""
    assert CURRENT is not None, "the `identities` session fixture has not issued them yet"
    return CURRENT
