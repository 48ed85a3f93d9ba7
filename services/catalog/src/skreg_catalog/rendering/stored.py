"""Bodies rendered once and stored; renderings of an older renderer replaced in the background.

A version is immutable, so its SKILL.md body is rendered when it is published or
imported (before the write transaction opens, off the event loop) and stored with it
(`RenderedBody`). Reads use the stored HTML when `RENDERER_VERSION` made it; otherwise
(versions from before this table, or after a renderer upgrade) they render as before,
so no version is ever without a body, and poke the `BodyRefresher`, which replaces
stale rows in bounded batches. It also runs once at start-up.

Each stored row also holds the version's page as JSON (`skreg_catalog.skills.document`),
made with the HTML; a row whose document is older than `DOCUMENT_VERSION` (or has
none: rows from before documents) gets one from the background pass, which re-uses
the stored HTML when the renderer has not changed.

Several processes may refresh at once: every store is an upsert guarded by
`(renderer_version, document_version) < (:current)`, so the last of two identical
renderings is a no-op and an older process never overwrites a newer one's output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple, Protocol

import structlog
from skreg_common.db import insert_for
from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.rendering.markdown import RENDERER_VERSION, Rendered
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.rendering.pool import RenderPool, RenderUnavailable
from skreg_catalog.skills.document import DOCUMENT_VERSION, document_digest, stored_document
from skreg_catalog.skills.models import Skill, Version

log = structlog.get_logger(__name__)

# Rows read, rendered and stored per round of the background pass: bounded memory
# (bodies are at most a bundle's file limit) and short write transactions.
BATCH = 32


class Sessions(Protocol):
    """Something that opens a session: the writer's transaction, or a reading session."""

    def __call__(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for one unit of work."""
        ...


def stored_rendering(row: RenderedBody | None) -> Rendered | None:
    """The stored rendering if the current renderer made it, else None (render it now)."""
    if row is None or row.renderer_version != RENDERER_VERSION:
        return None
    return Rendered(row.html, row.source_bytes, row.rendered_bytes, row.plain)


async def render_for_storage(pool: RenderPool, digest: str, body: str) -> Rendered | None:
    """The body rendered to be stored (never a saturation fallback); None if the worker
    was lost (the version is then rendered on read and stored by the background pass)."""
    try:
        return await pool.markdown(digest, body, patient=True)
    except RenderUnavailable:
        log.warning("render.not_stored", digest=digest)
        return None


class Stored(NamedTuple):
    """What is stored for one version: its rendering, and its page made with it."""

    version_id: int
    rendered: Rendered
    document: bytes


def to_store(namespace: str, name: str, version: Version, rendered: Rendered) -> Stored:
    """The row to store for `version` of `namespace/name`, rendered as `rendered`."""
    return Stored(version.id, rendered, stored_document(namespace, name, version, rendered))


async def store_renderings(session: AsyncSession, renderings: Sequence[Stored]) -> None:
    """Store renderings and documents; a row the current renderer and document made stays."""
    if not renderings:
        return
    insert = insert_for(session)
    statement = insert(RenderedBody).values(
        [
            {
                "version_id": stored.version_id,
                "html": stored.rendered.html,
                "source_bytes": stored.rendered.source_bytes,
                "rendered_bytes": stored.rendered.rendered_bytes,
                "plain": stored.rendered.plain,
                "renderer_version": RENDERER_VERSION,
                "document": stored.document,
                "document_digest": document_digest(stored.document),
                "document_version": DOCUMENT_VERSION,
            }
            for stored in renderings
        ]
    )
    excluded = statement.excluded
    made_by = tuple_(RenderedBody.renderer_version, func.coalesce(RenderedBody.document_version, 0))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[RenderedBody.version_id],
            set_={
                "html": excluded.html,
                "source_bytes": excluded.source_bytes,
                "rendered_bytes": excluded.rendered_bytes,
                "plain": excluded.plain,
                "renderer_version": excluded.renderer_version,
                "document": excluded.document,
                "document_digest": excluded.document_digest,
                "document_version": excluded.document_version,
            },
            where=made_by < tuple_(excluded.renderer_version, excluded.document_version),
        )
    )


def _stale_after(last_id: int) -> Any:
    """Visible, unpurged versions after `last_id` (with their skill's name and stored
    row) without a rendering by the current renderer or a current document."""
    return (
        select(Version, Skill.namespace, Skill.name, RenderedBody)
        .join(Skill, Skill.id == Version.skill_id)
        .outerjoin(RenderedBody, RenderedBody.version_id == Version.id)
        .where(
            Version.id > last_id,
            Version.deleted_at.is_(None),
            Version.purged_at.is_(None),
            or_(
                RenderedBody.version_id.is_(None),
                RenderedBody.renderer_version < RENDERER_VERSION,
                RenderedBody.document_version.is_(None),
                RenderedBody.document_version < DOCUMENT_VERSION,
            ),
        )
        .order_by(Version.id)
        .limit(BATCH)
    )


class BodyRefresher:
    """Renders and stores the bodies of versions without a current rendering, in the background."""

    def __init__(self, pool: RenderPool) -> None:
        self.pool = pool
        self._wanted = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """A read found a stale rendering: run a pass soon (at most one at a time)."""
        self._idle.clear()
        self._wanted.set()

    @property
    def idle(self) -> bool:
        """No pass is running or wanted."""
        return self._idle.is_set()

    def start(self, reading: Sessions, writing: Sessions) -> None:
        """Start the background task, with one pass right away (at start-up)."""
        if self._task is None:
            self.poke()
            self._task = asyncio.create_task(self._run(reading, writing), name="body-refresher")

    async def stop(self) -> None:
        """Stop the background task (at shutdown); a half-done pass is simply resumed later."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, reading: Sessions, writing: Sessions) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.refresh_stale(reading, writing)
            except Exception:  # the next poke or start-up tries again
                log.exception("render.refresh_failed")
            if not self._wanted.is_set():
                self._idle.set()

    async def refresh_stale(self, reading: Sessions, writing: Sessions) -> int:
        """One pass over every version without a current rendering; how many were stored."""
        last_id, stored = 0, 0
        while True:
            async with reading() as session:
                rows = (await session.execute(_stale_after(last_id))).all()
            if not rows:
                break
            last_id = rows[-1][0].id
            renderings = []
            for version, namespace, name, row in rows:
                # Only the document is stale: the stored HTML is still the current one.
                rendered = stored_rendering(row)
                if rendered is None:
                    rendered = await render_for_storage(self.pool, version.digest, version.body)
                if rendered is not None:
                    renderings.append(to_store(namespace, name, version, rendered))
            async with writing() as session:
                await store_renderings(session, renderings)
            stored += len(renderings)
        if stored:
            log.info("render.refreshed", stored=stored, renderer_version=RENDERER_VERSION)
        return stored
