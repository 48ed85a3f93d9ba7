"""The text each skill is found by; the full-text index over it is backend-specific.

SQLite indexes this table with an FTS5 external-content table kept in step by
triggers; PostgreSQL adds a generated, weighted `tsvector` column with a GIN
index and a trigram index on `name`. Both live in the migration only, because
they cannot be expressed portably in the model.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class SearchDocument(Base):
    """One row per searchable skill (deleted or fully yanked skills have none)."""

    __tablename__ = "catalog_search_documents"

    # INTEGER PRIMARY KEY: on SQLite this is the rowid the FTS5 index points at.
    skill_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("catalog_skills.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    namespace: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")


class CatalogCounter(Base):
    """Running totals kept in step with the rows they count, so totals cost one read.

    `visible_skills` changes only where visibility does (`skills.state.refresh_skill`).
    """

    __tablename__ = "catalog_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


VISIBLE_SKILLS = "visible_skills"
