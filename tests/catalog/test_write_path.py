"""One write path: publish, yank, unyank, delete and download counts racing each other.

Every write takes the same unit of work (`skreg_catalog.writer.CatalogWriter`). These
tests race them on both backends and check two things: no request fails (on SQLite a
write that started on a stale read snapshot fails with "database is locked"), and
nothing is left half-written (each skill's derived state agrees with its versions).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.blobs.models import Blob
from skreg_catalog.search.models import VISIBLE_SKILLS, CatalogCounter, SearchDocument
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills.models import Skill, SkillTag, Version
from skreg_catalog.skills.state import current_version
from skreg_catalog.writer import CatalogWriter
from skreg_common.db import create_engine, create_sessionmaker, is_sqlite, utcnow
from skreg_common.runtime import Runtime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.catalog.conftest import running_catalog
from tests.catalog.helpers import auth, bundle, publish, published

SKILL = "/api/v1/skills/alice/{}"
VERSION = SKILL + "/versions/{}"


def _yank(client: AsyncTestClient[Litestar], name: str, version: str) -> Any:
    return client.post(
        VERSION.format(name, version) + "/yank", json={"reason": "broken"}, headers=auth("alice")
    )


def _unyank(client: AsyncTestClient[Litestar], name: str, version: str) -> Any:
    return client.delete(VERSION.format(name, version) + "/yank", headers=auth("alice"))


def _download(client: AsyncTestClient[Litestar], name: str, version: str, n: int) -> Any:
    # Each address is one client, so each download is counted (a write).
    headers = {"X-Forwarded-For": f"192.0.2.{n}"}
    return client.get(VERSION.format(name, version) + "/download", headers=headers)


async def _consistent(database_url: str) -> None:
    """Each skill's latest, tags, search document and the visible count match its versions."""
    engine = create_engine(database_url)
    try:
        await _check(engine)
    finally:
        await engine.dispose()


async def _check(engine: AsyncEngine) -> None:
    async with create_sessionmaker(engine)() as session:
        skills = (await session.execute(select(Skill))).scalars().all()
        visible = 0
        for skill in skills:
            rows = (
                await session.execute(
                    select(Version.version, Version.yanked).where(
                        Version.skill_id == skill.id, Version.deleted_at.is_(None)
                    )
                )
            ).all()
            expected = None if skill.deleted_at is not None else current_version(rows)
            name = f"{skill.namespace}/{skill.name}"
            assert skill.latest_version == (None if expected is None else str(expected)), name
            document = await session.get(SearchDocument, skill.id)
            tags = (
                await session.execute(select(SkillTag.tag).where(SkillTag.skill_id == skill.id))
            ).scalars()
            if expected is None:
                assert document is None, name
                assert list(tags) == [], name
            else:
                visible += 1
                assert document is not None, name
                assert sorted(tags) == sorted(skill.tags), name
        counter = await session.get(CatalogCounter, VISIBLE_SKILLS)
        assert (counter.value if counter else 0) == visible
        orphans = await session.scalar(
            select(func.count())
            .select_from(Blob)
            .where(~select(Version.id).where(Version.digest == Blob.digest).exists())
        )
        assert orphans == 0
        versions = await session.scalar(select(func.sum(Version.downloads)))
        skill_total = await session.scalar(select(func.sum(Skill.downloads)))
        assert versions == skill_total


async def test_racing_writes_of_every_kind_all_succeed_and_agree(
    catalog_settings: CatalogSettings,
) -> None:
    # Every peer is a trusted proxy here, so each forwarded address is a client of its own.
    async with running_catalog(catalog_settings, trusted_proxies="*") as client:
        await _race(client)
    await _consistent(catalog_settings.database_url)


async def _race(client: AsyncTestClient[Litestar]) -> None:
    for name in ("one", "two", "gone"):
        await published(client, name, "1.0.0", tags="a,b")
        await published(client, name, "1.1.0", tags="c")
    writes = [
        *[publish(client, bundle("one", tags=f"t{i}"), version=f"2.{i}.0") for i in range(6)],
        *[publish(client, bundle("two"), version=f"1.2.{i}") for i in range(4)],
        _yank(client, "one", "1.1.0"),
        _yank(client, "two", "1.1.0"),
        _unyank(client, "two", "1.0.0"),
        _yank(client, "gone", "1.0.0"),
        client.delete(SKILL.format("gone"), headers=auth("alice")),
        *[_download(client, "one", "1.0.0", n) for n in range(6)],
        *[_download(client, "two", "1.1.0", n) for n in range(6)],
    ]
    responses = await asyncio.gather(*writes)
    failed = [(r.request.method, r.request.url.path, r.status_code, r.text) for r in responses]
    # A yank of a skill deleted in the same race may fairly find it gone (404); nothing else.
    allowed = {200, 201, 204}
    assert [f for f in failed if f[2] not in allowed and "/gone/" not in f[1]] == []
    assert all(f[2] in allowed | {404} for f in failed), failed
    one = (await client.get(SKILL.format("one"))).json()
    assert (one["latest_version"], one["tags"], one["downloads"]) == ("2.5.0", ["t5"], 6)
    two = (await client.get(SKILL.format("two"))).json()
    assert (two["latest_version"], two["downloads"]) == ("1.2.3", 6)
    assert (await client.get(SKILL.format("gone"))).status_code == 404


async def _fail_half_way(writer: CatalogWriter) -> None:
    async with writer.transaction() as session:
        skill = (await session.execute(select(Skill).where(Skill.name == "demo"))).scalar_one()
        skill.description = "half-written"
        session.add(Blob(digest="sha256:" + "0" * 64, data=b"x", size=1, created_at=utcnow()))
        await session.flush()
        raise LookupError("fails after flushed changes")


async def test_a_failed_write_leaves_nothing_behind_and_frees_the_turn(
    client: AsyncTestClient[Litestar], runtime: Runtime
) -> None:
    """A unit that fails half-way rolls all of it back, runs no commit hook, and the next
    unit gets the turn (on SQLite a turn left taken would stall every later write)."""
    await published(client, "demo", "1.0.0")
    commits: list[int] = []
    writer = CatalogWriter.on(runtime, on_commit=lambda: commits.append(1))
    assert writer.takes_turns == is_sqlite(runtime.engine)
    with pytest.raises(LookupError):
        await _fail_half_way(writer)
    assert commits == []
    async with asyncio.timeout(5), writer.transaction() as session:
        skill = (await session.execute(select(Skill).where(Skill.name == "demo"))).scalar_one()
        assert skill.description != "half-written"
        assert await session.get(Blob, "sha256:" + "0" * 64) is None
    assert commits == [1]
    await _consistent(runtime.settings.database_url)
