"""source visibility

Revision ID: a4e8c1f0b2d3
Revises: 7c3d2a9e4f10
Create Date: 2026-12-04

Sources (and each run's snapshot of its source) gain `visibility`: who may see the
skills an import creates. NULL (every existing row) means the namespace's default.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a4e8c1f0b2d3"
down_revision: str | None = "7c3d2a9e4f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("importer_sources", "importer_runs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("visibility", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in ("importer_runs", "importer_sources"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("visibility")
