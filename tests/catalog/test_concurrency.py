"""Racing publishers: one version row, the right `latest`, nothing half-written."""

from __future__ import annotations

import asyncio

from tests.catalog.helpers import bundle, publish


async def test_racing_identical_publishes_create_one_version(client) -> None:
    data = bundle("demo")
    responses = await asyncio.gather(*[publish(client, data, version="1.0.0") for _ in range(8)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], [r.text for r in responses if r.status_code >= 300]
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()
    assert versions["total"] == 1


async def test_racing_versions_leave_the_highest_as_latest(client) -> None:
    versions = [f"1.{i}.0" for i in range(10)]
    responses = await asyncio.gather(
        *[publish(client, bundle("demo", description=f"v{v}"), version=v) for v in versions]
    )
    assert {r.status_code for r in responses} == {201}
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    assert detail["latest_version"] == "1.9.0"
    assert detail["description"] == "v1.9.0"
    assert detail["versions_count"] == 10


async def test_racing_conflicting_contents_one_wins(client) -> None:
    bundles = [bundle("demo", description=f"content {i}") for i in range(6)]
    responses = await asyncio.gather(*[publish(client, b, version="1.0.0") for b in bundles])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 5
    winner = next(r for r in responses if r.status_code == 201).json()["digest"]
    stored = (await client.get("/api/v1/skills/alice/demo/versions/1.0.0")).json()
    assert stored["digest"] == winner
