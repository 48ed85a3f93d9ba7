"""path filters, version policy, result warnings

Revision ID: 7c3d2a9e4f10
Revises: 5b1f0c9d2e7a
Create Date: 2026-12-02

Sources (and each run's snapshot of its source) gain `include`/`exclude` path globs and a
`version_policy`; per-skill results gain the lenient-mode `warnings` (name differs from
the folder, description cut, ...). Existing rows get the defaults: no filters, `declared`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3d2a9e4f10"
down_revision: str | None = "5b1f0c9d2e7a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    for table in ("importer_sources", "importer_runs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("include", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
            )
            batch.add_column(
                sa.Column("exclude", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
            )
            batch.add_column(
                sa.Column(
                    "version_policy",
                    sa.String(length=32),
                    nullable=False,
                    server_default="declared",
                )
            )
    with op.batch_alter_table("importer_results") as batch:
        batch.add_column(
            sa.Column("warnings", sa.JSON(), nullable=False, server_default=EMPTY_LIST)
        )


def downgrade() -> None:
    with op.batch_alter_table("importer_results") as batch:
        batch.drop_column("warnings")
    for table in ("importer_runs", "importer_sources"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version_policy")
            batch.drop_column("exclude")
            batch.drop_column("include")
