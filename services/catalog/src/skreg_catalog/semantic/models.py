"""One stored vector per skill and model: the semantic half of search.

A row is made from the skill's current version (`version_id`); a newer version, or a
model with another id, makes the row stale and the background pass
(`semantic.embedder`) replaces it. Rows are replaced by delete + insert, so their
`id` only grows: a process's in-memory index reads what is new with `id > last`.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class SkillEmbedding(Base):
    """A unit float32 vector (little-endian bytes) of a skill's text under one model."""

    __tablename__ = "catalog_skill_embeddings"
    __table_args__ = (UniqueConstraint("skill_id", "model_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    skill_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_skills.id", ondelete="CASCADE"), index=True
    )
    model_id: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
