"""Starting runs (sync, one-off import) and reading them back.

Starting a run is two steps in this order: commit the run row (the source of truth),
then enqueue its job. No Redis call happens inside the transaction; if the enqueue
fails, the row stays `queued` and upkeep enqueues it later.
"""

from __future__ import annotations

import datetime as dt

import structlog
from skreg_common.db import rows_affected, unit_of_work, utcnow
from skreg_common.errors import Conflict, NotFound
from skreg_proto.importer import ImportCreate, RunTrigger
from skreg_proto.importer import ImportRun as RunOut
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_importer.crypto import SecretBox
from skreg_importer.inputs import check_location
from skreg_importer.queue.dispatch import Dispatcher
from skreg_importer.runs.convert import to_run
from skreg_importer.runs.models import ACTIVE_STATES, ImportRun
from skreg_importer.settings import ImporterSettings
from skreg_importer.sources.models import Source, new_id
from skreg_importer.sources.service import seal_credentials

log = structlog.get_logger(__name__)

CREATE_ATTEMPTS = 4


def source_job_id(source_id: str, generation: int) -> str:
    """The job id of a source's `generation`-th run: a double click enqueues once."""
    return f"import:{source_id}:{generation}"


class RunRequests:
    """Creates runs in their own short transactions and enqueues them after commit."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        settings: ImporterSettings,
        box: SecretBox,
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.settings = settings
        self.box = box

    async def _enqueue(self, run: ImportRun) -> None:
        try:
            await self.dispatcher.enqueue(run.id, run.job_id)
        except Exception:  # the row is queued; upkeep will enqueue it once the queue is back
            log.warning("import.enqueue_failed", run_id=run.id, exc_info=True)

    async def sync_source(
        self, source_id: str, trigger: RunTrigger = "manual"
    ) -> tuple[RunOut, bool]:
        """A run for the source: its active one if there is one, else a new one.

        Returns the run and whether it was created now. Two concurrent requests both
        try to bump the source's generation from the value they read; one wins, the
        other finds the winner's run on its next pass.
        """
        for _ in range(CREATE_ATTEMPTS):
            try:
                run, created = await self._create_for_source(source_id, trigger)
            except (IntegrityError, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not _is_contention(exc):
                    raise
                continue
            if run is None:
                continue
            if created:
                log.info("import.queued", run_id=run.id, source_id=source_id, trigger=trigger)
                await self._enqueue(run)
            return to_run(run), created
        raise Conflict("the source is being synced by another request; try again")

    async def _create_for_source(
        self, source_id: str, trigger: RunTrigger
    ) -> tuple[ImportRun | None, bool]:
        async with unit_of_work(self.sessions) as session:
            source = await session.get(Source, source_id)
            if source is None:
                raise NotFound(f"no source with id {source_id!r}")
            active = await session.scalar(
                select(ImportRun)
                .where(ImportRun.source_id == source_id, ImportRun.state.in_(ACTIVE_STATES))
                .order_by(ImportRun.created_at.desc())
                .limit(1)
            )
            if active is not None:
                return active, False
            generation = source.generation + 1
            now = utcnow()
            bumped = await session.execute(
                update(Source)
                .where(Source.id == source_id, Source.generation == source.generation)
                .values(
                    generation=generation,
                    next_sync_at=now
                    + dt.timedelta(seconds=source.interval_seconds or self.settings.sync_interval),
                )
            )
            if rows_affected(bumped) != 1:
                return None, False
            run = ImportRun(
                id=new_id(),
                source_id=source_id,
                generation=generation,
                trigger=trigger,
                url=source.url,
                ref=source.ref,
                subdirectory=source.subdirectory,
                namespace=source.namespace,
                include=list(source.include or ()),
                exclude=list(source.exclude or ()),
                version_policy=source.version_policy,
                visibility=source.visibility,
                owner=source.created_by,
                credentials_enc=source.credentials_enc,
                state="queued",
                job_id=source_job_id(source_id, generation),
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            session.add(run)
            await session.flush()
            return run, True

    async def import_url(self, data: ImportCreate, owner: str | None) -> RunOut:
        """A one-off import: validated, recorded, then enqueued."""
        where = check_location(data, allow_local=self.settings.importer_allow_local, what="import")
        run_id = new_id()
        now = utcnow()
        run = ImportRun(
            id=run_id,
            source_id=None,
            generation=None,
            trigger="import",
            url=where.url,
            ref=where.ref,
            subdirectory=where.subdirectory,
            namespace=data.namespace,
            include=where.include,
            exclude=where.exclude,
            version_policy=data.version_policy,
            visibility=data.visibility,
            owner=owner,
            credentials_enc=seal_credentials(self.box, where.credentials),
            state="queued",
            job_id=f"import:{run_id}",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        async with unit_of_work(self.sessions) as session:
            session.add(run)
        log.info("import.queued", run_id=run.id, trigger="import")
        await self._enqueue(run)
        return to_run(run)


def _is_contention(exc: DBAPIError) -> bool:
    # SQLite reports a lost write race as "database is locked"; PostgreSQL as a
    # serialization failure or deadlock. Anything else is a real error.
    text = str(exc.orig).lower()
    return "locked" in text or "serializ" in text or "deadlock" in text or "busy" in text
