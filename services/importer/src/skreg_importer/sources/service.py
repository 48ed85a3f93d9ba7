"""Managing sources: create, read, change, remove. Secrets are sealed on the way in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from skreg_common.db import utcnow
from skreg_common.errors import Invalid, NotFound
from skreg_proto.codec import to_msgpack
from skreg_proto.importer import Credentials, SourceCreate, SourceUpdate
from skreg_proto.importer import Source as SourceOut
from skreg_proto.pagination import (
    Page,
    clamp_limit,
)
from skreg_proto.problems import FieldProblem
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_importer.crypto import SecretBox
from skreg_importer.gitops.urls import parse_repo_url
from skreg_importer.inputs import (
    check_credentials,
    check_location,
    check_ref,
    check_subdirectory,
    check_url,
)
from skreg_importer.jobs.runner import CREDENTIALS_PURPOSE
from skreg_importer.paging import decode_position, encode_position
from skreg_importer.pathfilters import normalise_globs
from skreg_importer.runs.counts import outcome_counts
from skreg_importer.runs.models import ImportRun
from skreg_importer.sources.convert import LastRun, to_source
from skreg_importer.sources.models import Source

if TYPE_CHECKING:  # the context holds the services that import this module
    from skreg_importer.context import ImporterContext

WEBHOOK_PURPOSE = "webhook-secret"


def seal_credentials(box: SecretBox, creds: Credentials | None) -> str | None:
    """Credentials sealed for storage (None stays None)."""
    return None if creds is None else box.seal(to_msgpack(creds), CREDENTIALS_PURPOSE)


class SourceService:
    """Source CRUD inside the request's transaction (flushes, never commits)."""

    def __init__(self, session: AsyncSession, importer: ImporterContext) -> None:
        self.session = session
        self.settings = importer.settings
        self.box = importer.box

    async def _get(self, source_id: str) -> Source:
        source = await self.session.get(Source, source_id)
        if source is None:
            raise NotFound(f"no source with id {source_id!r}")
        return source

    async def _last_runs(self, ids: list[str]) -> dict[str, LastRun]:
        if not ids:
            return {}
        latest = (
            select(ImportRun.source_id, func.max(ImportRun.created_at).label("at"))
            .where(ImportRun.source_id.in_(ids))
            .group_by(ImportRun.source_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(ImportRun.source_id, ImportRun.id, ImportRun.state).join(
                latest,
                and_(
                    ImportRun.source_id == latest.c.source_id, ImportRun.created_at == latest.c.at
                ),
            )
        )
        found = {str(sid): (rid, state) for sid, rid, state in rows}
        counts = await outcome_counts(self.session, [rid for rid, _ in found.values()])
        return {
            sid: LastRun(rid, state, counts.get(rid, {})) for sid, (rid, state) in found.items()
        }

    async def view(self, source: Source) -> SourceOut:
        """The API view, with the latest run's id and state."""
        return to_source(source, (await self._last_runs([source.id])).get(source.id))

    async def create(self, data: SourceCreate, created_by: str | None) -> SourceOut:
        """Validate everything, then store the source with its secrets sealed."""
        where = check_location(data, allow_local=self.settings.importer_allow_local, what="source")
        source = Source(
            url=where.url,
            ref=where.ref,
            subdirectory=where.subdirectory,
            namespace=data.namespace,
            include=where.include,
            exclude=where.exclude,
            version_policy=data.version_policy,
            visibility=data.visibility,
            interval_seconds=data.interval,
            enabled=data.enabled,
            webhook_secret_enc=self._seal_webhook(data.webhook_secret),
            credentials_enc=seal_credentials(self.box, where.credentials),
            created_by=created_by,
            generation=0,
            next_sync_at=utcnow(),
        )
        self.session.add(source)
        await self.session.flush()
        return to_source(source)

    def _seal_webhook(self, secret: str | None) -> str | None:
        return None if secret is None else self.box.seal(secret.encode("utf-8"), WEBHOOK_PURPOSE)

    async def get(self, source_id: str) -> SourceOut:
        """One source."""
        return await self.view(await self._get(source_id))

    async def list_sources(self, limit: int | None, cursor: str | None) -> Page[SourceOut]:
        """Sources, oldest first, cursor paginated."""
        size = clamp_limit(limit)
        query = select(Source).order_by(Source.created_at, Source.id).limit(size + 1)
        if cursor:
            at, last_id = decode_position(cursor)
            query = query.where(
                or_(Source.created_at > at, and_(Source.created_at == at, Source.id > last_id))
            )
        rows = list((await self.session.execute(query)).scalars())
        page, more = rows[:size], len(rows) > size
        last_runs = await self._last_runs([s.id for s in page])
        total = await self.session.scalar(select(func.count()).select_from(Source))
        next_cursor = encode_position(page[-1].created_at, page[-1].id) if more else None
        return Page(
            items=[to_source(s, last_runs.get(s.id)) for s in page],
            next_cursor=next_cursor,
            total=int(total or 0),
        )

    async def update(self, source_id: str, patch: SourceUpdate) -> SourceOut:
        """Apply the fields present in `patch`; where to import from changing resets the
        last commit, so the next sync clones instead of trusting `ls-remote`."""
        source = await self._get(source_id)
        problems: list[FieldProblem] = []
        moved = False
        repo = None
        if patch.url is not msgspec.UNSET:
            checked = check_url(
                patch.url, allow_local=self.settings.importer_allow_local, problems=problems
            )
            if checked is not None:
                repo = checked.repo
                moved |= checked.repo.display != source.url
                source.url = checked.repo.display
                if checked.embedded is not None and patch.credentials is msgspec.UNSET:
                    patch.credentials = checked.embedded
        if patch.ref is not msgspec.UNSET:
            ref = check_ref(patch.ref, problems)
            moved |= ref != source.ref
            source.ref = ref
        if patch.subdirectory is not msgspec.UNSET:
            subdirectory = check_subdirectory(patch.subdirectory, problems)
            moved |= subdirectory != source.subdirectory
            source.subdirectory = subdirectory
        if patch.namespace is not msgspec.UNSET:
            moved |= patch.namespace != source.namespace
            source.namespace = patch.namespace
        # What is imported, and how it is numbered: a change is worth a fresh clone.
        for name in ("include", "exclude"):
            value = getattr(patch, name)
            if value is not msgspec.UNSET:
                globs = normalise_globs(value or [], name, problems)  # null clears
                moved |= globs != list(getattr(source, name) or ())
                setattr(source, name, globs)
        if patch.version_policy is not msgspec.UNSET:
            moved |= patch.version_policy != source.version_policy
            source.version_policy = patch.version_policy
        if patch.visibility is not msgspec.UNSET:
            source.visibility = patch.visibility  # new skills only: no fresh clone needed
        if patch.credentials is not msgspec.UNSET:
            if repo is None:  # the stored URL passed these checks when it was saved
                repo = parse_repo_url(source.url, allow_local=True)
            creds = check_credentials(patch.credentials, repo, problems)
            source.credentials_enc = seal_credentials(self.box, creds)
            moved = True
        if problems:
            raise Invalid("the change is not valid", errors=problems)
        if patch.interval is not msgspec.UNSET:
            source.interval_seconds = patch.interval
            source.next_sync_at = utcnow()
        if patch.enabled is not msgspec.UNSET:
            source.enabled = patch.enabled
            if patch.enabled:
                source.next_sync_at = utcnow()
        if patch.webhook_secret is not msgspec.UNSET:
            source.webhook_secret_enc = self._seal_webhook(patch.webhook_secret)
        if moved:
            source.last_commit = None
            source.last_success_run_id = None
        source.updated_at = utcnow()
        await self.session.flush()
        return await self.view(source)

    async def delete(self, source_id: str) -> None:
        """Remove the source; its runs stay (detached) as history."""
        source = await self._get(source_id)
        await self.session.delete(source)
        await self.session.flush()
