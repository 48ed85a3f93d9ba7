"""Publishing limits: a publish rate per user (429) and a storage quota per owner (413).

The review stored 90 MiB in 2.8 s as one user, and deleting kept it all; these
tests publish past each limit and check that the refusal is clean and complete.
"""

from __future__ import annotations

from redis.asyncio import Redis
from skreg_catalog.publishing.limits import storage_used
from skreg_catalog.purge.service import purge
from skreg_catalog.settings import CatalogSettings
from skreg_common.db import create_engine, create_sessionmaker
from skreg_proto.codec import to_json
from skreg_proto.internal import SERVICE_PUBLISH_PATH, Provenance, ServicePublishRequest

from tests.catalog.conftest import running_catalog
from tests.catalog.helpers import GZIP, auth, backdate_deletion, bundle, publish, user_id
from tests.conftest import REDIS_URL

PROBLEM = "application/problem+json"
FILLER = 20_000  # bytes of a bundle's second file: the unpacked size the quota counts


def sized(name: str, n: int) -> bytes:
    """A bundle of `name` (distinct content per `n`) that unpacks to about FILLER bytes."""
    filler = (f"{name} part {n} " * FILLER)[:FILLER].encode()
    return bundle(name, body=f"# Part {n}\n", files={"data.txt": filler})


async def test_publish_rate_limit_answers_429_after_n(catalog_settings: CatalogSettings) -> None:
    async with running_catalog(catalog_settings, publish_rate_limit=3) as client:
        statuses = [
            (await publish(client, bundle("demo"), version=f"1.0.{i}")).status_code
            for i in range(3)
        ]
        assert statuses == [201, 201, 201]
        refused = await publish(client, bundle("demo"), version="1.0.3")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert "at most 3 publishes per 3600 s" in refused.json()["detail"]
        # Refused before the upload is read: an oversized body gets the 429, not a 413.
        huge = await publish(client, b"\0" * (1024 * 1024), version="9.9.9")
        assert huge.status_code == 429
        versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()["items"]
        assert len(versions) == 3
        # The budget is per user.
        assert (await publish(client, bundle("demo"), "bob", version="1.0.0")).status_code == 201


async def test_publish_rate_limit_is_shared_over_redis(
    catalog_settings: CatalogSettings, redis_client: Redis
) -> None:
    shared = {"publish_rate_limit": 2, "redis_url": REDIS_URL}
    async with (
        running_catalog(catalog_settings, **shared) as one,
        running_catalog(catalog_settings, **shared) as two,
    ):
        assert (await publish(one, bundle("demo"), version="1.0.0")).status_code == 201
        assert (await publish(two, bundle("demo"), version="1.0.1")).status_code == 201
        refused = await publish(one, bundle("demo"), version="1.0.2")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 3600
        assert (await publish(two, bundle("demo"), version="1.0.2")).status_code == 429
    assert await redis_client.ttl(f"skreg:catalog:publish:user:{user_id('alice')}") > 0


async def _import(client, data: bytes, path: str) -> int:
    message = ServicePublishRequest(
        namespace="alice",
        bundle=data,
        provenance=Provenance(source_id="src-1", commit="ab" * 20, path=path),
        owner=user_id("alice"),
    )
    response = await client.post(
        SERVICE_PUBLISH_PATH,
        content=to_json(message),
        headers={"Content-Type": "application/json", **auth("importer")},
    )
    return response.status_code


async def test_imports_do_not_spend_the_publish_rate(catalog_settings: CatalogSettings) -> None:
    """A first import publishes hundreds of skills at once; the user's budget stays whole."""
    async with running_catalog(catalog_settings, publish_rate_limit=2) as client:
        statuses = [
            await _import(client, bundle(f"skill-{i}", version="1.0.0"), f"skills/{i}")
            for i in range(12)
        ]
        assert statuses == [200] * 12
        listed = (await client.get("/api/v1/skills", params={"namespace": "alice"})).json()
        assert len(listed["items"]) == 12
        assert (await publish(client, bundle("own"), version="1.0.0")).status_code == 201
        assert (await publish(client, bundle("own"), version="1.0.1")).status_code == 201
        assert (await publish(client, bundle("own"), version="1.0.2")).status_code == 429


async def test_storage_quota_answers_413_and_counts_deleted_until_purged(
    catalog_settings: CatalogSettings, database_url: str
) -> None:
    quota = FILLER * 5 // 2  # room for two of the bundles below, not three
    async with running_catalog(catalog_settings, storage_quota_bytes=quota) as client:
        for n in range(2):
            assert (await publish(client, sized("demo", n), version=f"1.0.{n}")).status_code == 201
        refused = await publish(client, sized("demo", 2), version="1.0.2")
        assert refused.status_code == 413
        assert refused.headers["content-type"].startswith(PROBLEM)
        problem = refused.json()
        assert problem["title"] == "Storage quota exceeded"
        assert f"of {quota} allowed" in problem["detail"]
        assert "purged, 30 days after deletion" in problem["detail"]
        # Nothing of the refused publish was kept; an identical retry is not refused.
        versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()["items"]
        assert [v["version"] for v in versions] == ["1.0.1", "1.0.0"]
        assert (await publish(client, sized("demo", 0), version="1.0.0")).status_code == 200
        # Other owners have their own quota.
        assert (await publish(client, sized("demo", 2), "bob", version="1.0.0")).status_code == 201
        # Deleting keeps the blobs, so it frees nothing until the purge.
        deleted = await client.delete("/api/v1/skills/alice/demo", headers=auth("alice"))
        assert deleted.status_code == 204
        assert (await publish(client, sized("other", 0), version="1.0.0")).status_code == 413
        await backdate_deletion(database_url, "alice", "demo", days=31)
        engine = create_engine(database_url)
        try:
            sessions = create_sessionmaker(engine)
            report = await purge(sessions, older_than_days=30, dry_run=False)
            assert report.versions == 2
            async with sessions() as session:
                assert await storage_used(session, user_id("alice")) == 0
        finally:
            await engine.dispose()
        assert (await publish(client, sized("other", 0), version="1.0.0")).status_code == 201


async def test_imports_count_toward_the_quota(catalog_settings: CatalogSettings) -> None:
    async with running_catalog(catalog_settings, storage_quota_bytes=FILLER * 3 // 2) as client:
        assert await _import(client, sized("first", 0), "skills/first") == 200
        # The importer records a 413 as this skill's `invalid` outcome and goes on.
        assert await _import(client, sized("second", 1), "skills/second") == 413
        listed = (await client.get("/api/v1/skills", params={"namespace": "alice"})).json()
        assert [s["name"] for s in listed["items"]] == ["first"]


async def test_zero_turns_both_limits_off(catalog_settings: CatalogSettings) -> None:
    async with running_catalog(
        catalog_settings, publish_rate_limit=0, storage_quota_bytes=0
    ) as client:
        for n in range(5):
            response = await client.post(
                "/api/v1/skills",
                content=sized("demo", n),
                headers={**GZIP, **auth("alice")},
                params={"version": f"1.0.{n}"},
            )
            assert response.status_code == 201
