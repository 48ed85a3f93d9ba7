"""`python -m skreg_catalog.purge`: only long-deleted content goes, shared blobs stay."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.blobs.models import Blob
from skreg_catalog.blobs.store import DatabaseBlobStore
from skreg_catalog.purge.service import purge
from skreg_catalog.skills.models import Skill, Version
from skreg_common.db import create_engine, create_sessionmaker, unit_of_work
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.catalog.helpers import auth, backdate_deletion, bundle, publish

DOWNLOAD = "/api/v1/skills/{}/versions/{}/download"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database, apart from the app's (as the command has)."""
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def _blob(sessions: async_sessionmaker[AsyncSession], digest: str) -> tuple[int, bool]:
    """(bytes held, purged) of a blob."""
    async with sessions() as session:
        data, purged_at = (
            await session.execute(select(Blob.data, Blob.purged_at).where(Blob.digest == digest))
        ).one()
    return len(data), purged_at is not None


async def _version(
    sessions: async_sessionmaker[AsyncSession], namespace: str, name: str
) -> tuple[str, bool]:
    """(body, purged) of the skill's only version."""
    async with sessions() as session:
        body, purged_at = (
            await session.execute(
                select(Version.body, Version.purged_at)
                .join(Skill, Skill.id == Version.skill_id)
                .where(Skill.namespace == namespace, Skill.name == name)
            )
        ).one()
    return body, purged_at is not None


async def _published(client: AsyncTestClient[Litestar], data: bytes, who: str = "alice") -> str:
    response = await publish(client, data, who, version="1.0.0")
    assert response.status_code == 201, response.text
    digest: str = response.json()["digest"]
    return digest


async def _delete(client: AsyncTestClient[Litestar], skill: str) -> None:
    who = skill.split("/")[0]
    assert (await client.delete(f"/api/v1/skills/{skill}", headers=auth(who))).status_code == 204


async def _scene(client: AsyncTestClient[Litestar], database_url: str) -> dict[str, str]:
    """alice/old (deleted 40 days ago), alice/shared (deleted 40 days ago, its bundle
    also published live as bob/shared), alice/recent (deleted today), alice/live."""
    digests = {
        "old": await _published(client, bundle("old")),
        "shared": await _published(client, bundle("shared")),
        "recent": await _published(client, bundle("recent")),
        "live": await _published(client, bundle("live")),
    }
    assert await _published(client, bundle("shared"), "bob") == digests["shared"]
    for name in ("old", "shared", "recent"):
        await _delete(client, f"alice/{name}")
    for name in ("old", "shared"):
        await backdate_deletion(database_url, "alice", name, days=40)
    return digests


async def test_purge_drops_only_expired_content_and_keeps_shared_blobs(
    client: AsyncTestClient[Litestar], database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    digests = await _scene(client, database_url)
    before = {name: await _blob(sessions, d) for name, d in digests.items()}

    dry = await purge(sessions, older_than_days=30, dry_run=True)
    assert (dry.versions, dry.skills, dry.blobs) == (2, 2, 1)
    assert dry.blob_digests == [digests["old"]]
    assert {name: await _blob(sessions, d) for name, d in digests.items()} == before

    report = await purge(sessions, older_than_days=30, dry_run=False)
    assert (report.versions, report.skills, report.blobs) == (2, 2, 1)
    assert report.blob_bytes == before["old"][0]
    assert await _blob(sessions, digests["old"]) == (0, True)
    for name in ("shared", "recent", "live"):  # still needed by a live or recent version
        assert await _blob(sessions, digests[name]) == before[name], name
    assert await _version(sessions, "alice", "old") == ("", True)
    assert await _version(sessions, "alice", "shared") == ("", True)
    assert (await _version(sessions, "alice", "recent"))[1] is False
    # bob's copy of the shared bundle still downloads, byte for byte.
    download = await client.get(DOWNLOAD.format("bob/shared", "1.0.0"))
    assert download.status_code == 200
    assert download.content == bundle("shared")
    # Purging again finds nothing; a shorter retention reaches the recent deletion.
    again = await purge(sessions, older_than_days=30, dry_run=False)
    assert (again.versions, again.blobs) == (0, 0)
    now = await purge(sessions, older_than_days=0, dry_run=False)
    assert (now.versions, now.blobs) == (1, 1)


async def test_purged_content_comes_back_when_published_again(
    client: AsyncTestClient[Litestar], database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    original = bundle("old")
    digest = await _published(client, original)
    await _delete(client, "alice/old")
    await backdate_deletion(database_url, "alice", "old", days=40)
    assert (await purge(sessions, older_than_days=30, dry_run=False)).blobs == 1
    # The purged version number still never returns with other content...
    changed = await publish(client, bundle("old", description="Other."), version="1.0.0")
    assert changed.status_code == 409
    # ...and the same bundle as a new version refills the blob it shares.
    assert (await publish(client, original, version="1.0.1")).status_code == 201
    assert await _blob(sessions, digest) == (len(original), False)
    download = await client.get(DOWNLOAD.format("alice/old", "1.0.1"))
    assert download.content == original
    # Re-publishing the identical 1.0.0 restores it, content and all.
    assert (await publish(client, original, version="1.0.0")).status_code == 200
    detail = (await client.get("/api/v1/skills/alice/old/versions/1.0.0")).json()
    assert "Some body text." in detail["body"]
    assert (await client.get(DOWNLOAD.format("alice/old", "1.0.0"))).content == original


async def _command(database_url: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PURGE_AFTER_DAYS": "30"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "skreg_catalog.purge",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def test_the_purge_command(
    client: AsyncTestClient[Litestar], database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    digests = await _scene(client, database_url)
    status, output = await _command(database_url, "--dry-run")
    assert status == 0, output
    assert "would purge 2 version(s) of 2 skill(s)" in output
    assert digests["old"] in output
    assert (await _blob(sessions, digests["old"]))[1] is False
    status, output = await _command(database_url)
    assert status == 0, output
    assert "purged 2 version(s) of 2 skill(s)" in output
    assert await _blob(sessions, digests["old"]) == (0, True)
    status, output = await _command(database_url, "--days", "-1")
    assert status == 2
    assert "--days must be 0 or more" in output


async def test_a_publish_in_flight_keeps_the_blob_it_stores(
    client: AsyncTestClient[Litestar], database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Purge and a publish of the same digest race: the purge waits and keeps the blob."""
    original = bundle("old")
    digest = await _published(client, original)
    await _delete(client, "alice/old")
    await backdate_deletion(database_url, "alice", "old", days=40)
    async with unit_of_work(sessions) as publishing:
        # What PublishService._write does first: store the blob, then add a version.
        await DatabaseBlobStore().put(publishing, digest, original)
        found = await publishing.execute(select(Version).where(Version.digest == digest))
        old = found.scalar_one()
        columns = {c.key: getattr(old, c.key) for c in Version.__table__.columns if c.key != "id"}
        publishing.add(Version(**{**columns, "version": "1.0.1", "deleted_at": None}))
        await publishing.flush()
        purging = asyncio.create_task(purge(sessions, older_than_days=30, dry_run=False))
        await asyncio.sleep(0.5)  # let the purge reach the blob's lock before we commit
    report = await purging
    assert report.versions == 1  # the expired 1.0.0
    assert report.blobs == 0  # 1.0.1 needs it
    assert await _blob(sessions, digest) == (len(original), False)
