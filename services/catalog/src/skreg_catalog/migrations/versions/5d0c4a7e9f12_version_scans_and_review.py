"""version scans and review

Revision ID: 5d0c4a7e9f12
Revises: 5e7a1c93b2d4
Create Date: 2026-12-03

Issue #15, hold and review: each version's scan report, review state and whether it
is withheld from the public; the review audit trail; admin rescan jobs. Existing
versions stay visible and unscanned (`scan` NULL) until a rescan reaches them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "5d0c4a7e9f12"
down_revision: str | None = "5e7a1c93b2d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_versions") as batch:
        batch.add_column(
            sa.Column("withheld", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("scan", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("review", sa.JSON(), nullable=True))
    op.create_index("ix_catalog_versions_review_state", "catalog_versions", ["review_state"])
    op.create_table(
        "catalog_review_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["catalog_versions.id"],
            name=op.f("fk_catalog_review_events_version_id_catalog_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_review_events")),
    )
    op.create_index(
        "ix_catalog_review_events_version_id", "catalog_review_events", ["version_id", "id"]
    )
    op.create_table(
        "catalog_rescans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("progressed_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_rescans")),
    )
    op.create_index(
        "ix_catalog_rescans_one_running",
        "catalog_rescans",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_rescans_one_running", table_name="catalog_rescans")
    op.drop_table("catalog_rescans")
    op.drop_index("ix_catalog_review_events_version_id", table_name="catalog_review_events")
    op.drop_table("catalog_review_events")
    op.drop_index("ix_catalog_versions_review_state", table_name="catalog_versions")
    with op.batch_alter_table("catalog_versions") as batch:
        batch.drop_column("review")
        batch.drop_column("review_state")
        batch.drop_column("scan")
        batch.drop_column("withheld")
