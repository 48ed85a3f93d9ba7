"""Download counting: atomic, per version per day, each client address at most once a day."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest
from skreg_catalog.context import CatalogContext
from skreg_catalog.settings import CatalogSettings

from tests.catalog.conftest import built_catalog, running_catalog
from tests.catalog.helpers import auth, published
from tests.support.identities import started

DOWNLOAD = "/api/v1/skills/alice/demo/versions/{}/download"


@pytest.fixture
def catalog_settings(catalog_settings: CatalogSettings) -> CatalogSettings:
    """Behind one trusted proxy, so each test can speak from several client addresses."""
    return msgspec.structs.replace(catalog_settings, trusted_proxies="testclient")


def via(address: str, agent: str = "agent") -> dict[str, str]:
    """Headers of a request the trusted proxy forwarded for `address`."""
    return {"X-Forwarded-For": address, "User-Agent": agent}


async def _downloads(client) -> tuple[int, dict[str, int]]:
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()["items"]
    return detail["downloads"], {v["version"]: v["downloads"] for v in versions}


async def test_one_client_counts_once_per_version_per_day(client) -> None:
    await published(client, "demo", "1.0.0")
    await published(client, "demo", "1.1.0")
    for _ in range(5):
        assert (await client.get(DOWNLOAD.format("1.0.0"))).status_code == 200
    assert await _downloads(client) == (1, {"1.0.0": 1, "1.1.0": 0})
    await client.get(DOWNLOAD.format("latest"))  # latest is 1.1.0: another version
    assert await _downloads(client) == (2, {"1.0.0": 1, "1.1.0": 1})


async def test_clients_are_told_apart_by_address(client) -> None:
    await published(client, "demo", "1.0.0")
    await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.1"))
    await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.2"))
    await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.2"))
    await client.get(DOWNLOAD.format("1.0.0"), headers=via("2001:db8:0:1::1"))
    assert (await _downloads(client))[0] == 3


async def test_rotating_user_agents_from_one_address_counts_once(client) -> None:
    """The review's attack: 50 anonymous downloads with 50 user agents gave +50."""
    await published(client, "demo", "1.0.0")
    for i in range(50):
        response = await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.7", f"ua-{i}"))
        assert response.status_code == 200
    assert await _downloads(client) == (1, {"1.0.0": 1})


async def test_accounts_and_ipv6_hosts_do_not_multiply_one_client(client) -> None:
    await published(client, "demo", "1.0.0")
    for who in ("alice", "bob", "admin"):  # three accounts, one address
        await client.get(DOWNLOAD.format("1.0.0"), headers={**auth(who), **via("192.0.2.9")})
    for host in range(1, 20):  # one /64 hands its host any of 2^64 addresses
        await client.get(DOWNLOAD.format("1.0.0"), headers=via(f"2001:db8:0:5::{host:x}"))
    assert await _downloads(client) == (2, {"1.0.0": 2})


async def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(
    catalog_settings: CatalogSettings,
) -> None:
    async with running_catalog(catalog_settings, trusted_proxies="192.0.2.250") as client:
        await published(client, "demo", "1.0.0")
        for i in range(10):  # a forged X-Forwarded-For does not make a new client
            await client.get(DOWNLOAD.format("1.0.0"), headers=via(f"192.0.2.{i}"))
        assert await _downloads(client) == (1, {"1.0.0": 1})


async def test_304s_are_not_counted(client) -> None:
    await published(client, "demo", "1.0.0")
    first = await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.1"))
    await client.get(
        DOWNLOAD.format("1.0.0"),
        headers={**via("192.0.2.2"), "If-None-Match": first.headers["etag"]},
    )
    assert (await _downloads(client))[0] == 1


async def test_concurrent_downloads_count_exactly(client) -> None:
    await published(client, "demo", "1.0.0")
    addresses = [f"192.0.2.{i % 8}" for i in range(40)]  # 8 clients, 5 requests each
    responses = await asyncio.gather(
        *[client.get(DOWNLOAD.format("1.0.0"), headers=via(a)) for a in addresses]
    )
    assert {r.status_code for r in responses} == {200}
    assert await _downloads(client) == (8, {"1.0.0": 8})


RACERS = 12


async def test_racing_first_downloads_by_one_client_count_once(
    catalog_settings: CatalogSettings,
) -> None:
    """Every request of one client passes the "not counted yet" check before any counts.

    A barrier holds each request's count until all of them have been answered as
    first downloads, then lets the writes race: the insert that claims the client
    must let exactly one through (the others take its conflicting path).
    """
    context = CatalogContext.create(catalog_settings)
    async with built_catalog(catalog_settings, context) as app, started(app):
        # One event loop for the app and every request (a test client would run it in another).
        transport = httpx.ASGITransport(app=app, client=("192.0.2.44", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            await published(http, "demo", "1.0.0")
            counter = context.downloads(app.state.runtime)
            barrier = asyncio.Barrier(RACERS)
            outcomes: list[bool] = []
            count = counter.count

            async def count_after_everyone(*args: Any) -> bool:
                await asyncio.wait_for(barrier.wait(), timeout=30)
                counted = await count(*args)
                outcomes.append(counted)
                return counted

            counter.count = count_after_everyone  # type: ignore[method-assign]
            responses = await asyncio.gather(
                *[http.get(DOWNLOAD.format("1.0.0")) for _ in range(RACERS)]
            )
            assert {r.status_code for r in responses} == {200}
            assert sorted(outcomes) == [False] * (RACERS - 1) + [True]  # all raced, one won
            assert await _downloads(http) == (1, {"1.0.0": 1})


async def test_no_address_is_stored(client, database_url) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    await published(client, "demo", "1.0.0")
    await client.get(DOWNLOAD.format("1.0.0"), headers=via("192.0.2.77", "agent-zz"))
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT client FROM catalog_download_clients"))).all()
            days = (await conn.execute(text("SELECT count FROM catalog_download_days"))).all()
    finally:
        await engine.dispose()
    assert len(rows) == 1
    assert days == [(1,)]
    stored = rows[0][0]
    assert "192.0.2" not in stored
    assert "testclient" not in stored
    assert "agent" not in stored
    assert len(stored) == 48
    assert int(stored, 16) >= 0
