"""Rescanning every stored version with the current rules (admin-triggered, in the background).

One job at a time (a second is refused with 409 while one runs; a job that made no
progress for `STALE`, its process gone, is marked failed and no longer blocks). The job walks
versions by id in batches, scans each batch with bounded concurrency (in the scan
worker processes, `scanning.pool`), and writes the batch's results and its progress
in one short writer transaction, so progress is visible while it runs.

What a changed verdict does to a version that is already public (policy `hold`):
- `malicious`: withheld and `held` for review. Installs of it stop (404), loudly: the
  change is in the job's report, logged, and the version is at the top of the queue.
- `suspicious`: `flagged`. It stays installable (breaking installs over a new,
  unreviewed rule would be worse), shows its findings, and waits in the review queue;
  `skreg install` asks before installing it (or needs `--allow-suspicious`).
- back to `clean`: a `flagged` version is cleared.
A version an admin approved keeps its approval unless it became `malicious`. A
withheld version keeps its state, except one whose scan had failed, which now gets
the state the policy gives a new publish. A scan that fails again keeps the old
report and counts in `failed`. Under `warn` only the reports change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import structlog
from skreg_common.db import rows_affected, utcnow
from skreg_common.errors import Conflict
from skreg_common.runtime import Runtime
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from skreg_catalog.context import CatalogContext
from skreg_catalog.review.models import RescanJob, ReviewEvent
from skreg_catalog.review.policy import (
    APPROVED,
    FLAGGED,
    HELD,
    NONE,
    REJECTED,
    SCAN_FAILED,
    stored_scan,
)
from skreg_catalog.scanning import RULES_VERSION, ScanFailed, ScanReport
from skreg_catalog.scanning.pool import scan_in_worker
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills.models import Skill, Version
from skreg_catalog.skills.service import SkillService
from skreg_catalog.skills.state import refresh_skill

log = structlog.get_logger(__name__)

BATCH = 32
STALE = dt.timedelta(minutes=15)
RUNNING, FINISHED, FAILED = "running", "finished", "failed"
MAX_CHANGES = 10_000  # the report keeps this many changes; the counts stay exact
# Strong references: a task nobody holds may be collected mid-run.
_TASKS: set[asyncio.Task[None]] = set()


def next_state(
    policy: str, withheld: bool, state: str | None, after: str
) -> tuple[bool, str | None]:
    """(withheld, review state) after a rescan found `after`: the rule in the module doc."""
    if policy != "hold":
        return withheld, state
    if state == SCAN_FAILED:
        if after == "malicious":
            return True, REJECTED
        return (True, HELD) if after == "suspicious" else (False, NONE)
    if withheld:
        return withheld, state
    if after == "malicious":
        return True, HELD
    if after == "suspicious":
        return False, APPROVED if state == APPROVED else FLAGGED
    return False, NONE if state == FLAGGED else state


async def start_rescan(catalog: CatalogContext, runtime: Runtime, actor: str | None) -> RescanJob:
    """Record a new job (409 while another runs) and start it in the background."""
    if catalog.settings.scan_policy == "off":
        raise Conflict("scanning is off (SCAN_POLICY=off): nothing to rescan with")
    async with catalog.writer(runtime).transaction() as session:
        # A job whose process died stops making progress: past STALE it no longer blocks.
        await session.execute(
            update(RescanJob)
            .where(RescanJob.state == RUNNING, RescanJob.progressed_at < utcnow() - STALE)
            .values(state=FAILED, error="interrupted: no progress", finished_at=utcnow())
        )
        running = (
            await session.execute(select(RescanJob.id).where(RescanJob.state == RUNNING))
        ).first()
        if running is not None:
            raise Conflict(f"rescan {running[0]} is still running")
        total = len((await session.execute(_scannable(0, None))).all())
        job = RescanJob(
            state=RUNNING,
            rules_version=RULES_VERSION,
            started_by=actor,
            total=total,
            done=0,
            failed=0,
            changes=[],
            started_at=utcnow(),
            progressed_at=utcnow(),
        )
        session.add(job)
        try:
            await session.flush()
        except IntegrityError:  # another start won the race (the one-running index)
            raise Conflict("another rescan has just started") from None
        session.expunge(job)
    task = asyncio.create_task(run_rescan(catalog, runtime, job.id), name=f"rescan-{job.id}")
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    log.info("rescan.started", job=job.id, total=total, actor=actor)
    return job


def _scannable(after: int, limit: int | None) -> Any:
    query = (
        select(Version.id)
        .join(Skill, Skill.id == Version.skill_id)
        .where(
            Version.id > after,
            Version.deleted_at.is_(None),
            Version.purged_at.is_(None),
            Skill.deleted_at.is_(None),
        )
        .order_by(Version.id)
    )
    return query if limit is None else query.limit(limit)


async def run_rescan(catalog: CatalogContext, runtime: Runtime, job_id: int) -> None:
    """The job's body; any failure marks the job failed (nothing half-written per batch)."""
    try:
        await _walk(catalog, runtime, job_id)
    except Exception as exc:
        log.exception("rescan.failed", job=job_id)
        async with catalog.writer(runtime).transaction() as session:
            await session.execute(
                update(RescanJob)
                .where(RescanJob.id == job_id, RescanJob.state == RUNNING)
                .values(state=FAILED, error=str(exc)[:500], finished_at=utcnow())
            )


async def _walk(catalog: CatalogContext, runtime: Runtime, job_id: int) -> None:
    limit = asyncio.Semaphore(max(1, min(16, catalog.settings.rescan_concurrency)))
    last = 0
    while True:
        async with catalog.reading(runtime) as session:
            ids = list((await session.execute(_scannable(last, BATCH))).scalars())
            rows = (
                await session.execute(select(Version.id, Version.digest).where(Version.id.in_(ids)))
            ).all()
            bundles = {
                digest: await SkillService(session, catalog).bundle(digest) for _, digest in rows
            }
        if not ids:
            break
        last = ids[-1]

        reports = await asyncio.gather(
            *(_scan_one(limit, bundles[digest].files, catalog.settings) for _, digest in rows)
        )
        ids_in_order = [row[0] for row in rows]
        await _store(catalog, runtime, job_id, list(zip(ids_in_order, reports, strict=True)))
    async with catalog.writer(runtime).transaction() as session:
        await session.execute(
            update(RescanJob)
            .where(RescanJob.id == job_id, RescanJob.state == RUNNING)
            .values(state=FINISHED, finished_at=utcnow())
        )
    log.info("rescan.finished", job=job_id)


async def _scan_one(
    limit: asyncio.Semaphore, files: dict[str, bytes], settings: CatalogSettings
) -> ScanReport | None:
    async with limit:
        try:
            return await scan_in_worker(
                files, limits=settings.scan_limits, workers=settings.scan_workers
            )
        except ScanFailed:
            return None


async def _store(
    catalog: CatalogContext,
    runtime: Runtime,
    job_id: int,
    results: list[tuple[int, ScanReport | None]],
) -> None:
    policy = catalog.settings.scan_policy
    async with catalog.writer(runtime).transaction() as session:
        job = await session.get(RescanJob, job_id, with_for_update=True)
        if job is None or job.state != RUNNING:
            return
        changes = list(job.changes)
        failed = 0
        refresh: set[int] = set()
        for version_id, report in results:
            version = await session.get(Version, version_id)
            if version is None:
                continue
            if report is None:
                failed += 1
                continue
            before = (version.scan or {}).get("verdict")
            withheld, state = next_state(
                policy, version.withheld, version.review_state, report.verdict
            )
            result = await session.execute(
                update(Version)
                .where(
                    Version.id == version_id,
                    # Guarded: a decision an admin made meanwhile is not overwritten.
                    Version.review_state.is_(None)
                    if version.review_state is None
                    else Version.review_state == version.review_state,
                )
                .values(scan=stored_scan(report), withheld=withheld, review_state=state)
                .execution_options(synchronize_session=False)
            )
            if rows_affected(result) == 0:
                continue
            if withheld != version.withheld:
                refresh.add(version.skill_id)
            if before != report.verdict or state != version.review_state:
                skill = await session.get(Skill, version.skill_id)
                assert skill is not None
                if len(changes) < MAX_CHANGES:
                    changes.append(
                        {
                            "namespace": skill.namespace,
                            "name": skill.name,
                            "version": version.version,
                            "before": before,
                            "after": report.verdict,
                            "review_state": state or NONE,
                        }
                    )
                if state != version.review_state:
                    session.add(
                        ReviewEvent(
                            version_id=version_id,
                            action=state or NONE,
                            actor=None,
                            note=f"rescan {job_id} (rules {report.rules_version}): "
                            f"{before} -> {report.verdict}",
                            at=utcnow(),
                        )
                    )
        for skill_id in sorted(refresh):
            skill = (
                await session.execute(
                    select(Skill)
                    .where(Skill.id == skill_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            await refresh_skill(session, skill)
        job.progressed_at = utcnow()
        job.done = job.done + len(results)
        job.failed = job.failed + failed
        job.changes = changes
