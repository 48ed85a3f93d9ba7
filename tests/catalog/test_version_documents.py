"""Issue 20: a version's page is stored as JSON with its HTML, and what changes is spliced in.

The page served from the stored document must be the page `to_version_detail` makes
from the whole row, at every state a version goes through after publish (downloads,
yanked, latest or not); a document older than `DOCUMENT_VERSION` is never served.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import pytest
from skreg_catalog.blobs.models import Blob
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.rendering.stored import stored_rendering
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills import hot
from skreg_catalog.skills.convert import to_version_detail
from skreg_catalog.skills.document import DOCUMENT_VERSION
from skreg_catalog.skills.hot import read_version
from skreg_catalog.skills.models import Skill, Version
from skreg_common.db import create_sessionmaker, unit_of_work, utcnow
from skreg_common.quickread import QuickReader
from skreg_proto.catalog import VersionDetail
from skreg_proto.codec import to_json
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.catalog.helpers import auth, published
from tests.catalog.test_rendered_bodies import (
    BODY,
    catalog_process,
    settled,
    stored_rows,
    two_versions,
)

PAGE = "/api/v1/skills/alice/demo/versions/{}"
# `VersionDetail`'s JSON schema when DOCUMENT_VERSION was last bumped. Changed the page?
# Bump DOCUMENT_VERSION (stored pages are then made again) and put the new hash here.
PINNED = {1: "02b3affd04b638f7"}


def test_the_page_shape_is_pinned_to_the_document_version() -> None:
    schema = msgspec.json.encode(msgspec.json.schema(VersionDetail))
    assert hashlib.sha256(schema).hexdigest()[:16] == PINNED[DOCUMENT_VERSION]


async def whole_pages(engine: AsyncEngine) -> dict[str, Any]:
    """Each version's page as `to_version_detail` makes it from the whole row."""
    async with unit_of_work(create_sessionmaker(engine)) as session:
        rows = await session.execute(
            select(Skill, Version, RenderedBody)
            .join(Version, Version.skill_id == Skill.id)
            .join(RenderedBody, RenderedBody.version_id == Version.id)
        )
        pages = {}
        for skill, version, stored in rows:
            rendered = stored_rendering(stored)
            assert rendered is not None
            detail = to_version_detail(skill, version, rendered)
            pages[version.version] = msgspec.json.decode(to_json(detail))
        return pages


async def test_the_stored_page_is_the_page_the_whole_row_makes(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await two_versions(client)
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await session.execute(
                update(Version).where(Version.version == "1.0.0").values(downloads=7)
            )
        for state in ("published", "yanked"):
            pages = await whole_pages(engine)
            assert pages["1.0.0"]["downloads"] == 7
            latest_version = "1.1.0" if state == "published" else "1.0.0"
            assert {v for v, page in pages.items() if page["is_latest"]} == {latest_version}
            for version in ("1.0.0", "1.1.0"):
                served = await client.get(PAGE.format(version))
                assert served.status_code == 200, served.text
                assert served.json() == pages[version], (state, version)
            latest = (await client.get(PAGE.format("latest"))).json()
            assert latest == pages[latest_version]
            yanked = await client.post(
                PAGE.format("1.1.0") + "/yank", json={"reason": "broken"}, headers=auth("alice")
            )
            assert yanked.status_code == 200, yanked.text
    assert pages["1.1.0"]["yanked"] is True
    assert pages["1.1.0"]["yank_reason"] == "broken"


async def test_a_stale_document_is_served_whole_then_made_again_without_rendering(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await published(client, "demo", "1.0.0", body=BODY)
        await published(client, "demo", "1.1.0", body=BODY)
        before = {v: await client.get(PAGE.format(v)) for v in ("1.0.0", "1.1.0")}
    first, second = sorted(await stored_rows(engine))
    async with unit_of_work(create_sessionmaker(engine)) as session:
        # As an older release left them: a page of an older shape, and none at all.
        await session.execute(
            update(RenderedBody)
            .where(RenderedBody.version_id == first)
            .values(document=b'{"namespace":"stale"}', document_version=DOCUMENT_VERSION - 1)
        )
        await session.execute(
            update(RenderedBody)
            .where(RenderedBody.version_id == second)
            .values(document=None, document_version=None)
        )

    async with catalog_process(catalog_settings) as (client, context):
        for version, page in before.items():
            # Whether or not the start-up pass got there first: the same bytes and ETag.
            served = await client.get(PAGE.format(version))
            assert (served.content, served.headers["etag"]) == (
                page.content,
                page.headers["etag"],
            )
        await settled(context)
        assert context.renderer.renders == 0  # the HTML was current: only pages were made
    rows = await stored_rows(engine)
    assert {row.document_version for row in rows.values()} == {DOCUMENT_VERSION}
    remade = [rows[first].document or b"", rows[second].document or b""]
    assert b'"version":"1.0.0"' in remade[0]
    assert b"stale" not in remade[0]
    assert b'"version":"1.1.0"' in remade[1]


async def test_the_digest_served_is_always_the_versions_rows_own(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    # Clients check bundles and signatures against it: a stored copy must never hide a
    # change to the row (here, a tampered database), as `skreg verify` relies on.
    altered = "sha256:" + "ab" * 32
    async with catalog_process(catalog_settings) as (client, _):
        await published(client, "demo", "1.0.0", body=BODY)
        async with unit_of_work(create_sessionmaker(engine)) as session:
            blob = {"digest": altered, "data": b"x", "size": 1, "created_at": utcnow()}
            await session.execute(Blob.__table__.insert().values(**blob))
            await session.execute(update(Version).values(digest=altered))
        for version in ("1.0.0", "latest"):
            assert (await client.get(PAGE.format(version))).json()["digest"] == altered


async def test_the_fast_select_reads_what_the_outer_one_reads(
    catalog_settings: CatalogSettings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page is first read inner-joined to a visible version (no EXISTS); whatever it
    # misses is read again the outer way. Both must give the same read in every state.
    quick = QuickReader(engine, busy_timeout_ms=5000)  # on this loop (the app runs on another)

    async def reads(context: Any) -> list[Any]:
        return [
            await read_version(quick, context, "alice", name, version)
            for name in ("demo", "absent")
            for version in ("1.0.0", "1.1.0", "latest", "9.9.9")
        ]

    states = [
        Version.version == "nothing",  # as published
        Version.version == "1.1.0",  # the latest withheld
        Version.id.is_not(None),  # every version withheld: the skill is hidden
    ]
    async with catalog_process(catalog_settings) as (client, context):
        await two_versions(client)
        for withheld in states:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                await session.execute(update(Version).values(withheld=withheld))
            fast = await reads(context)
            with monkeypatch.context() as patched:
                patched.setattr(hot, "FOUND_DOCUMENT", hot.DOCUMENT)
                assert await reads(context) == fast
            found = [read.page is not None for read in fast]
            assert any(found) == (withheld is not states[-1])
            assert all(read.gate is None for read in fast[4:])  # no such skill
