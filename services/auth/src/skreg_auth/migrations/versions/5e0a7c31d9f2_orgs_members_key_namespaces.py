"""organizations, their members, and API keys limited to namespaces

Revision ID: 5e0a7c31d9f2
Revises: e732f41b7914
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from skreg_common.db import UTCDateTime

revision: str = "5e0a7c31d9f2"
down_revision: str | None = "e732f41b7914"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_orgs",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("name", sa.String(length=39), nullable=False, unique=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "auth_org_members",
        sa.Column(
            "org_id",
            sa.String(length=36),
            sa.ForeignKey("auth_orgs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.String(length=36),
            sa.ForeignKey("auth_users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'admin', 'publisher', 'reader')", name="org_role"),
    )
    op.create_index("ix_auth_org_members_user_id", "auth_org_members", ["user_id"])
    # A plain ADD COLUMN (nullable) works on both; batch mode would rebuild the table.
    op.add_column("auth_api_keys", sa.Column("namespaces", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_api_keys") as batch:
        batch.drop_column("namespaces")
    op.drop_index("ix_auth_org_members_user_id", table_name="auth_org_members")
    op.drop_table("auth_org_members")
    op.drop_table("auth_orgs")
