"""The few statements that differ between SQLite and PostgreSQL: upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_name(session: AsyncSession) -> str:
    """ "sqlite" or "postgresql" for the session's engine."""
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession) -> Any:
    """The dialect's `insert` (both have `on_conflict_do_nothing` / `on_conflict_do_update`)."""
    return postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
