"""Issue 14, High 1: rendering one skill must not stop the server, nor answer or keep huge HTML.

The attack: a small bundle whose SKILL.md body is megabytes of Markdown table rows; any
anonymous GET of that version rendered it on the event loop for most of a minute,
answered 38 MB and kept the result in an unbounded render cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from skreg_catalog.context import CatalogContext
from skreg_catalog.rendering import RenderLimits, RenderPool, render_markdown
from skreg_catalog.rendering.markdown import OUTPUT_FLOOR, OUTPUT_RATIO
from skreg_catalog.settings import CatalogSettings

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import GZIP, bundle, publish
from tests.cli.conftest import ADMIN_PASSWORD, RegistryServer

TABLE_ROWS = "|a|b|\n|-|-|\n" + "|x|y|\n" * 100_000  # 600 KB of rows, a few KB gzipped
# A header a thousand columns wide over one-character rows: markdown-it pads every row
# to the header's width, so each table turned 4 KB into 65,536 cells.
WIDE_TABLES = ("|" + "a|" * 1000 + "\n|" + "-|" * 1000 + "\n" + "|x\n" * 70 + "\n") * 10
# One long reference target used thousands of times: every use repeats the URL.
REFERENCE_BOMB = "[r]: https://x.example/" + "a" * 4000 + "\n\n" + "[a][r] " * 5000
VERSION = "/api/v1/skills/alice/hostile/versions/1.0.0"


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The all-in-one process on this test's database, on a free loopback port."""
    server = RegistryServer(database_url, tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


async def test_a_hostile_body_neither_stops_the_server_nor_answers_megabytes(
    registry: str,
) -> None:
    async with httpx.AsyncClient(base_url=registry, timeout=120) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        token = login.json()["access_token"]
        url = VERSION.replace("alice", "admin")
        health_answers: list[float] = []
        done = asyncio.Event()

        async def poll_health() -> None:
            while not done.is_set():
                assert (await client.get("/health")).status_code == 200
                health_answers.append(time.monotonic())

        # The body is rendered once, when it is published (issue 20): that is when a
        # render on the event loop would stop the server.
        poller = asyncio.create_task(poll_health())
        began = time.monotonic()
        published = await client.post(
            "/api/v1/skills",
            params={"version": "1.0.0"},
            content=bundle("hostile", body=TABLE_ROWS),
            headers={**GZIP, "authorization": f"Bearer {token}"},
        )
        ended = time.monotonic()
        done.set()
        await poller
        assert published.status_code == 201, published.text
        response = await client.get(url)  # anonymous, like the attack

    assert response.status_code == 200
    # The server kept answering all through the publish. Rendering on the event loop let
    # /health in only before the render began and after it ended, never in the middle.
    quarter = (ended - began) / 4
    assert [t for t in health_answers if began + quarter <= t <= ended - quarter]
    version = response.json()
    assert version["body"].strip() == TABLE_ROWS.strip()  # the raw body stays whole
    # The raw body once, and HTML for a bounded leading part (the old answer carried
    # HTML five times the size of the whole body).
    html_bound = OUTPUT_FLOOR + OUTPUT_RATIO * CatalogSettings().render_max_bytes + 1024
    assert len(version["body_html"]) <= html_bound
    assert len(response.content) < 1.5 * (len(TABLE_ROWS) + html_bound)  # JSON escapes \n
    assert version["body_html_partial"] is True
    assert "Shown in part" in version["body_html"]
    assert f"{url}/files/SKILL.md" in version["body_html"]


@pytest.mark.parametrize("body", [TABLE_ROWS, WIDE_TABLES, REFERENCE_BOMB])
def test_rendered_html_is_bounded_by_its_source(body: str) -> None:
    rendered = render_markdown(body, 64 * 1024)
    assert rendered.rendered_bytes <= 64 * 1024
    assert len(rendered.html) <= OUTPUT_FLOOR + OUTPUT_RATIO * rendered.rendered_bytes


def test_ordinary_tables_and_links_still_render() -> None:
    body = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 500 + "\n[r]: https://x.example\n\n[a][r]\n"
    rendered = render_markdown(body)
    assert not rendered.plain
    assert not rendered.truncated
    assert rendered.html.count("<tr>") == 501
    assert 'href="https://x.example"' in rendered.html


def test_html_comments_are_not_shown() -> None:
    html = render_markdown(
        "# Title\n\n<!-- block comment\nover lines -->\n\ntext <!-- inline --> more\n\n"
        "```html\n<!-- kept in code -->\n```\n"
    ).html
    assert "comment" not in html
    assert "inline" not in html
    assert "text  more" in html
    assert "&lt;!-- kept in code --&gt;" in html


async def test_the_render_cache_is_bounded_by_bytes() -> None:
    pool = RenderPool(RenderLimits(max_source_bytes=16 * 1024, cache_bytes=512 * 1024, workers=0))
    try:
        for n in range(8):
            rendered = await pool.markdown(
                f"body-{n}", f"# {n}\n\n" + "|a|b|\n|-|-|\n" + "|x|y|\n" * 20_000
            )
            assert rendered.truncated
            assert pool.cache.currsize <= 512 * 1024
        assert 0 < len(pool.cache) < 8
        assert pool.cache.get(("markdown", "body-0")) is None  # the oldest went first
    finally:
        pool.close()


@pytest.fixture
def small_render_settings(database_url: str) -> CatalogSettings:
    return CatalogSettings(
        database_url=database_url,
        auto_migrate=False,
        render_max_bytes=32 * 1024,
        render_cache_bytes=512 * 1024,
    )


async def test_render_settings_bound_what_a_version_read_renders_and_keeps(
    small_render_settings: CatalogSettings,
) -> None:
    context = CatalogContext.create(small_render_settings)
    async with (
        built_catalog(small_render_settings, context) as app,
        AsyncTestClient(app) as client,
    ):
        for n in range(4):
            name = f"hostile{n}"
            body = f"# {n}\n\n" + TABLE_ROWS
            response = await publish(client, bundle(name, body=body), version="1.0.0")
            assert response.status_code == 201, response.text
            read = await client.get(f"/api/v1/skills/alice/{name}/versions/1.0.0")
            assert read.status_code == 200
            html = read.json()["body_html"]
            assert len(html) <= OUTPUT_FLOOR + OUTPUT_RATIO * 32 * 1024 + 1024
            assert context.renderer.cache.currsize <= 512 * 1024


async def test_renders_past_the_waiting_cap_are_shown_plain_not_queued() -> None:
    pool = RenderPool(RenderLimits(workers=0))  # large texts in threads: 4 may wait
    texts = [f"# Text {n}\n\n" + "Some *prose* here.\n\n" * 1500 for n in range(6)]
    try:
        results = await asyncio.gather(*(pool.markdown(n, t) for n, t in enumerate(texts)))
        assert [r.plain for r in results] == [False] * 4 + [True] * 2
        assert "&lt;" not in results[5].html
        assert pool.cache.get(("markdown", 5)) is None  # the stand-in is not remembered
        again = await pool.markdown(5, texts[5])
        assert not again.plain
        assert "<em>prose</em>" in again.html
    finally:
        pool.close()
