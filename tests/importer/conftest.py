"""The importer on the test database with the real auth and catalog services beside it.

One app holds auth, catalog and importer (as the all-in-one process does); the
importer's catalog client goes through real HTTP handling via an in-process ASGI
transport, authenticated with a real service token from auth.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.component import component as auth_component
from skreg_auth.settings import AuthSettings
from skreg_catalog.component import component as catalog_component
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import build_app
from skreg_common.runtime import Runtime
from skreg_importer.component import component as importer_component
from skreg_importer.settings import ImporterSettings

from tests.importer.gitrepos import GitDaemon, Repo, free_port, start_git_daemon

ADMIN_KEY = "sr_importertestadmin_" + "k" * 43
SERVICE_SECRET = "importer-test-service-secret-0123456789"
SECRET_KEY = "importer-test-secret-key-0123456789abcdef"
SOURCES = "/api/v1/sources"
IMPORTS = "/api/v1/imports"


class AppTransport(httpx.AsyncBaseTransport):
    """Sends requests into an ASGI app that is set after the transport is made."""

    def __init__(self) -> None:
        self.app: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


def importer_settings(database_url: str, **overrides: Any) -> ImporterSettings:
    """Dev settings for tests: local Git allowed, quick retries, short timeouts."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "service_secret": SERVICE_SECRET,
        "importer_allow_local": True,
        "git_clone_timeout": 30.0,
        "importer_retry_backoff": 0.2,
        "importer_max_attempts": 2,
        "sync_check_seconds": 3600.0,
    }
    values.update(overrides)
    return ImporterSettings(**values)


@dataclass
class Stack:
    """The running app, an admin client, and its settings and runtime."""

    app: Litestar
    client: AsyncTestClient[Litestar]
    settings: ImporterSettings
    runtime: Runtime

    async def add_source(self, url: str, namespace: str = "team", **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            SOURCES, json={"url": url, "namespace": namespace, **fields}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def sync(self, source_id: str) -> dict[str, Any]:
        response = await self.client.post(f"{SOURCES}/{source_id}/sync")
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def run(self, run_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{IMPORTS}/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def wait(self, run_id: str, limit_s: float = 60.0) -> dict[str, Any]:
        """The run once it is finished (succeeded, partial or failed)."""
        deadline = asyncio.get_running_loop().time() + limit_s
        while True:
            run = await self.run(run_id)
            if run["state"] in ("succeeded", "partial", "failed"):
                return run
            assert asyncio.get_running_loop().time() < deadline, f"run still {run['state']}"
            await asyncio.sleep(0.05)

    async def sync_and_wait(self, source_id: str) -> dict[str, Any]:
        return await self.wait((await self.sync(source_id))["id"])

    async def skill(self, namespace: str, name: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/skills/{namespace}/{name}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def versions(self, namespace: str, name: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"/api/v1/skills/{namespace}/{name}/versions")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@asynccontextmanager
async def open_stack(database_url: str, **overrides: Any) -> AsyncIterator[Stack]:
    """Auth + catalog + importer in one app on `database_url`."""
    common: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": SECRET_KEY,
        "service_secret": SERVICE_SECRET,
        "redis_url": overrides.get("redis_url"),
    }
    auth_settings = AuthSettings(
        **common,
        admin_api_key=ADMIN_KEY,
        admin_password="admin-password-1",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        argon2_parallelism=1,
    )
    catalog_settings = CatalogSettings(**common)
    settings = importer_settings(database_url, **overrides)
    transport = AppTransport()
    runtime = Runtime.open(settings)
    app = build_app(
        "importer-test",
        runtime,
        [
            auth_component(auth_settings),
            catalog_component(catalog_settings),
            importer_component(settings, catalog_transport=transport),
        ],
    )
    transport.app = app
    async with AsyncTestClient(app, timeout=60) as client:
        client.headers["x-api-key"] = ADMIN_KEY
        yield Stack(app=app, client=client, settings=settings, runtime=runtime)


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """The in-process (embedded) mode: no Redis, jobs run as asyncio tasks."""
    async with open_stack(database_url) as opened:
        yield opened


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    """`git daemon` on a free loopback port serving repositories under tmp_path."""
    served = start_git_daemon(tmp_path / "served")
    yield served
    served.stop()


@pytest.fixture
def repo(daemon: GitDaemon) -> Repo:
    """An empty repository served by `daemon` as `skills.git`."""
    return daemon.repo("skills.git")


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", free_port()))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
