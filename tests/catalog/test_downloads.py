"""Download counting: atomic, per version per day, each client at most once a day."""

from __future__ import annotations

import asyncio

from tests.catalog.helpers import auth, published

DOWNLOAD = "/api/v1/skills/alice/demo/versions/{}/download"


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


async def test_clients_are_told_apart(client) -> None:
    await published(client, "demo", "1.0.0")
    await client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": "agent-a"})
    await client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": "agent-b"})
    await client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": "agent-b"})
    # Authenticated callers are counted by identity, whatever their user agent.
    for agent in ("x", "y"):
        await client.get(DOWNLOAD.format("1.0.0"), headers={**auth("bob"), "User-Agent": agent})
    assert (await _downloads(client))[0] == 3


async def test_304s_are_not_counted(client) -> None:
    await published(client, "demo", "1.0.0")
    first = await client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": "a"})
    await client.get(
        DOWNLOAD.format("1.0.0"),
        headers={"User-Agent": "b", "If-None-Match": first.headers["etag"]},
    )
    assert (await _downloads(client))[0] == 1


async def test_concurrent_downloads_count_exactly(client) -> None:
    await published(client, "demo", "1.0.0")
    agents = [f"agent-{i % 8}" for i in range(40)]  # 8 clients, 5 racing requests each
    responses = await asyncio.gather(
        *[client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": a}) for a in agents]
    )
    assert {r.status_code for r in responses} == {200}
    assert await _downloads(client) == (8, {"1.0.0": 8})


async def test_no_address_is_stored(client, database_url) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    await published(client, "demo", "1.0.0")
    await client.get(DOWNLOAD.format("1.0.0"), headers={"User-Agent": "agent-zz"})
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
    assert "127.0.0.1" not in stored
    assert "testclient" not in stored
    assert "agent" not in stored
    assert len(stored) == 48
    assert int(stored, 16) >= 0
