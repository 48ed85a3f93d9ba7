"""rendered bodies

Revision ID: eff5a5b37e9b
Revises: 7c4e2a91d5b3
Create Date: 2026-12-02

Each version's SKILL.md body rendered to sanitised HTML once (at publish or import),
stored with the renderer version that made it. No backfill here: versions published
before this revision are rendered on read meanwhile and stored by the catalog's
background pass at start-up (`skreg_catalog.rendering.stored`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eff5a5b37e9b"
down_revision: str | None = "7c4e2a91d5b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_rendered_bodies",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("source_bytes", sa.Integer(), nullable=False),
        sa.Column("rendered_bytes", sa.Integer(), nullable=False),
        sa.Column("plain", sa.Boolean(), nullable=False),
        sa.Column("renderer_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_rendered_bodies_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_catalog_rendered_bodies")),
    )
    op.create_index(
        "ix_catalog_rendered_bodies_renderer_version",
        "catalog_rendered_bodies",
        ["renderer_version"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_catalog_rendered_bodies_renderer_version", table_name="catalog_rendered_bodies"
    )
    op.drop_table("catalog_rendered_bodies")
