"""semantic skill embeddings

Revision ID: 5e3a9c1d7b20
Revises: 5d0c4a7e9f12
Create Date: 2026-12-03

One sentence-embedding vector per skill and model (`skreg_catalog.semantic`). No
backfill here: the catalog's background embedder fills the table at start-up and
after every commit; until a skill has a vector it is found by full text alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e3a9c1d7b20"
down_revision: str | None = "5d0c4a7e9f12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_skill_embeddings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["catalog_skills.id"],
            name=op.f("fk_catalog_skill_embeddings_skill_id_catalog_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_skill_embeddings")),
        sa.UniqueConstraint(
            "skill_id", "model_id", name=op.f("uq_catalog_skill_embeddings_skill_id_model_id")
        ),
    )
    op.create_index(
        op.f("ix_catalog_skill_embeddings_skill_id"),
        "catalog_skill_embeddings",
        ["skill_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_catalog_skill_embeddings_skill_id"), table_name="catalog_skill_embeddings"
    )
    op.drop_table("catalog_skill_embeddings")
