"""Issue 20: a version's body is rendered once (at publish or import) and served from storage.

Each app here gets its own context, so its render pool's `renders` counts the texts
that process really rendered: a fresh process reading a stored body renders nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.context import CatalogContext
from skreg_catalog.rendering import RENDERER_VERSION, Rendered
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.rendering.stored import Stored, store_renderings
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills.document import DOCUMENT_VERSION
from skreg_catalog.skills.models import Version
from skreg_common.db import create_sessionmaker, unit_of_work
from skreg_proto.codec import to_json
from skreg_proto.internal import SERVICE_PUBLISH_PATH, Provenance, ServicePublishRequest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import auth, bundle, published

BODY = "# Title\n\nSome *body* text.\n"
HTML = "<h1>Title</h1>\n<p>Some <em>body</em> text.</p>\n"
VERSION = "/api/v1/skills/alice/demo/versions/1.0.0"
LATEST = "/api/v1/skills/alice/demo/versions/latest"


@asynccontextmanager
async def catalog_process(
    settings: CatalogSettings, **changes: Any
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], CatalogContext]]:
    """A client on a new catalog app (a fresh process, as far as rendering goes) and its context."""
    settings = msgspec.structs.replace(settings, **changes)
    context = CatalogContext.create(settings)
    async with built_catalog(settings, context) as app, AsyncTestClient(app) as client:
        yield client, context


async def settled(context: CatalogContext) -> None:
    """Until the background pass has nothing left to do (the app runs on another loop)."""
    while not context.bodies.idle:  # noqa: ASYNC110 - its Event lives on that other loop
        await asyncio.sleep(0.02)


async def stored_rows(engine: AsyncEngine) -> dict[int, RenderedBody]:
    async with unit_of_work(create_sessionmaker(engine)) as session:
        rows = (await session.execute(select(RenderedBody))).scalars().all()
        return {row.version_id: row for row in rows}


async def two_versions(client: AsyncTestClient[Litestar]) -> None:
    """alice/demo 1.0.0 with `BODY`, and 1.1.0 with one more paragraph."""
    await published(client, "demo", "1.0.0", body=BODY)
    await published(client, "demo", "1.1.0", body=BODY + "\nMore.\n")


async def test_a_published_body_is_stored_and_served_without_rendering(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await published(client, "demo", "1.0.0", body=BODY)
    (row,) = (await stored_rows(engine)).values()
    assert (row.html, row.renderer_version, row.plain) == (HTML, RENDERER_VERSION, False)

    async with catalog_process(catalog_settings) as (client, context):
        await settled(context)  # the start-up pass found nothing to do
        detail = (await client.get(VERSION)).json()
        latest = (await client.get(LATEST)).json()
        assert context.renderer.renders == 0
    assert detail["body_html"] == latest["body_html"] == HTML
    assert detail["body_html_partial"] is False


async def test_an_imported_body_is_stored_too(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    message = ServicePublishRequest(
        namespace="team",
        bundle=bundle("demo", version="1.0.0", body=BODY),
        provenance=Provenance(source_id="src-1", repository_url="https://git.example.com/t.git"),
    )
    async with catalog_process(catalog_settings) as (client, context):
        response = await client.post(
            SERVICE_PUBLISH_PATH,
            content=to_json(message),
            headers={"Content-Type": "application/json", **auth("importer")},
        )
        assert response.status_code == 200, response.text
        assert context.renderer.renders == 1
    (row,) = (await stored_rows(engine)).values()
    assert (row.html, row.renderer_version) == (HTML, RENDERER_VERSION)


async def test_a_stale_or_missing_rendering_is_served_fresh_then_replaced_in_the_background(
    catalog_settings: CatalogSettings, engine: AsyncEngine
) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await two_versions(client)
    sessions = create_sessionmaker(engine)
    first, second = sorted(await stored_rows(engine))
    async with unit_of_work(sessions) as session:  # as an older renderer left them
        await session.execute(
            update(RenderedBody)
            .where(RenderedBody.version_id == first)
            .values(html="<p>old renderer</p>", renderer_version=RENDERER_VERSION - 1)
        )
        await session.execute(
            RenderedBody.__table__.delete().where(RenderedBody.version_id == second)
        )

    async with catalog_process(catalog_settings) as (client, context):
        # Whether or not the start-up pass got there first, no body is ever missing or old.
        assert (await client.get(VERSION)).json()["body_html"] == HTML
        assert "More." in (await client.get(LATEST)).json()["body_html"]
        await settled(context)
    rows = await stored_rows(engine)
    assert rows[first].html == HTML
    assert {row.renderer_version for row in rows.values()} == {RENDERER_VERSION}
    assert "More." in rows[second].html


@pytest.mark.parametrize(
    "newer",
    [{"renderer_version": RENDERER_VERSION + 1}, {"document_version": DOCUMENT_VERSION + 1}],
    ids=["renderer", "document"],
)
async def test_storing_never_replaces_a_newer_renderers_output(
    catalog_settings: CatalogSettings, engine: AsyncEngine, newer: dict[str, int]
) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await published(client, "demo", "1.0.0", body=BODY)
    sessions = create_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        version_id = (await session.execute(select(Version.id))).scalar_one()
        await session.execute(update(RenderedBody).values(html="<p>newer</p>", **newer))
    async with unit_of_work(sessions) as session:  # what an older process would store
        older = Stored(version_id, Rendered("<p>older</p>", 10, 10), b'{"older":1}')
        await store_renderings(session, [older])
    assert (await stored_rows(engine))[version_id].html == "<p>newer</p>"


async def test_etag_304_and_cache_policies(catalog_settings: CatalogSettings) -> None:
    async with catalog_process(catalog_settings) as (client, _):
        await published(client, "demo", "1.0.0", body=BODY)
        exact = await client.get(VERSION)
        latest = await client.get(LATEST)
        assert exact.headers["cache-control"] == "public, max-age=300"
        assert latest.headers["cache-control"] == "public, no-cache"
        etag = exact.headers["etag"]
        assert etag == latest.headers["etag"]  # the same document
        again = await client.get(VERSION, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        assert again.headers["etag"] == etag
        assert (await client.get(LATEST, headers={"If-None-Match": etag})).status_code == 304
        other = await client.get(VERSION, headers={"If-None-Match": '"v-other"'})
        assert other.status_code == 200
        assert other.headers["content-type"].startswith("application/json")
        # The document carries the yank state: a yank changes the ETag.
        yanked = await client.post(
            VERSION + "/yank", json={"reason": "broken"}, headers=auth("alice")
        )
        assert yanked.status_code == 200, yanked.text
        after = await client.get(VERSION, headers={"If-None-Match": etag})
        assert after.status_code == 200
        assert after.json()["yanked"] is True
        assert after.headers["etag"] != etag


async def test_an_oversized_body_is_stored_in_part_and_keeps_its_notice(
    catalog_settings: CatalogSettings,
) -> None:
    body = "# Big\n\n" + "A line of text.\n" * 400  # ~6 KiB, over a 2 KiB limit
    async with catalog_process(catalog_settings, render_max_bytes=2048) as (client, _):
        await published(client, "demo", "1.0.0", body=body)
    async with catalog_process(catalog_settings, render_max_bytes=2048) as (client, context):
        detail = (await client.get(VERSION)).json()
        assert context.renderer.renders == 0
    assert detail["body_html_partial"] is True
    assert detail["body_html"].startswith("<p><strong>Shown in part:</strong> only the first")
    assert "/api/v1/skills/alice/demo/versions/1.0.0/files/SKILL.md" in detail["body_html"]
    assert "<h1>Big</h1>" in detail["body_html"]
