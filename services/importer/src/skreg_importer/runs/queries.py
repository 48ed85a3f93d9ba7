"""Reading runs back: one run with every result, or pages of runs with per-outcome counts."""

from __future__ import annotations

from skreg_common.errors import BadRequest, NotFound
from skreg_proto.importer import ImportRun as RunOut
from skreg_proto.pagination import (
    Page,
    clamp_limit,
)
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from skreg_importer.paging import decode_position, encode_position
from skreg_importer.runs.convert import to_run
from skreg_importer.runs.counts import outcome_counts
from skreg_importer.runs.models import RUN_STATES, ImportResult, ImportRun


class RunQueries:
    """Reading runs inside the request's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, run_id: str) -> RunOut:
        """One run with every per-skill result."""
        run = await self.session.scalar(
            select(ImportRun).where(ImportRun.id == run_id).options(selectinload(ImportRun.results))
        )
        if run is None:
            raise NotFound(f"no import run with id {run_id!r}")
        results = list(run.results)
        return to_run(run, results, _count(results))

    async def list_runs(
        self,
        *,
        source_id: str | None,
        state: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[RunOut]:
        """Runs, newest first, optionally of one source or in one state."""
        size = clamp_limit(limit)
        filters = []
        if source_id:
            filters.append(ImportRun.source_id == source_id)
        if state:
            if state not in RUN_STATES:
                raise BadRequest(f"state must be one of {', '.join(RUN_STATES)}")
            filters.append(ImportRun.state == state)
        query = (
            select(ImportRun)
            .where(*filters)
            .order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
            .limit(size + 1)
        )
        if cursor:
            at, last_id = decode_position(cursor)
            query = query.where(
                or_(
                    ImportRun.created_at < at,
                    and_(ImportRun.created_at == at, ImportRun.id < last_id),
                )
            )
        rows = list((await self.session.execute(query)).scalars())
        page, more = rows[:size], len(rows) > size
        counts = await outcome_counts(self.session, [r.id for r in page])
        total = await self.session.scalar(
            select(func.count()).select_from(ImportRun).where(*filters)
        )
        next_cursor = encode_position(page[-1].created_at, page[-1].id) if more else None
        return Page(
            items=[to_run(r, None, counts.get(r.id, {})) for r in page],
            next_cursor=next_cursor,
            total=int(total or 0),
        )


def _count(results: list[ImportResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    return counts
