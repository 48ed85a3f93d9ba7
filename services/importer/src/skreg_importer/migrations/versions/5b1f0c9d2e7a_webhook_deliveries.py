"""webhook deliveries

Revision ID: 5b1f0c9d2e7a
Revises: e93598ff447e
Create Date: 2026-11-22

Signed push bodies already acted on, so a replayed GitHub delivery is ignored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "5b1f0c9d2e7a"
down_revision: str | None = "e93598ff447e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "importer_webhook_deliveries",
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["importer_sources.id"],
            name=op.f("fk_importer_webhook_deliveries_source_id_importer_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "source_id", "body_sha256", name=op.f("pk_importer_webhook_deliveries")
        ),
    )
    op.create_index(
        op.f("ix_importer_webhook_deliveries_received_at"),
        "importer_webhook_deliveries",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_importer_webhook_deliveries_received_at"),
        table_name="importer_webhook_deliveries",
    )
    op.drop_table("importer_webhook_deliveries")
