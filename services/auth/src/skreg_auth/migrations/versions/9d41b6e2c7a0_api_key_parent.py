"""api_keys.parent_id: the key that created a key, so revoking it revokes its children

Revision ID: 9d41b6e2c7a0
Revises: 69d2966d803a
Create Date: 2026-12-02

Existing keys have no recorded parent (NULL: as if a signed-in session made them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d41b6e2c7a0"
down_revision: str | None = "69d2966d803a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("parent_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_api_keys_parent_id"), "api_keys", ["parent_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_parent_id"), table_name="api_keys")
    op.drop_column("api_keys", "parent_id")
