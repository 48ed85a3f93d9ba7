"""Purging: dropping the content of versions deleted longer ago than the retention period.

A deleted version keeps its row and its blob until then (restoring a skill, or
re-publishing the identical bundle, brings it back). Purging empties the row's
stored text (`PURGED_FIELDS`) and sets `purged_at`, but keeps the row and its
digest, so the version number can never return with other content. A blob is
emptied only when no version that may still be served or restored refers to it:
blobs are shared by digest, across versions, skills and owners.

Each skill, and each blob, is purged in a short transaction of its own, through the
catalog's one write path (`skreg_catalog.writer`). On
PostgreSQL the skill row is locked first (publishing locks it too), and the blob
row is locked before asking whether a version needs it: a publish storing that
digest holds the same lock until it commits (`DatabaseBlobStore.put`), so the
question is asked either before its version exists (the publish then refills
the blob) or after (the blob is kept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import structlog
from skreg_common.db import is_sqlite, rows_affected, utcnow
from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_catalog.blobs.models import Blob
from skreg_catalog.publishing.service import PURGED_FIELDS
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.skills.models import Skill, Version
from skreg_catalog.writer import CatalogWriter

log = structlog.get_logger(__name__)

EMPTIED: dict[str, Any] = {"body": "", "frontmatter": {}, "manifest": []}
assert set(EMPTIED) == set(PURGED_FIELDS)


@dataclass
class PurgeReport:
    """What a purge dropped (or, in a dry run, would drop)."""

    cutoff: dt.datetime
    versions: int = 0
    version_bytes: int = 0  # unpacked; what the owners' storage quotas get back
    skills: int = 0
    blobs: int = 0
    blob_bytes: int = 0
    blob_digests: list[str] = field(default_factory=list)


def expired(cutoff: dt.datetime) -> ColumnElement[bool]:
    """Versions deleted before `cutoff` and not purged yet."""
    return and_(
        Version.purged_at.is_(None), Version.deleted_at.is_not(None), Version.deleted_at <= cutoff
    )


def needed(cutoff: dt.datetime) -> ColumnElement[bool]:
    """Versions that may still be served or restored: live, or deleted after `cutoff`."""
    return and_(
        Version.purged_at.is_(None), or_(Version.deleted_at.is_(None), Version.deleted_at > cutoff)
    )


def _needs(digest: Any, cutoff: dt.datetime) -> ColumnElement[bool]:
    return exists().where(Version.digest == digest, needed(cutoff))


async def purgeable_blobs(session: AsyncSession, cutoff: dt.datetime) -> list[tuple[str, int]]:
    """Blobs (digest, size) that only purged or expired versions refer to."""
    query = (
        select(Blob.digest, Blob.size)
        .where(
            Blob.purged_at.is_(None),
            exists().where(Version.digest == Blob.digest),
            ~_needs(Blob.digest, cutoff),
        )
        .order_by(Blob.digest)
    )
    return [(digest, size) for digest, size in (await session.execute(query)).all()]


async def _expired_versions(session: AsyncSession, cutoff: dt.datetime) -> list[tuple[int, int]]:
    """(skill id, unpacked bytes) of each expired version."""
    query = select(Version.skill_id, Version.size).where(expired(cutoff))
    return [(skill_id, size) for skill_id, size in (await session.execute(query)).all()]


def _locks_rows(session: AsyncSession) -> bool:
    # SQLite has one writer, and a read before the first write would only risk a
    # stale snapshot; PostgreSQL needs the row locks described above.
    return not is_sqlite(session)


async def _purge_versions(writer: CatalogWriter, skill_id: int, cutoff: dt.datetime) -> list[int]:
    """Empty one skill's expired versions; their unpacked sizes."""
    async with writer.transaction() as session:
        if _locks_rows(session):
            await session.execute(select(Skill.id).where(Skill.id == skill_id).with_for_update())
        rows = await session.execute(
            update(Version)
            .where(Version.skill_id == skill_id, expired(cutoff))
            .values(purged_at=utcnow(), **EMPTIED)
            .returning(Version.id, Version.size)
        )
        purged = rows.all()
        # The rendered body goes with the body (publishing the same content renders it again).
        await session.execute(
            delete(RenderedBody).where(RenderedBody.version_id.in_([id_ for id_, _ in purged]))
        )
        return [size for _, size in purged]


async def _purge_blob(writer: CatalogWriter, digest: str, cutoff: dt.datetime) -> bool:
    """Empty one blob unless a version needs it now; True when emptied."""
    async with writer.transaction() as session:
        if _locks_rows(session):
            lock = select(Blob.digest).where(Blob.digest == digest).with_for_update()
            await session.execute(lock)
        emptied = await session.execute(
            update(Blob)
            .where(Blob.digest == digest, Blob.purged_at.is_(None), ~_needs(Blob.digest, cutoff))
            .values(data=b"", purged_at=utcnow())
        )
        return rows_affected(emptied) > 0


async def purge(
    sessions: async_sessionmaker[AsyncSession], *, older_than_days: int, dry_run: bool
) -> PurgeReport:
    """Purge what was deleted more than `older_than_days` ago (or only report it)."""
    report = PurgeReport(cutoff=utcnow() - dt.timedelta(days=older_than_days))
    async with sessions() as session:
        versions = await _expired_versions(session, report.cutoff)
        blobs = await purgeable_blobs(session, report.cutoff)
    if dry_run:
        report.versions = len(versions)
        report.version_bytes = sum(size for _, size in versions)
        report.skills = len({skill_id for skill_id, _ in versions})
        report.blobs, report.blob_bytes = len(blobs), sum(size for _, size in blobs)
        report.blob_digests = [digest for digest, _ in blobs]
        return report
    # A process of its own (the purge command): no other writer here to take turns with.
    writer = CatalogWriter(sessions, take_turns=False)
    for skill_id in sorted({skill_id for skill_id, _ in versions}):
        sizes = await _purge_versions(writer, skill_id, report.cutoff)
        report.versions += len(sizes)
        report.version_bytes += sum(sizes)
        report.skills += bool(sizes)
    for digest, size in blobs:
        if await _purge_blob(writer, digest, report.cutoff):
            report.blobs += 1
            report.blob_bytes += size
            report.blob_digests.append(digest)
    log.info(
        "purge.finished",
        cutoff=report.cutoff.isoformat(),
        versions=report.versions,
        skills=report.skills,
        blobs=report.blobs,
        blob_bytes=report.blob_bytes,
    )
    return report
