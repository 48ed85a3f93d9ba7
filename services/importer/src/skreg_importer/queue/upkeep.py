"""Periodic upkeep, the same in both queue modes: recover runs whose worker died, enqueue
runs that never reached the queue, and start scheduled syncs.

Runs at worker start-up and on an arq cron (or an in-process loop in embedded mode).
Safe to run in several processes at once: every change is a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt

import structlog
from skreg_common.db import rows_affected, unit_of_work, utcnow
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_importer.jobs.runner import retry_job_id
from skreg_importer.queue.dispatch import Dispatcher
from skreg_importer.runs.models import FAILED, QUEUED, RUNNING, ImportRun
from skreg_importer.runs.service import RunRequests
from skreg_importer.settings import ImporterSettings
from skreg_importer.sources.models import Source

log = structlog.get_logger(__name__)

Sessions = async_sessionmaker[AsyncSession]


async def _expired_running(sessions: Sessions, now: dt.datetime) -> list[tuple[str, str, int]]:
    async with unit_of_work(sessions) as session:
        rows = await session.execute(
            select(ImportRun.id, ImportRun.job_id, ImportRun.attempts).where(
                ImportRun.state == RUNNING, ImportRun.lease_expires_at < now
            )
        )
        return [(r, j, a) for r, j, a in rows]


async def _release(
    sessions: Sessions, run_id: str, now: dt.datetime, give_up: bool, job_id: str
) -> bool:
    values: dict[str, object] = (
        {
            "state": FAILED,
            "error": "the worker running this import stopped responding too many times",
            "finished_at": now,
            "credentials_enc": None,
        }
        if give_up
        else {"state": QUEUED, "job_id": job_id, "not_before": None}
    )
    async with unit_of_work(sessions) as session:
        result = await session.execute(
            update(ImportRun)
            .where(
                ImportRun.id == run_id, ImportRun.state == RUNNING, ImportRun.lease_expires_at < now
            )
            .values(lease_owner=None, lease_expires_at=None, updated_at=now, **values)
        )
        return rows_affected(result) == 1


async def _stranded_queued(
    sessions: Sessions, older_than: dt.datetime, now: dt.datetime
) -> list[tuple[str, str]]:
    async with unit_of_work(sessions) as session:
        rows = await session.execute(
            select(ImportRun.id, ImportRun.job_id).where(
                ImportRun.state == QUEUED,
                ImportRun.updated_at < older_than,
                or_(ImportRun.not_before.is_(None), ImportRun.not_before < now),
            )
        )
        return [(r, j) for r, j in rows]


async def recover_runs(
    sessions: Sessions,
    dispatcher: Dispatcher,
    settings: ImporterSettings,
    *,
    queued_grace_seconds: float | None = None,
) -> int:
    """Requeue runs whose lease expired and enqueue queued runs missing from the queue.

    A queued run counts as missing once `queued_grace_seconds` (default
    `IMPORTER_QUEUED_GRACE_SECONDS`) passed since its last change without a pending job:
    its enqueue failed (Redis was down) or Redis lost the queue.
    """
    if queued_grace_seconds is None:
        queued_grace_seconds = settings.importer_queued_grace_seconds
    now = utcnow()
    recovered = 0
    for run_id, old_job, attempts in await _expired_running(sessions, now):
        give_up = attempts >= settings.importer_max_attempts
        job_id = retry_job_id(run_id)
        if not await _release(sessions, run_id, now, give_up, job_id):
            continue
        # The dead worker's job may still sit in arq, marked in progress: drop it.
        await dispatcher.discard(old_job)
        if give_up:
            log.warning("import.abandoned", run_id=run_id, attempts=attempts)
            continue
        await dispatcher.enqueue(run_id, job_id)
        log.warning("import.requeued", run_id=run_id, reason="lease expired", attempts=attempts)
        recovered += 1
    older_than = now - dt.timedelta(seconds=queued_grace_seconds)
    for run_id, job_id in await _stranded_queued(sessions, older_than, now):
        if await dispatcher.is_pending(job_id):
            continue
        # Its job ended without ending the run (it failed while the database was away):
        # arq keeps that job's result under the same id and would refuse it again.
        await dispatcher.discard(job_id)
        await dispatcher.enqueue(run_id, job_id)
        log.info("import.requeued", run_id=run_id, reason="queued but not in the queue")
        recovered += 1
    return recovered


async def due_sources(sessions: Sessions, now: dt.datetime) -> list[str]:
    """Ids of the enabled sources whose next sync time has come (not yet claimed)."""
    async with unit_of_work(sessions) as session:
        return list(
            (
                await session.execute(
                    select(Source.id).where(
                        Source.enabled.is_(True),
                        or_(Source.next_sync_at.is_(None), Source.next_sync_at <= now),
                    )
                )
            ).scalars()
        )


async def claim_source(
    sessions: Sessions, source_id: str, settings: ImporterSettings, now: dt.datetime
) -> bool:
    """Move a due source's next sync one interval on, if it is still due; True if this
    caller did it.

    Two upkeeps (two processes) may both list a source as due. Without this claim the
    second would call `sync_source` after the first's run had already finished and start
    a second sync in the same interval. The conditional UPDATE re-checks `next_sync_at`,
    so exactly one of them wins each interval.
    """
    async with unit_of_work(sessions) as session:
        source = await session.get(Source, source_id)
        if source is None:
            return False
        interval = dt.timedelta(seconds=source.interval_seconds or settings.sync_interval)
        claimed = await session.execute(
            update(Source)
            .where(
                Source.id == source_id,
                Source.enabled.is_(True),
                or_(Source.next_sync_at.is_(None), Source.next_sync_at <= now),
            )
            .values(next_sync_at=now + interval)
        )
        return rows_affected(claimed) == 1


async def start_claimed(
    sessions: Sessions, requests: RunRequests, due: list[str], now: dt.datetime
) -> list[str]:
    """Claim each due source and start its sync; returns the runs started."""
    started = []
    for source_id in due:
        if not await claim_source(sessions, source_id, requests.settings, now):
            continue  # another upkeep claimed it this interval
        # A sync still active (a long import) is left alone: the claim already moved the
        # next try one interval later, not to every tick.
        run, created = await requests.sync_source(source_id, trigger="schedule")
        if created:
            started.append(run.id)
    if started:
        log.info("import.scheduled", runs=len(started))
    return started


async def schedule_due(
    sessions: Sessions, requests: RunRequests, now: dt.datetime | None = None
) -> list[str]:
    """Start a sync for every enabled source whose next sync time has come.

    Safe in several processes at once: each source is claimed by one of them per interval.
    """
    now = now or utcnow()
    return await start_claimed(sessions, requests, await due_sources(sessions, now), now)
