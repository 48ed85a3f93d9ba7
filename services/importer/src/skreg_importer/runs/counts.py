"""Per-outcome counts of runs' results (`{"created": 3, "invalid": 1}`), for lists."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_importer.runs.models import ImportResult


async def outcome_counts(session: AsyncSession, run_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each run id, how many of its results had each outcome (absent: none)."""
    if not run_ids:
        return {}
    rows = await session.execute(
        select(ImportResult.run_id, ImportResult.outcome, func.count())
        .where(ImportResult.run_id.in_(run_ids))
        .group_by(ImportResult.run_id, ImportResult.outcome)
    )
    out: dict[str, dict[str, int]] = {}
    for run_id, outcome, count in rows:
        out.setdefault(run_id, {})[outcome] = int(count)
    return out
