"""The job's short transactions on the run row: claim, heartbeat, retry, finish.

Every state change is one conditional UPDATE (`WHERE lease_owner = me …`), atomic on
SQLite and PostgreSQL alike: two workers can never both own a run, and a worker that
lost its lease (it stalled, another took over) cannot overwrite the newer outcome.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from skreg_common.db import rows_affected, unit_of_work, utcnow
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skreg_importer.runs.models import (
    FAILED,
    PARTIAL,
    PROBLEM_OUTCOMES,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    ImportResult,
    ImportRun,
)
from skreg_importer.sources.models import Source

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class ClaimedRun:
    """What a job needs to know about its run, read once when it is claimed."""

    id: str
    source_id: str | None
    job_id: str
    url: str
    ref: str | None
    subdirectory: str | None
    namespace: str
    owner: str | None
    credentials_enc: str | None
    attempts: int
    last_commit: str | None
    last_success_run_id: str | None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    version_policy: str = "declared"
    visibility: str | None = None  # of the skills it creates (None: the namespace's default)


@dataclass(frozen=True)
class ResultRow:
    """One per-skill result, ready to be written."""

    path: str
    name: str | None
    outcome: str
    version: str | None = None
    digest: str | None = None
    problems: tuple[dict[str, str], ...] = ()
    warnings: tuple[dict[str, str], ...] = ()


def _owned(run_id: str, worker: str) -> Any:
    return and_(ImportRun.id == run_id, ImportRun.state == RUNNING, ImportRun.lease_owner == worker)


class RunStore:
    """The short transactions of one worker's jobs; the leases it takes name `worker`."""

    def __init__(self, sessions: Sessions, worker: str, lease_seconds: float) -> None:
        self.sessions = sessions
        self.worker = worker
        self.lease_seconds = lease_seconds

    async def claim(self, run_id: str) -> ClaimedRun | None:
        """Take the run if it is queued, or running under an expired (or our own) lease."""
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(ImportRun)
                .where(
                    ImportRun.id == run_id,
                    or_(
                        ImportRun.state == QUEUED,
                        and_(
                            ImportRun.state == RUNNING,
                            or_(
                                ImportRun.lease_expires_at < now,
                                ImportRun.lease_owner == self.worker,
                            ),
                        ),
                    ),
                )
                .values(
                    state=RUNNING,
                    lease_owner=self.worker,
                    lease_expires_at=now + dt.timedelta(seconds=self.lease_seconds),
                    attempts=ImportRun.attempts + 1,
                    not_before=None,
                    updated_at=now,
                )
            )
            if rows_affected(result) != 1:
                return None
            run = (
                await session.execute(select(ImportRun).where(ImportRun.id == run_id))
            ).scalar_one()
            if run.started_at is None:
                run.started_at = now
            source = await session.get(Source, run.source_id) if run.source_id else None
            return ClaimedRun(
                id=run.id,
                source_id=run.source_id,
                job_id=run.job_id,
                url=run.url,
                ref=run.ref,
                subdirectory=run.subdirectory,
                namespace=run.namespace,
                owner=run.owner,
                credentials_enc=run.credentials_enc,
                attempts=run.attempts,
                last_commit=source.last_commit if source else None,
                last_success_run_id=source.last_success_run_id if source else None,
                include=tuple(run.include or ()),
                exclude=tuple(run.exclude or ()),
                version_policy=run.version_policy,
                visibility=run.visibility,
            )

    async def renew_lease(self, run_id: str) -> bool:
        """Heartbeat: extend our lease; False when it is no longer ours."""
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(ImportRun)
                .where(
                    ImportRun.id == run_id,
                    ImportRun.state == RUNNING,
                    ImportRun.lease_owner == self.worker,
                )
                .values(lease_expires_at=now + dt.timedelta(seconds=self.lease_seconds))
            )
            return rows_affected(result) == 1

    async def requeue(
        self,
        run_id: str,
        *,
        job_id: str,
        error: str | None,
        not_before: dt.datetime | None,
        refund_attempt: bool = False,
    ) -> bool:
        """Give the run back to the queue (transient failure, or this worker stopping)."""
        values: dict[str, Any] = {
            "state": QUEUED,
            "lease_owner": None,
            "lease_expires_at": None,
            "job_id": job_id,
            "error": error,
            "not_before": not_before,
            "updated_at": utcnow(),
        }
        if refund_attempt:
            values["attempts"] = ImportRun.attempts - 1
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(ImportRun).where(_owned(run_id, self.worker)).values(**values)
            )
            return rows_affected(result) == 1

    async def fail(self, run_id: str, error: str) -> bool:
        """Finish the run as failed with a reason (safe to show: already redacted)."""
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(ImportRun)
                .where(_owned(run_id, self.worker))
                .values(
                    state=FAILED,
                    error=error,
                    finished_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    credentials_enc=None,  # a finished run keeps no secrets
                )
            )
            return rows_affected(result) == 1

    async def succeed(
        self,
        claimed: ClaimedRun,
        *,
        commit: str | None,
        results: list[ResultRow],
    ) -> bool:
        """Record the outcome in one transaction: results, run state, the source's last commit.

        The run is `partial` when any skill was invalid, conflicting or duplicate.
        """
        now = utcnow()
        state = PARTIAL if any(row.outcome in PROBLEM_OUTCOMES for row in results) else SUCCEEDED
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(ImportRun)
                .where(_owned(claimed.id, self.worker))
                .values(
                    state=state,
                    commit=commit,
                    error=None,
                    finished_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_expires_at=None,
                    credentials_enc=None,
                )
            )
            if rows_affected(result) != 1:
                return False
            # A retried job replaces what an earlier attempt of the same run wrote.
            await session.execute(delete(ImportResult).where(ImportResult.run_id == claimed.id))
            if results:
                await session.execute(
                    insert(ImportResult),
                    [
                        {
                            "run_id": claimed.id,
                            "position": index,
                            "path": row.path,
                            "name": row.name,
                            "outcome": row.outcome,
                            "version": row.version,
                            "digest": row.digest,
                            "problems": list(row.problems),
                            "warnings": list(row.warnings),
                        }
                        for index, row in enumerate(results)
                    ],
                )
            if claimed.source_id is not None:
                await session.execute(
                    update(Source)
                    .where(Source.id == claimed.source_id)
                    .values(last_commit=commit, last_success_run_id=claimed.id, last_synced_at=now)
                )
            return True

    async def previous_results(self, run_id: str) -> list[ResultRow]:
        """The results of an earlier good run, as `unchanged` (remote commit did not move)."""
        async with unit_of_work(self.sessions) as session:
            rows = (
                await session.execute(
                    select(ImportResult)
                    .where(ImportResult.run_id == run_id)
                    .order_by(ImportResult.position)
                )
            ).scalars()
            return [
                ResultRow(
                    path=row.path,
                    name=row.name,
                    outcome="unchanged"
                    if row.outcome in ("created", "updated", "unchanged")
                    else row.outcome,
                    version=row.version,
                    digest=row.digest,
                    problems=tuple(row.problems or ()),
                    warnings=tuple(row.warnings or ()),
                )
                for row in rows
            ]
